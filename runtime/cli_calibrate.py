"""`nhkit match calibrate`: measure the threshold a hash list should recommend.

    nhkit match calibrate --negatives PHOTOS --edits default [--bundle B --measure-drift] -o R

The `match` command (cli_match) dispatches here through `add_calibrate_arguments` and
`run_calibrate`; `python -m nhkit.runtime.cli_calibrate` runs the same command on its own.

Exit status: 0 done; 1 the report was written but some input files were skipped (listed in
the report and on stderr); 2 an error (nothing written); 3 the false-positive target and the
device drift conflict (the report is written with the conflict spelled out, without a
threshold for lists) and --force was not given.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cli_model_args import add_batch_options, add_max_pixels, add_model_source, add_no_progress
from .errors import NhkitError

EXIT_SKIPPED = 1
EXIT_CONFLICT = 3


def _target(text: str) -> float:
    if text in ("zero-fp", "0"):
        return 0.0
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'zero-fp' or a rate like 1e-4, got {text!r}"
        ) from None
    if not (0.0 <= v < 1.0):
        raise argparse.ArgumentTypeError(f"a false-positive rate is in [0, 1), got {text}")
    return v


def add_calibrate_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `nhkit match calibrate` (the caller owns the parser and its help text)."""
    parser.add_argument(
        "--negatives",
        required=True,
        metavar="DIR",
        help="folder of distinct images (searched recursively): every pair is a "
        "negative. Hundreds of images; no near-duplicates of each other",
    )
    pos = parser.add_mutually_exclusive_group()
    pos.add_argument(
        "--edits",
        metavar="SUITE",
        help="make edited copies of each negative with this edit suite ('default': "
        "JPEG, downscale, crop, rotate, border, colour, blur, noise, text, hflip; "
        "'all': more) and measure the true-positive rate per edit",
    )
    pos.add_argument(
        "--positives",
        metavar="DIR",
        help="your own edited copies instead: DIR/<edit name>/<same relative path "
        "as in --negatives, any image extension>",
    )
    parser.add_argument(
        "--bundle",
        action="append",
        default=[],
        metavar="B",
        help="a device bundle (folder or zip) whose drift the threshold must "
        "absorb; repeatable. Uses the drift its manifest records, or measures "
        "it on the negatives with --measure-drift",
    )
    parser.add_argument(
        "--measure-drift",
        action="store_true",
        help="run each --bundle on the negatives (TFLite via ai-edge-litert, "
        "Core ML via nhkit's executor) for the drift p99 and the device-vs-"
        "server cross pairs",
    )
    parser.add_argument(
        "--fpr",
        default="1e-3,1e-4",
        metavar="RATES",
        help="false-positive rates to report thresholds at, comma-separated "
        "(default 1e-3,1e-4); zero-FP is always reported",
    )
    parser.add_argument(
        "--target",
        type=_target,
        default=0.0,
        metavar="FPR",
        help="criterion of the recommended threshold: 'zero-fp' (default) or a rate such as 1e-4",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write a threshold for lists even when it is below the drift p99",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="REPORT",
        help="report folder: report.json, report.md, threshold.json, PNG plots",
    )
    add_model_source(
        parser,
        title="server model (default: the model shipped with nhkit)",
        seed_help="seed file for --model",
        bundle_help=None,
    )
    parser.add_argument("--orientation", choices=("apply", "ignore"), default="apply")
    parser.add_argument(
        "--cache",
        metavar="FILE",
        help="JSON-lines cache of hashes (reused when model, spec, file bytes "
        "and edit are the same)",
    )
    parser.add_argument("--no-plots", action="store_true", help="do not draw the PNG plots")
    add_batch_options(parser, workers_help="decode/edit threads")
    add_max_pixels(parser)
    add_no_progress(parser)


def _server_hasher(args: argparse.Namespace) -> tuple[Any, Any]:
    from .hasher import Hasher

    if args.seed and not args.model:
        raise NhkitError("--seed goes with --model (the default model has its own seed)")
    hasher = Hasher.from_onnx(
        args.model,
        args.seed,
        orientation=args.orientation,
        threads=args.threads,
        max_pixels=args.max_pixels,
    )
    return hasher, hasher.identity


def _check_bundle(path: str, manifest: dict[str, Any], model: Any, spec: Any) -> None:
    """A bundle of another model or seed has no drift against this model: it is a different
    hash. Say so naming both, rather than report a huge 'drift'."""
    from .spec import Spec

    fp = (manifest.get("source_model") or {}).get("fingerprint")
    if fp and model.fingerprint and fp != model.fingerprint:
        raise NhkitError(
            f"{path}: the bundle was exported from model fingerprint {fp}, the "
            f"server model's fingerprint is {model.fingerprint}"
        )
    if manifest["seed"]["sha256"] != model.seed_sha256:
        raise NhkitError(
            f"{path}: the bundle's seed sha256 is {manifest['seed']['sha256']}, the "
            f"server model's seed sha256 is {model.seed_sha256}"
        )
    bspec = Spec.from_json(manifest["spec"], source=f"{path}/manifest.json")
    if not bspec.hash_compatible(spec):
        raise NhkitError(
            f"{path}: the bundle's spec (orientation {bspec.orientation!r}) makes "
            f"other hashes than the server's (orientation {spec.orientation!r})"
        )


def _positives_from_folder(
    hasher: Any, folder: str, negatives: Any, args: argparse.Namespace
) -> list[tuple[str, str]]:
    """Hash DIR/<edit>/<file> and pair each with the negative of the same relative path (any
    suffix). Returns problems (path, reason) for files that could not be used."""
    from .hasher import collect_images

    root = Path(folder)
    if not root.is_dir():
        raise NhkitError(f"{folder}: --positives must be a folder of <edit name>/ sub-folders")
    by_stem = {str(Path(i).with_suffix("")): k for k, i in enumerate(negatives.ids)}
    problems: list[tuple[str, str]] = []
    subdirs = sorted(p for p in root.iterdir() if p.is_dir())
    if not subdirs:
        raise NhkitError(f"{folder}: no <edit name>/ sub-folders of edited copies")
    for sub in subdirs:
        files, probs = collect_images([sub], recursive=True)
        problems += probs
        pairs = []
        for f in files:
            stem = str(Path(f).relative_to(sub).with_suffix("").as_posix())
            if stem in by_stem:
                pairs.append((f, by_stem[stem]))
            else:
                problems.append((f, "no image of the same name in --negatives"))
        got = negatives.edit_bits.setdefault(sub.name, {})
        results = hasher.hash_files(
            [f for f, _ in pairs], batch_size=args.batch, workers=args.workers
        )
        for (f, idx), (_, r) in zip(pairs, results):
            if isinstance(r, NhkitError):
                problems.append((f, getattr(r, "reason", None) or str(r)))
            else:
                got[idx] = r.bits
    return problems


def run_calibrate(args: argparse.Namespace) -> int:
    """Hash, measure, write the report folder; see the module docstring for the exit status."""
    from .bundle import load_bundle
    from .calibration import (
        BundleDrift,
        HashCache,
        build_report,
        hash_images,
        hash_originals,
        list_images,
    )
    from .calibration_report import write_report_folder
    from .edits import suite
    from .progress import Progress
    from .threshold import parse_fpr_list

    if args.batch < 1 or args.workers < 1:
        raise NhkitError("--batch and --workers must be at least 1")
    if args.measure_drift and not args.bundle:
        raise NhkitError("--measure-drift needs at least one --bundle")
    fprs = parse_fpr_list(args.fpr)
    edits = suite(args.edits) if args.edits else []
    items = list_images(args.negatives, "--negatives")
    if len(items) < 2:
        raise NhkitError(
            f"{args.negatives}: --negatives holds {len(items)} image(s); "
            "calibration needs at least 2 distinct images (hundreds for a "
            "threshold worth quoting)"
        )

    # Bundles are verified (and their model checked) before any hashing starts.
    hasher, model = _server_hasher(args)
    manifests = []
    for b in args.bundle:
        with load_bundle(b) as bundle:
            manifests.append(dict(bundle.manifest))
        _check_bundle(b, manifests[-1], model, hasher.spec)

    cache = HashCache(args.cache)
    server_id = f"server:{model.fingerprint}:{model.seed_sha256}"
    bar = Progress(len(items), "hashing", enabled=False if args.no_progress else None)
    try:
        negatives = hash_images(
            hasher,
            items,
            edits,
            model_id=server_id,
            cache=cache,
            batch_size=args.batch,
            workers=args.workers,
            progress=bar.update,
        )
    finally:
        bar.close()
        cache.save()
    problems = list(negatives.failed)
    if args.positives:
        problems += _positives_from_folder(hasher, args.positives, negatives, args)

    drifts = []
    for b, manifest in zip(args.bundle, manifests):
        drift = BundleDrift(path=b, manifest=manifest)
        if args.measure_drift:
            from .bundle_backend import hasher_for_bundle

            dev = hasher_for_bundle(
                b,
                orientation=hasher.spec.orientation,
                threads=args.threads,
                max_pixels=args.max_pixels,
            )
            try:
                model_sha = next(
                    f["sha256"]
                    for f in manifest["files"]
                    if f["path"] == manifest["model"]["file"]
                    or f["path"].startswith(manifest["model"]["file"].rstrip("/") + "/")
                )
                ok = negatives.ok_indices()
                got = hash_originals(
                    dev,
                    [negatives.paths[i] for i in ok],
                    model_id=f"bundle:{manifest['bundle_id']}:{model_sha}",
                    cache=cache,
                    batch_size=args.batch,
                    workers=args.workers,
                )
            finally:
                cache.save()
                opened = getattr(dev, "bundle", None)
                if opened is not None:
                    opened.close()
            drift.device_bits = {ok[k]: v for k, v in got.items() if not isinstance(v, str)}
            drift.failed = [
                (negatives.paths[ok[k]], v) for k, v in got.items() if isinstance(v, str)
            ]
        drifts.append(drift)

    command = getattr(args, "command_line", None) or shlex.join(["nhkit", *sys.argv[1:]])
    report = build_report(
        model=model,
        spec=hasher.spec.to_json(),
        negatives=negatives,
        negatives_folder=os.fspath(args.negatives),
        fprs=fprs,
        target_fpr=args.target,
        edits=edits,
        positives_source=(
            f"edits: {args.edits}"
            if args.edits
            else f"folder: {args.positives}"
            if args.positives
            else None
        ),
        bundles=drifts,
        command=command,
        forced=args.force,
    )
    summary = write_report_folder(report, args.output, plots=not args.no_plots)

    for path, reason in problems:
        print(f"nhkit match calibrate: skipped {path}: {reason}", file=sys.stderr)
    rec = report["recommended"]
    neg = report["negatives"]
    print(
        f"{neg['images']} images, {neg['pairs']} distinct pairs: min {neg['distances']['min']}, "
        f"p0.1 {neg['distances']['p0_1']}, p1 {neg['distances']['p1']}, median "
        f"{neg['distances']['median']}"
    )
    for c in report["thresholds"]:
        print(
            f"  {c['criterion']}: T = {c['threshold']} (observed FPR {c['fpr']:.3g}, "
            f"{c['false_positives']}/{c['pairs']} pairs){'; ' + c['note'] if c['note'] else ''}"
        )
    for b in report["bundles"]:
        cross = b["cross"]
        print(
            f"  bundle {b['bundle_id']}: drift p99 {b['drift_p99']} ({b['drift_p99_source']})"
            + (
                f"; cross pairs min {cross['distances']['min']} vs server min {cross['server_min']}"
                if cross
                else ""
            )
        )
    print(
        f"recommended: T = {rec['threshold']} ({rec['criterion']}, observed FPR "
        f"{rec['fpr']:.3g}, drift p99 {rec['drift_p99']})"
    )
    for p in rec["problems"] + rec.get("caveats", []):
        print(f"nhkit match calibrate: {p}", file=sys.stderr)
    print(
        f"report: {args.output} ({', '.join(summary['files'])}"
        + (f"; plots {summary['plots_note']}" if summary["plots_note"] else "")
        + ")"
    )
    if rec["conflict"] and not args.force:
        return EXIT_CONFLICT
    return EXIT_SKIPPED if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m nhkit.runtime.cli_calibrate ...`: the command without the `nhkit match`
    front end, with the same error handling as the nhkit CLI."""
    parser = argparse.ArgumentParser(
        prog="python -m nhkit.runtime.cli_calibrate",
        description="Calibrate a matching threshold (same as `nhkit match calibrate`).",
    )
    add_calibrate_arguments(parser)
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw)
    args.command_line = shlex.join(["nhkit", "match", "calibrate", *raw])
    try:
        return run_calibrate(args)
    except NhkitError as exc:
        print(f"nhkit match calibrate: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        print(
            f"nhkit match calibrate: error: this needs the Python package {exc.name!r}: pip "
            "install 'nhkit[export]'",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
