#!/usr/bin/env python3
"""`nhkit export` benchmark: bundle size and drift per variant, TFLite latency per variant at 1
and 2 threads, and the wall time of a full default export (goal: < 3 min on 2 cores).

    python benchmarks/export.py                       # the shipped default model
    python benchmarks/export.py --model M.onnx --seed S
    python benchmarks/export.py --synthetic           # random MobileNetV3-Small (no model needed)

The export runs as a subprocess (`python -m nhkit.runtime export`), so the wall time includes
interpreter start and every import, as a user sees it. Writes benchmarks/results/export.md (and
export.json). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def _latency(model: Path, x: np.ndarray, threads: int, runs: int) -> tuple[float, float]:
    """Median ms of (model only: set input, invoke, read output) and (TfliteBackend.embed from
    the canonical NCHW float tensor, i.e. plus layout change and int8 quantization)."""
    from nhkit.runtime.backends.tflite import TfliteBackend

    be = TfliteBackend(model, threads=threads)
    prepared = be._prepare(x)  # noqa: SLF001 - benchmark of the model alone

    def median_ms(fn) -> float:
        for _ in range(3):
            fn()
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1e3)
        return statistics.median(times)

    return median_ms(lambda: be._run(prepared)), median_ms(lambda: be.embed(x))  # noqa: SLF001


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path)
    ap.add_argument("--seed", type=Path)
    ap.add_argument(
        "--synthetic", action="store_true", help="benchmark a random MobileNetV3-Small-shaped model"
    )
    ap.add_argument("--runs", type=int, default=30, help="timed TFLite runs per setting")
    ap.add_argument("--keep", type=Path, help="export into this folder and keep it")
    ap.add_argument("--variants", help="passed to nhkit export (default: its default set)")
    ap.add_argument(
        "--extra",
        default="coreml-pal8,coreml-pal4",
        help="non-default variants exported afterwards (not in the wall time) so "
        "their size and drift are in the table too ('' for none)",
    )
    args = ap.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    work = Path(tempfile.mkdtemp(prefix="nhkit-bench-export-"))
    cmd = [sys.executable, "-m", "nhkit.runtime", "export"]
    label = "default model"
    if args.synthetic:
        import onnx

        from nhkit.export import testmodels as tm
        from nhkit.runtime.seed import seed_to_f32_bytes

        onnx.save(tm.mobilenet_v3_small_onnx(seed=0), str(work / "model.onnx"))
        (work / "seed.f32").write_bytes(seed_to_f32_bytes(tm.synthetic_seed(1)))
        cmd += [
            "--model",
            str(work / "model.onnx"),
            "--seed",
            str(work / "seed.f32"),
            "--name",
            "synthetic-mnv3s",
            "--allow-over-budget",
        ]
        label = "synthetic MobileNetV3-Small (random weights)"
    elif args.model:
        cmd += ["--model", str(args.model), "--seed", str(args.seed), "--allow-over-budget"]
        label = str(args.model)
    else:
        cmd += ["--allow-over-budget"]
    if args.variants:
        cmd += ["--variants", args.variants]
    out = args.keep or (work / "out")
    cmd += ["-o", str(out)]
    print("running:", " ".join(cmd), flush=True)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, text=True, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        print(f"export failed (exit {proc.returncode})", file=sys.stderr)
        return 1

    extra_out = None
    if args.extra:
        extra_out = work / "extra"
        base = [c for c in cmd[:-2] if c != "--allow-over-budget"]
        if "--variants" in base:
            i = base.index("--variants")
            del base[i : i + 2]
        subprocess.run(
            base
            + ["--variants", args.extra, "--allow-over-budget", "--quiet", "-o", str(extra_out)],
            cwd=REPO,
            check=True,
        )

    from nhkit.runtime.bundle import load_bundle
    from nhkit.runtime.decode import decode_image
    from nhkit.runtime.resize import resize_rgb
    from nhkit.runtime.tensor import normalise

    photo = sorted((REPO / "export" / "data" / "validation").glob("*.jpg"))[0]
    x = normalise(resize_rgb(decode_image(photo).rgb, 360), "NCHW")
    rows = []
    manifests = sorted(out.glob("*/manifest.json"))
    if extra_out is not None:
        manifests += sorted(extra_out.glob("*/manifest.json"))
    for manifest in manifests:
        with load_bundle(manifest.parent) as b:
            m = b.manifest
            d = m["drift"]
            files = {f["path"]: f["size"] for f in m["files"]}
            mfile = m["model"]["file"]
            row = {
                "bundle": m["bundle_id"],
                "target": m["target"],
                "variant": m["variant"]["name"],
                "model_bytes": sum(
                    s for p, s in files.items() if p == mfile or p.startswith(mfile + "/")
                ),
                "zip_bytes": (manifest.parent.parent / f"{m['bundle_id']}.zip").stat().st_size,
                "default": manifest.parent.parent == out,
                "mean": d["hamming"]["mean"],
                "p95": d["hamming"]["p95"],
                "max": d["hamming"]["max"],
                "bit_exact": d["bit_exact_rate"],
                "nonfragile": d["nonfragile_flips"],
                "cos_min": d["embedding"]["cosine_min"],
                "passed": d["passed"],
                "budget": d["budget"],
                "images": d["images"],
            }
            if m["target"] == "tflite":
                row["ms_1t"], row["embed_ms_1t"] = _latency(b.model_path, x, 1, args.runs)
                row["ms_2t"], row["embed_ms_2t"] = _latency(b.model_path, x, 2, args.runs)
            rows.append(row)
    order = {"tflite": 0, "coreml": 1}
    rank = {
        "fp32": 0,
        "fp16": 1,
        "dynamic-int8": 2,
        "int8": 3,
        "int8-io": 4,
        "int16x8": 5,
        "int8-b32": 5,
        "pal8": 6,
        "pal6": 7,
        "pal4": 8,
    }
    rows.sort(key=lambda r: (order[r["target"]], rank.get(r["variant"], 9)))

    from nhkit.export.variants import DriftBudget  # the budget column as the export prints it

    def mib(n: int) -> str:
        return f"{n / 1024**2:.2f}"

    lines = [
        "# `nhkit export` benchmark",
        "",
        f"- model: {label}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        f"- full default export (all targets and default variants, verification and report "
        f"included, as a subprocess): **{wall:.1f} s** (goal < 180 s)",
        f"- drift measured on {rows[0]['images'] if rows else 0} images (held-out photos, "
        "as-is and mirrored) against fp32 onnxruntime",
        "",
        "| bundle | model MiB | zip MiB | Hamming mean | p95 | max | bit-exact | "
        "non-fragile flips | min cosine | budget | verdict | TFLite ms 1 thr | "
        "TFLite ms 2 thr | embed() ms 1 thr |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for r in rows:
        b = r["budget"]
        budget = DriftBudget(
            b["mean"], max=b["max"], p99=b.get("p99"), nonfragile=b.get("nonfragile_flips")
        ).describe()
        lat1 = f"{r['ms_1t']:.1f}" if "ms_1t" in r else "-"
        lat2 = f"{r['ms_2t']:.1f}" if "ms_2t" in r else "-"
        emb1 = f"{r['embed_ms_1t']:.1f}" if "embed_ms_1t" in r else "-"
        lines.append(
            f"| {r['bundle']} | {mib(r['model_bytes'])} | {mib(r['zip_bytes'])} | "
            f"{r['mean']:.3f} | {r['p95']} | {r['max']} | {r['bit_exact']:.0%} | "
            f"{r['nonfragile']} | {r['cos_min']:.5f} | {budget} | "
            f"{'pass' if r['passed'] else 'OVER BUDGET'}"
            f"{'' if r['default'] else ' (not default)'} | {lat1} | {lat2} | {emb1} |"
        )
    lines += [
        "",
        "Variants marked 'not default' are not built by a plain `nhkit export`; they "
        "were exported separately (`--variants ... --allow-over-budget`) for this table and "
        "are not part of the wall time.",
        "",
        f"TFLite latency: median of {args.runs} runs of one 360x360 image after 3 "
        "warm-up runs, ai-edge-litert with XNNPACK, this machine's CPU (shared with other "
        "jobs, so treat small differences as noise). 'TFLite ms' is the model alone (set "
        "input, invoke, read output); 'embed() ms' is TfliteBackend.embed from the "
        "canonical NCHW float tensor, i.e. plus the NHWC transpose and, for int8 input, "
        "the exact round-half-away quantization in numpy (a device feeds int8 through "
        "the manifest's 256-entry table instead).",
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-synthetic" if args.synthetic else ""
    (RESULTS / f"export{suffix}.md").write_text("\n".join(lines), encoding="utf-8")
    (RESULTS / f"export{suffix}.json").write_text(
        json.dumps({"model": label, "wall_seconds": wall, "variants": rows}, indent=2) + "\n"
    )
    print("\n".join(lines))
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
