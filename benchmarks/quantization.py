#!/usr/bin/env python3
"""Quantization drift on photos of another source: each quantized variant against fp32
onnxruntime, before (the old export recipe) and after (the current one), on an evaluation set
that shares no photo and no source package with the calibration photos.

    nice -n 5 python benchmarks/quantization.py --split training/split_v2.json --shared ../shared

The evaluation set is the `eval` side of the split (photos of Debian packages the model never
trained on); calibration photos come from the shipped export/data/calibration (before) and from
the split's `train` side (after: what export/data/build_calibration.py ships). A recipe is a
calibration set plus build options, so "before" is rebuilt by the current code with the old
options, not remembered. Writes benchmarks/results/quantization.md and .json. Not a test.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"

# Issue 12 section 4 goals: (mean, p99, max, non-fragile flips allowed); None = no goal.
GOALS: dict[str, tuple[float, int | None, int | None, int | None]] = {
    "tflite-fp16": (0.05, None, 1, None),
    "tflite-dynamic-int8": (0.3, None, 3, None),
    "tflite-int8": (0.8, 4, 6, 0),
    "tflite-int8-io": (0.8, 4, 6, 0),
    "coreml-int8": (0.3, None, None, None),
    "coreml-pal6": (1.0, None, 4, None),
}


@dataclass(frozen=True)
class Recipe:
    """How one variant is built: which calibration photos, which Core ML palettization."""

    label: str
    calibration: str  # "shipped" | "train-split"
    coreml_sensitive_bits: int | None  # None: every weight at the variant's bits (old recipe)
    coreml_sensitive_ops: int = 1  # how many of the last weight layers get those bits


RECIPES = {
    "before": Recipe("before", "shipped-v1", None),
    "after": Recipe("after", "shipped", 8, 1),
    # the alternative tried: the last two weight layers (the whole head) at 8 bits
    "after-last2": Recipe("after-last2", "shipped", 8, 2),
}
RECIPE_ORDER = ("unchanged", "before", "after", "after-last2")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", type=Path, default=REPO / "training" / "split_v2.json")
    ap.add_argument(
        "--shared", type=Path, required=True, help="folder holding photos/ and photos_extra/"
    )
    ap.add_argument(
        "--old-calibration",
        type=Path,
        help="folder of the old shipped calibration photos (before recipe); default: "
        "export/data/calibration as of git commit e796f1f, extracted to a temp folder",
    )
    ap.add_argument(
        "--calibration",
        type=Path,
        help="calibration folder of the after recipes (default: export/data/calibration)",
    )
    ap.add_argument("--variants", default=",".join(GOALS))
    ap.add_argument("--recipes", default="before,after")
    ap.add_argument("--limit", type=int, help="first N evaluation photos (quick look)")
    ap.add_argument("--out", type=Path, default=RESULTS / "quantization")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of the existing results (OUT.json) that this run does not redo",
    )
    args = ap.parse_args()

    from nhkit.export.onnx_frontend import load_graph
    from nhkit.export.variant_build import build_variant
    from nhkit.export.variants import get_variant
    from nhkit.export.verify import (
        DEFAULT_CALIBRATION_DIR,
        embed_all,
        list_images,
        load_image_set,
        measure_drift,
        photo_source,
    )
    from nhkit.runtime.backends.factory import open_backend
    from nhkit.runtime.backends.onnx import OnnxBackend
    from nhkit.runtime.models import shipped_model
    from nhkit.runtime.seed import load_seed
    from nhkit.runtime.spec import Spec

    t_start = time.monotonic()
    load0 = os.getloadavg()[0]
    split = json.loads(args.split.read_text())
    eval_files = [args.shared / r["file"] for r in split["eval"]][: args.limit or None]
    model = shipped_model()
    spec = Spec(fragile_margin=model.fragile_margin)
    seed = load_seed(model.seed)
    graph = load_graph(model.onnx)

    tmp = Path(tempfile.mkdtemp(prefix="nhkit-quant-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)  # built variants: hundreds of MB
    old_cal = args.old_calibration
    if old_cal is None:
        import subprocess

        old_cal = tmp / "calibration-v1"
        old_cal.mkdir()
        tar = subprocess.run(
            ["git", "-C", str(REPO), "archive", "e796f1f", "export/data/calibration"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old_cal)], input=tar, check=True)
        old_cal = old_cal / "export" / "data" / "calibration"
    cal_dirs = {"shipped-v1": old_cal, "shipped": args.calibration or DEFAULT_CALIBRATION_DIR}

    t = time.monotonic()
    ev = load_image_set(eval_files, spec, what="evaluation", source="split eval")
    ev_nchw = ev.nchw()
    ref = embed_all(OnnxBackend(model.onnx, threads=args.threads), ev_nchw)
    print(f"evaluation: {ev.photos} photos, reference in {time.monotonic() - t:.0f}s", flush=True)
    ev_source = photo_source(eval_files, "photos_extra", ("full",))

    cal_sets: dict[str, Any] = {}
    cal_info: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for label in args.recipes.split(","):
        recipe = RECIPES[label]
        cal_dir = cal_dirs[recipe.calibration]
        if recipe.calibration not in cal_sets:
            files = list_images(cal_dir, what="calibration")
            if photo_source(files, cal_dir, ("full",)).shared_with(ev_source):
                raise SystemExit(f"{cal_dir}: shares photos with the evaluation set")
            from nhkit.export.exporter import CALIBRATION_VIEWS, ExportOptions

            limit = ExportOptions(out=tmp).calibration_limit
            cal_sets[recipe.calibration] = load_image_set(
                files, spec, what="calibration", views=CALIBRATION_VIEWS, limit=limit
            )
            cal_info[recipe.calibration] = {
                "folder": (
                    "export/data/calibration at commit e796f1f"
                    if args.old_calibration is None and recipe.calibration == "shipped-v1"
                    else str(cal_dir.relative_to(REPO) if cal_dir.is_relative_to(REPO) else cal_dir)
                ),
                "photos": cal_sets[recipe.calibration].photos,
                "files_in_folder": len(files),
                "views": list(CALIBRATION_VIEWS),
                "sha256_list": photo_source(files[: limit or None], cal_dir, ("full",)).sha256_list,
                "shared_with_eval": photo_source(files, cal_dir, ("full",)).shared_with(ev_source),
            }
        cal = cal_sets[recipe.calibration]
        for key in args.variants.split(","):
            target, name = key.split("-", 1)
            variant = get_variant(target, name)
            affected = variant.calibrated or name.startswith("pal")
            if label != "before" and not affected:
                continue  # a recipe changes only calibrated and palettized variants
            work = tmp / f"{label}-{key}"
            work.mkdir()
            t = time.monotonic()
            if target == "coreml" and name.startswith("pal"):
                from nhkit.export import coreml as cm

                saved = cm.SENSITIVE_PALETTE_BITS, cm.SENSITIVE_LAST_WEIGHT_OPS
                cm.SENSITIVE_PALETTE_BITS = recipe.coreml_sensitive_bits
                cm.SENSITIVE_LAST_WEIGHT_OPS = recipe.coreml_sensitive_ops
                try:
                    src, _, io, _ = build_variant(graph, variant, work, cal)
                finally:
                    cm.SENSITIVE_PALETTE_BITS, cm.SENSITIVE_LAST_WEIGHT_OPS = saved
            else:
                src, _, io, _ = build_variant(graph, variant, work, cal)
            backend = open_backend(target, src, threads=args.threads, input_spec=io["inputs"][0])
            emb = embed_all(backend, ev_nchw)
            d = measure_drift(ref, emb, seed, spec, variant.budget, photos=ev.photos)
            size = (
                sum(f.stat().st_size for f in src.rglob("*") if f.is_file())
                if src.is_dir()
                else src.stat().st_size
            )
            row = {
                "recipe": label if affected else "unchanged",
                "variant": key,
                "calibration": recipe.calibration if variant.calibrated else None,
                "coreml_8bit_layers": (
                    recipe.coreml_sensitive_ops
                    if name.startswith("pal") and recipe.coreml_sensitive_bits
                    else 0
                ),
                "mean": round(d.mean, 4),
                "p99": d.p99,
                "max": d.max,
                "nonfragile_flips": d.nonfragile_flips,
                "bit_exact_rate": round(d.bit_exact_rate, 4),
                "model_bytes": size,
                "seconds": round(time.monotonic() - t, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)

    commands = ["python benchmarks/quantization.py " + " ".join(sys.argv[1:])]
    if args.merge and args.out.with_suffix(".json").is_file():
        old = json.loads(args.out.with_suffix(".json").read_text())
        redone = {(r["recipe"], r["variant"]) for r in rows}
        rows = [r for r in old["rows"] if (r["recipe"], r["variant"]) not in redone] + rows
        commands = old.get("commands", [old.get("command")]) + commands
        cal_info = {**old["calibration"], **cal_info}
    report = {
        "commands": commands,
        "model": model.name,
        "evaluation": {
            "source": f"{args.split.name} 'eval' side ({len(split['eval_packages'])} packages)",
            "photos": ev.photos,
            "sha256_list": ev_source.sha256_list,
        },
        "calibration": cal_info,
        "goals": {
            k: dict(zip(("mean", "p99", "max", "nonfragile_flips"), v)) for k, v in GOALS.items()
        },
        "rows": rows,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {load0:.1f} -> {os.getloadavg()[0]:.1f}",
        "seconds": round(time.monotonic() - t_start, 1),
    }
    _write(args.out, report)
    return 0


def _verdict(row: dict[str, Any]) -> str:
    goal = GOALS.get(row["variant"])
    if goal is None:
        return "-"
    mean, p99, mx, nf = goal
    missed = []
    if row["mean"] > mean:
        missed.append(f"mean {row['mean']:.3f} > {mean:g}")
    if p99 is not None and row["p99"] > p99:
        missed.append(f"p99 {row['p99']} > {p99}")
    if mx is not None and row["max"] > mx:
        missed.append(f"max {row['max']} > {mx}")
    if nf is not None and row["nonfragile_flips"] > nf:
        missed.append(f"non-fragile flips {row['nonfragile_flips']} > {nf}")
    return "met" if not missed else "missed: " + "; ".join(missed)


def _goal_text(key: str) -> str:
    mean, p99, mx, nf = GOALS[key]
    parts = [f"mean <= {mean:g}"]
    if p99 is not None:
        parts.append(f"p99 <= {p99}")
    if mx is not None:
        parts.append(f"max <= {mx}")
    if nf is not None:
        parts.append("no non-fragile flips")
    return ", ".join(parts)


def _write(out: Path, report: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    ev = report["evaluation"]
    lines = [
        f"<!-- Generated by benchmarks/quantization.py; figures also in {out.name}.json -->",
        "# Quantization drift on photos of another source",
        "",
        "Commands (in order; a later one redoes the rows it lists):",
        "",
        *[f"    {c}" for c in report["commands"]],
        "",
        f"Model `{report['model']}`. Evaluation set: {ev['photos']} photos, {ev['source']} "
        f"(`sha256_list` `{ev['sha256_list'][:16]}...`); none of them is a calibration "
        "photo and none of their packages is a calibration photo's package.",
        "",
        "Recipes (what differs between before and after; other variants are `unchanged`):",
        "",
        "- `before`: the old export. Full int8 calibrated on `shipped-v1` (export/data/calibration "
        "as of commit e796f1f); Core ML palettized variants: every weight tensor of at least 2048 "
        "elements at the variant's bits (one k-means LUT per tensor).",
        "- `after`: the current export. Full int8 calibrated on `shipped` (the current "
        "export/data/calibration); palettized variants keep the last weight layer (the "
        "embedding projection) at 8 bits.",
        "- `after-last2`: as `after` with the last 2 weight layers (the whole head) at 8 bits "
        "(the alternative tried: no better, 148 kB larger).",
        "",
        "Calibration sets (full int8 only), each photo as-is and mirrored:",
        "",
    ]
    for name, c in report["calibration"].items():
        lines.append(
            f"- `{name}`: {c['photos']} photos of {c['folder']} x views {c['views']} "
            f"(`sha256_list` `{c['sha256_list'][:16]}...`, photos shared with the evaluation "
            f"set: {c['shared_with_eval']})"
        )
    lines += [
        "",
        "Hamming distance of each variant's hash to the fp32 onnxruntime hash (96 bits); "
        "p99 is nearest-rank; non-fragile flips are flipped bits whose reference projection "
        "was at least the model's fragile margin from zero (summed over photos).",
        "",
        "| variant | recipe | mean | p99 | max | non-fragile flips | bit-exact | model bytes "
        "| goal | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(
        report["rows"],
        key=lambda r: (
            list(GOALS).index(r["variant"]) if r["variant"] in GOALS else 99,
            RECIPE_ORDER.index(r["recipe"]),
        ),
    ):
        lines.append(
            f"| {r['variant']} | {r['recipe']} | {r['mean']:.3f} | {r['p99']} | {r['max']} | "
            f"{r['nonfragile_flips']} | {r['bit_exact_rate']:.0%} | {r['model_bytes']:,} | "
            f"{_goal_text(r['variant']) if r['variant'] in GOALS else '-'} | {_verdict(r)} |"
        )
    lines += ["", f"Machine: {report['machine']}; {report['seconds']:.0f} s in all.", ""]
    out.with_suffix(".md").write_text("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
