"""`nhkit export`: argument parsing only; the work is in export/exporter.py.

TensorFlow and coremltools are imported inside the handler (via the exporter), so registering
this command costs nothing for `nhkit hash` users on the light runtime install."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from nhkit.runtime.errors import NhkitError


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _margin(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not v >= 0.0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return v


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `nhkit export` to the nhkit command."""
    p = subparsers.add_parser(
        "export",
        help="build verified Core ML / TFLite device bundles from an ONNX model",
        description="Convert a NeuralHash-format ONNX model into device bundles (one folder and "
        "one deterministic zip per variant), measure every variant's hash drift against the fp32 "
        "onnxruntime reference on real photos, and write a report. With no options: the default "
        "model, every target, the default variants, the photos that ship with nhkit.",
    )
    p.add_argument(
        "--model",
        type=Path,
        metavar="M.onnx",
        help="NeuralHash-format ONNX model, or the name of a model shipped with nhkit "
        "(e.g. nhkit-mnv3s-v1; default: the default shipped model)",
    )
    p.add_argument(
        "--seed",
        type=Path,
        metavar="S",
        help="its seed: NeuralHash .dat or nhkit seed.f32 (required with --model)",
    )
    p.add_argument(
        "--name", help="model name used in bundle ids (default: from model.json or the file name)"
    )
    p.add_argument(
        "--target",
        dest="targets",
        metavar="T[,T]",
        help="comma-separated targets: coreml, tflite (default: both)",
    )
    p.add_argument(
        "--variants",
        metavar="V[,V...]",
        help="comma-separated variants, e.g. fp16,tflite-int8,coreml-pal6 (default: "
        "each target's default set; see docs/bundle-format.md)",
    )
    p.add_argument(
        "--calibration",
        type=Path,
        metavar="DIR",
        help="photos for full-int8 calibration; must share no photo with the validation "
        "photos (default: nhkit's 64 train-split photos of 64 source packages)",
    )
    p.add_argument(
        "--validation",
        type=Path,
        metavar="DIR",
        help="photos to measure drift on (default: nhkit's held-out test photos)",
    )
    p.add_argument(
        "--max-validation",
        type=_positive_int,
        default=100,
        metavar="N",
        help="use at most the first N validation photos by file name (default 100)",
    )
    p.add_argument(
        "--max-calibration",
        type=_positive_int,
        default=64,
        metavar="N",
        help="use at most the first N calibration photos by file name (default 64)",
    )
    p.add_argument(
        "--allow-over-budget",
        action="store_true",
        help="write variants that miss their drift budget (marked in the manifest) "
        "instead of failing the export",
    )
    p.add_argument(
        "--threads",
        type=_positive_int,
        default=2,
        help="threads for onnxruntime and TFLite during verification (default 2)",
    )
    p.add_argument(
        "--fragile-margin",
        type=_margin,
        metavar="F",
        help="spec fragile_margin recorded in bundles (default: from model.json, else 0)",
    )
    p.add_argument(
        "--orientation",
        choices=("apply", "ignore"),
        default="apply",
        help="spec orientation policy (default apply)",
    )
    p.add_argument(
        "--selftest",
        choices=("embed", "separate"),
        default="embed",
        help="where the self-test cases go: inside each bundle (embed, default) or "
        "in a second artefact <bundle_id>.selftest.zip that production apps "
        "need not ship (separate)",
    )
    p.add_argument("--quiet", action="store_true", help="print only errors")
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        required=True,
        metavar="OUT/",
        help="output folder (created if missing)",
    )
    p.set_defaults(func=run)


def _require_converters() -> None:
    """Fail before any work, naming every missing converter, rather than mid-export."""
    import importlib.util

    needed = {
        "onnx": "onnx",
        "onnxsim": "onnxsim",
        "tensorflow": "tensorflow-cpu",
        "ai_edge_litert": "ai-edge-litert",
        "coremltools": "coremltools",
        "sklearn": "scikit-learn",
    }
    missing = [dist for mod, dist in needed.items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise NhkitError(
            f"nhkit export needs the converters of the 'export' extra (missing: "
            f"{', '.join(missing)}): pip install 'nhkit[export]'"
        )


def run(args: argparse.Namespace) -> int:
    """Handler: build ExportOptions and run the exporter; errors are NhkitErrors (one line)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _require_converters()
    from .exporter import ExportOptions, run_export

    variants = None
    if args.variants is not None:
        variants = [v for v in args.variants.split(",") if v.strip()]
        if not variants:
            raise NhkitError("--variants is empty")
    opts = ExportOptions(
        out=args.out,
        model=args.model,
        seed=args.seed,
        targets=args.targets,
        variants=variants,
        calibration=args.calibration,
        validation=args.validation,
        allow_over_budget=args.allow_over_budget,
        threads=args.threads,
        name=args.name,
        fragile_margin=args.fragile_margin,
        orientation=args.orientation,
        selftest=args.selftest,
        validation_limit=args.max_validation,
        calibration_limit=args.max_calibration,
    )
    log = (lambda msg: None) if args.quiet else None
    run_export(opts, log=log)
    return 0
