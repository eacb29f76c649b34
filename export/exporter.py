"""`nhkit export` end to end: model + seed -> verified Core ML / TFLite bundles and a report.

Order matters for the "no partial output" promise: every input is checked (variant names, model,
seed, output folder, image folders) before the first conversion, all bundles are built in a
private staging folder, and only when every variant is within budget (or the user overrode) are
they renamed into the output folder. Any error deletes the staging folder (and stops the Core ML
worker process first).

When both targets are exported, Core ML variants are converted and verified by a worker process
(`export/coreml_worker.py`) while this process does the TFLite ones; results are collected in
table order, so logs, reports and bundles are the same as a serial run (`parallel=False`).
"""

from __future__ import annotations

import json
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from nhkit.runtime import __version__ as NHKIT_VERSION
from nhkit.runtime.backends.onnx import OnnxBackend
from nhkit.runtime.decode import decode_image
from nhkit.runtime.digest import onnx_fingerprint, seed_sha256, sha256_file
from nhkit.runtime.errors import ModelError, SeedFileError
from nhkit.runtime.hasher import Hasher
from nhkit.runtime.seed import load_seed
from nhkit.runtime.spec import Spec, parse_orientation
from nhkit.runtime.tensor import normalise

from . import bundle_writer as bw
from .coreml_worker import CoremlWorker
from .errors import ExportError
from .interpreter import run_graph
from .ir import Graph
from .onnx_frontend import load_graph
from .report import VariantOutcome, human_bytes, write_report
from .variant_build import build_and_run
from .variants import parse_targets, resolve_variants
from .verify import (
    DEFAULT_VALIDATION_VIEWS,
    ImageSet,
    PhotoSource,
    default_image_dir,
    embed_all,
    list_images,
    load_image_set,
    measure_drift,
    photo_source,
    recommended_tolerance,
    selftest_drift,
)

DEFAULT_THREADS = 2
CALIBRATION_VIEWS: tuple[str, ...] = ("full", "mirror")
LOWERING_TOLERANCE = 1e-3  # relative to the embedding's scale; float32 vs float64 is ~1e-6


@dataclass
class ExportOptions:
    """Everything `nhkit export` can be told; None means the documented default."""

    out: Path
    model: Path | None = None
    seed: Path | None = None
    targets: str | None = None
    variants: list[str] | None = None
    calibration: Path | None = None
    validation: Path | None = None
    allow_over_budget: bool = False
    threads: int | None = DEFAULT_THREADS
    name: str | None = None
    fragile_margin: float | None = None
    orientation: str = "apply"
    #: "embed" (self-test cases inside each bundle) or "separate" (<bundle_id>.selftest.zip)
    selftest: str = "embed"
    calibration_limit: int | None = 64  # photos (first N by file name); bounds memory/time
    validation_limit: int | None = 100
    validation_views: tuple[str, ...] = DEFAULT_VALIDATION_VIEWS
    use_onnxsim: bool = True
    parallel: bool = True  # Core ML in a second process when both targets are exported


@dataclass
class ExportResult:
    outcomes: list[VariantOutcome]
    placed: list[Path]
    report: Path | None
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Source:
    name: str
    onnx: Path
    seed: np.ndarray
    seed_path: Path
    fragile_margin: float


_NAME_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def resolve_source(opts: ExportOptions) -> _Source:
    """Model, seed, name and fragile margin; a seed that does not belong to the model is an
    error (every hash would be wrong and no check downstream could tell)."""
    from nhkit.runtime.models import (
        model_name_argument,
        read_model_json,
        recorded_seed_sha256,
        shipped_model,
    )

    shipped_name = model_name_argument(opts.model)
    if opts.model is None or shipped_name is not None:
        shipped = shipped_model() if shipped_name is None else shipped_model(shipped_name)
        seed_path = opts.seed or shipped.seed
        seed = load_seed(seed_path)
        default_seed = load_seed(shipped.seed)
        if opts.seed is not None and not np.array_equal(seed, default_seed):
            raise SeedFileError(
                opts.seed,
                f"seed mismatch: the shipped model {shipped.name!r} "
                "was trained with its own seed; this seed differs. Pass "
                "--model M.onnx too to export another model",
            )
        margin = shipped.fragile_margin if opts.fragile_margin is None else opts.fragile_margin
        return _Source(
            opts.name or shipped.name, shipped.onnx, seed, Path(seed_path), float(margin)
        )
    model = Path(opts.model)
    if opts.seed is None:
        raise SeedFileError(
            None, f"{model}: a custom model needs its seed file (--seed S.dat or S.f32)"
        )
    seed = load_seed(opts.seed)
    if not model.is_file():
        raise ModelError(
            model, "model file does not exist" if not model.exists() else "model path is not a file"
        )
    meta = read_model_json(model)
    want = recorded_seed_sha256(model, meta)
    if want is not None:
        got = seed_sha256(seed)
        if got != want:
            raise SeedFileError(
                opts.seed,
                f"seed mismatch: the model records seed sha256 "
                f"{want[:16]}..., this seed's float32 matrix has {got[:16]}...",
            )
    name = opts.name or meta.name or (model.parent.name if model.stem == "model" else model.stem)
    name = _NAME_SAFE.sub("-", str(name)).strip("-.") or "model"
    fragile = opts.fragile_margin if opts.fragile_margin is not None else meta.fragile_margin
    return _Source(name, model, seed, Path(opts.seed), float(fragile or 0.0))


def tool_versions(targets: list[str]) -> dict[str, str]:
    """Versions of the packages that shaped the bundle (from metadata, no heavy imports)."""
    names = ["numpy", "pillow", "onnx", "onnxruntime", "onnxsim"]
    if "tflite" in targets:
        names += ["tensorflow-cpu", "ai-edge-litert"]
    if "coreml" in targets:
        names += ["coremltools"]
    out = {"nhkit": NHKIT_VERSION}
    for n in names:
        try:
            out[n.replace("-cpu", "")] = metadata.version(n)
        except metadata.PackageNotFoundError:
            if n == "tensorflow-cpu":
                try:
                    out["tensorflow"] = metadata.version("tensorflow")
                except metadata.PackageNotFoundError:
                    pass
    return out


def check_sources_differ(cal: PhotoSource, val: PhotoSource) -> None:
    """Refuse to calibrate and validate on the same photos.

    A refusal, not a warning: full-int8 ranges fitted to the very photos the drift is measured
    on make the drift (and the budget verdict and device tolerances derived from it) optimistic,
    and a warning scrolls past in a build log while the bundle ships with a flattering manifest.
    Any shared photo counts (by content), since even a partial overlap biases the figure."""
    shared = cal.shared_with(val)
    if shared:
        raise ExportError(
            f"calibration folder {cal.folder!r} and validation folder {val.folder!r} share "
            f"{shared} of {val.photos} validation photo(s) (same file content): drift measured on "
            "calibration photos is optimistic. Pass --validation (or --calibration) with photos "
            "of another source"
        )


def _check_lowering(graph: Graph, reference: np.ndarray, tensor: np.ndarray) -> None:
    """The numpy interpreter of the lowered graph must reproduce onnxruntime on a real image;
    otherwise the front end mis-lowered this model and every bundle would be wrong."""
    got = np.asarray(run_graph(graph, tensor), dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    err = float(np.abs(got - ref).max())
    scale = max(1.0, float(np.abs(ref).max()))
    if not err <= LOWERING_TOLERANCE * scale:
        raise ExportError(
            f"internal check failed: the lowered graph differs from onnxruntime by "
            f"{err:.3g} (allowed {LOWERING_TOLERANCE * scale:.3g}); please report "
            "this model"
        )


class _Log:
    def __init__(self, stream: Any, quiet: bool) -> None:
        self.stream, self.quiet = stream, quiet

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            print(msg, file=self.stream, flush=True)


def run_export(opts: ExportOptions, *, log: Callable[[str], None] | None = None) -> ExportResult:
    """Run the whole export (see module docstring); raises an NhkitError on any failure."""
    t0 = time.monotonic()
    say = log or _Log(sys.stderr, False)
    timings: dict[str, float] = {}
    targets = parse_targets(opts.targets)
    variants = resolve_variants(targets, opts.variants)
    targets = [t for t in targets if any(v.target == t for v in variants)]
    source = resolve_source(opts)
    spec = Spec(
        orientation=parse_orientation(opts.orientation), fragile_margin=source.fragile_margin
    )
    needs_cal = any(v.calibrated for v in variants)

    # Image folders are checked before anything is written.
    val_dir = opts.validation or default_image_dir("validation")
    val_files = list_images(val_dir, what="validation")
    cal_files: list[Path] = []
    cal_dir: Path | None = None
    if needs_cal or opts.calibration is not None:
        cal_dir = Path(opts.calibration or default_image_dir("calibration"))
        cal_files = list_images(cal_dir, what="calibration")
    val_source = photo_source(
        val_files[: opts.validation_limit or None], val_dir, opts.validation_views
    )
    cal_source: PhotoSource | None = None
    if needs_cal and cal_dir is not None:
        cal_source = photo_source(
            cal_files[: opts.calibration_limit or None], cal_dir, CALIBRATION_VIEWS
        )
        check_sources_differ(cal_source, val_source)

    staging = bw.Staging(Path(opts.out))
    try:
        say(f"nhkit export: {source.name} ({source.onnx}) -> {opts.out}")
        say(f"  variants: {', '.join(v.key for v in variants)}")
        t = time.monotonic()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            graph = load_graph(source.onnx, use_onnxsim=opts.use_onnxsim)
        fingerprint = onnx_fingerprint(source.onnx)
        for w in caught:
            say(f"  warning: {w.message}")
        timings["front_end"] = time.monotonic() - t
        say(
            f"  front end: {len(graph.nodes)} ops {graph.op_counts()}, "
            f"{graph.parameter_count():,} parameters [{timings['front_end']:.1f}s]"
        )

        t = time.monotonic()
        val = load_image_set(
            val_files,
            spec,
            what="validation",
            views=opts.validation_views,
            limit=opts.validation_limit,
            source=str(val_dir),
        )
        cal: ImageSet | None = None
        if cal_files:
            cal = load_image_set(
                cal_files,
                spec,
                what="calibration",
                views=CALIBRATION_VIEWS,
                limit=opts.calibration_limit,
                source=str(cal_dir),
            )
        timings["images"] = time.monotonic() - t
        say(
            f"  validation: {val.photos} photos x {len(val.views)} views = {len(val)} images "
            f"from {val.source}"
            + (
                f"; calibration: {cal.photos} photos x {len(cal.views)} views from {cal.source}"
                if cal
                else ""
            )
        )
        for what, n, total in (
            ("validation", val.photos, len(val_files)),
            ("calibration", cal.photos if cal else 0, len(cal_files)),
        ):
            if n < total:
                say(f"  note: using the first {n} of {total} {what} photos (by file name)")

        t = time.monotonic()
        reference = OnnxBackend(source.onnx, threads=opts.threads)
        val_nchw = val.nchw()
        ref_emb = embed_all(reference, val_nchw)
        _check_lowering(graph, ref_emb[:1], val_nchw[:1])
        hasher = Hasher(reference, source.seed, spec, with_digests=True)
        photos = [decode_image(p, orientation=spec.orientation).rgb for p in val_files[:5]]
        cases = bw.compute_selftest_cases(bw.make_selftest_sources(photos), hasher)
        decode_cases = bw.compute_decode_cases(spec)
        case_nchw = normalise(
            np.stack([np.frombuffer(c.rgb360, np.uint8).reshape(360, 360, 3) for c in cases]),
            "NCHW",
        )
        case_proj = np.stack([c.projections for c in cases])
        timings["reference"] = time.monotonic() - t
        say(
            f"  reference: onnxruntime fp32 on {len(val)} images, lowering checked, "
            f"{len(cases)} self-test cases + {len(decode_cases)} decode-mode cases "
            f"[{timings['reference']:.1f}s]"
        )

        common: dict[str, Any] = {
            "spec": spec,
            "source_model": {
                "name": source.name,
                "sha256": sha256_file(source.onnx),
                "fingerprint": fingerprint,
            },
        }
        tools = tool_versions(targets)
        outcomes: list[VariantOutcome] = []
        build_root = staging.path / ".build"
        build_root.mkdir()
        worker: CoremlWorker | None = None
        if opts.parallel and {v.target for v in variants} == {"tflite", "coreml"}:
            # Core ML conversion + verification in a second process while TFLite runs here:
            # on 2 cores this cuts the default export's wall time by about a third.
            worker = CoremlWorker(
                build_root,
                source.onnx,
                source.name,
                opts.use_onnxsim,
                [v for v in variants if v.target == "coreml"],
                val_nchw,
                case_nchw,
            )
            say("  Core ML variants are built and verified in a parallel process")
        try:
            for i, variant in enumerate(variants, 1):
                bundle_id = f"{source.name}.{variant.key}"
                say(f"[{i}/{len(variants)}] {bundle_id}: {variant.description}")
                if worker is not None and variant.target == "coreml":
                    built = worker.result(variant, bundle_id)
                else:
                    built = build_and_run(
                        graph,
                        variant,
                        build_root / bundle_id,
                        cal,
                        val_nchw,
                        case_nchw,
                        opts.threads,
                    )
                drift = measure_drift(
                    ref_emb, built.embeddings, source.seed, spec, variant.budget, photos=val.photos
                )
                if not drift.passed and opts.allow_over_budget:
                    drift.overridden = True
                st = selftest_drift(case_proj, built.case_embeddings, source.seed, spec)
                folder, zpath = bw.write_bundle(
                    staging.path,
                    bundle_id,
                    model_src=built.model_src,
                    model_file=built.model_file,
                    seed=source.seed,
                    cases=cases,
                    decode_cases=decode_cases,
                    selftest=opts.selftest,
                    manifest_fields=dict(
                        common,
                        target=variant.target,
                        runtime=built.runtime,
                        variant=variant.to_json(),
                        model=built.model_io,
                        drift=dict(
                            drift.to_json(),
                            selftest=st.to_json(),
                            validation=val_source.to_json(),
                            calibration=(
                                dict(
                                    cal_source.to_json(),
                                    shared_with_validation=cal_source.shared_with(val_source),
                                )
                                if variant.calibrated and cal_source is not None
                                else None
                            ),
                        ),
                        tolerance=recommended_tolerance(drift, st),
                        tools=tools,
                    ),
                )
                src = built.model_src
                model_bytes = (
                    sum(f.stat().st_size for f in src.rglob("*") if f.is_file())
                    if src.is_dir()
                    else src.stat().st_size
                )
                outcome = VariantOutcome(
                    bundle_id=bundle_id,
                    target=variant.target,
                    variant=variant.name,
                    description=variant.description,
                    model_bytes=model_bytes,
                    bundle_bytes=bw.bundle_size(folder),
                    zip_bytes=zpath.stat().st_size,
                    drift=drift,
                    seconds=built.seconds,
                )
                outcomes.append(outcome)
                say("    " + outcome.verdict())
        finally:
            if worker is not None:
                worker.stop()  # on error: at once, before the staging folder is deleted

        failed = [o for o in outcomes if not o.drift.passed and not o.drift.overridden]
        if failed:
            lines = "\n  ".join(f"{o.bundle_id}: {'; '.join(o.drift.reasons)}" for o in failed)
            raise ExportError(
                f"{len(failed)} variant(s) over their drift budget; nothing was written:\n  "
                f"{lines}\n(drop those variants with --variants, or pass --allow-over-budget to "
                "write them marked as over budget)"
            )

        seconds = time.monotonic() - t0
        report_name = f"{source.name}.report"
        report = write_report(
            staging.path / report_name,
            outcomes,
            {
                "model_name": source.name,
                "model_path": source.onnx,
                "model_sha256": common["source_model"]["sha256"],
                "fingerprint": fingerprint,
                "spec": json.dumps(spec.to_json()),
                "validation": f"{val.photos} photos x views {list(val.views)} = {len(val)} images "
                f"({val.source})",
                "calibration": (
                    f"{cal.photos} photos x views {list(cal.views)} ({cal.source})"
                    if cal
                    else "not used"
                ),
                "seconds": seconds,
            },
        )
        names = [n for o in outcomes for n in (o.bundle_id, o.bundle_id + ".zip")]
        if opts.selftest == "separate":
            names += [bw.selftest_archive_name(o.bundle_id) for o in outcomes]
        placed = staging.commit(names + [report_name])
        timings["total"] = time.monotonic() - t0
        total = sum(o.zip_bytes for o in outcomes)
        say(
            f"done: {len(outcomes)} bundles ({human_bytes(total)} of zips) and "
            f"{report_name}/report.md in {opts.out} [{timings['total']:.1f}s]"
        )
        return ExportResult(
            outcomes=outcomes,
            placed=placed,
            report=Path(opts.out) / report_name / report.name,
            seconds=timings["total"],
            timings=timings,
        )
    finally:
        staging.cleanup()
