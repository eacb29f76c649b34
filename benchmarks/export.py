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


def _latency(model: Path, x: np.ndarray, threads: int, runs: int) -> float:
    from nhkit.runtime.backends.tflite import TfliteBackend

    be = TfliteBackend(model, threads=threads)
    for _ in range(3):
        be.embed(x)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        be.embed(x)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path)
    ap.add_argument("--seed", type=Path)
    ap.add_argument("--synthetic", action="store_true",
                    help="benchmark a random MobileNetV3-Small-shaped model")
    ap.add_argument("--runs", type=int, default=30, help="timed TFLite runs per setting")
    ap.add_argument("--keep", type=Path, help="export into this folder and keep it")
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
        cmd += ["--model", str(work / "model.onnx"), "--seed", str(work / "seed.f32"),
                "--name", "synthetic-mnv3s", "--allow-over-budget"]
        label = "synthetic MobileNetV3-Small (random weights)"
    elif args.model:
        cmd += ["--model", str(args.model), "--seed", str(args.seed), "--allow-over-budget"]
        label = str(args.model)
    else:
        cmd += ["--allow-over-budget"]
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

    from nhkit.runtime.bundle import load_bundle
    from nhkit.runtime.decode import decode_image
    from nhkit.runtime.resize import resize_rgb
    from nhkit.runtime.tensor import normalise

    photo = sorted((REPO / "tests" / "data" / "photos").glob("*.jpg"))[0]
    x = normalise(resize_rgb(decode_image(photo).rgb, 360), "NCHW")
    rows = []
    for manifest in sorted(out.glob("*/manifest.json")):
        with load_bundle(manifest.parent) as b:
            m = b.manifest
            d = m["drift"]
            files = {f["path"]: f["size"] for f in m["files"]}
            mfile = m["model"]["file"]
            row = {
                "bundle": m["bundle_id"], "target": m["target"], "variant": m["variant"]["name"],
                "model_bytes": sum(s for p, s in files.items()
                                   if p == mfile or p.startswith(mfile + "/")),
                "zip_bytes": (out / f"{m['bundle_id']}.zip").stat().st_size,
                "mean": d["hamming"]["mean"], "p95": d["hamming"]["p95"],
                "max": d["hamming"]["max"], "bit_exact": d["bit_exact_rate"],
                "nonfragile": d["nonfragile_flips"], "cos_min": d["embedding"]["cosine_min"],
                "passed": d["passed"], "budget": d["budget"], "images": d["images"],
            }
            if m["target"] == "tflite":
                row["ms_1t"] = _latency(b.model_path, x, 1, args.runs)
                row["ms_2t"] = _latency(b.model_path, x, 2, args.runs)
            rows.append(row)
    order = {"tflite": 0, "coreml": 1}
    rows.sort(key=lambda r: (order[r["target"]], r["bundle"]))

    def mib(n: int) -> str:
        return f"{n / 1024 ** 2:.2f}"

    lines = [
        "# `nhkit export` benchmark", "",
        f"- model: {label}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        f"- full default export (all targets and default variants, verification and report "
        f"included, as a subprocess): **{wall:.1f} s** (goal < 180 s)",
        f"- drift measured on {rows[0]['images'] if rows else 0} images (held-out photos, "
        "as-is and mirrored) against fp32 onnxruntime",
        "",
        "| bundle | model MiB | zip MiB | Hamming mean | p95 | max | bit-exact | "
        "non-fragile flips | min cosine | budget | verdict | TFLite ms (1 thr) | "
        "TFLite ms (2 thr) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for r in rows:
        b = r["budget"]
        budget = f"mean<={b['mean']:g}" + (f", max<={b['max']}" if b["max"] is not None else "")
        lat1 = f"{r['ms_1t']:.1f}" if "ms_1t" in r else "-"
        lat2 = f"{r['ms_2t']:.1f}" if "ms_2t" in r else "-"
        lines.append(
            f"| {r['bundle']} | {mib(r['model_bytes'])} | {mib(r['zip_bytes'])} | "
            f"{r['mean']:.3f} | {r['p95']} | {r['max']} | {r['bit_exact']:.0%} | "
            f"{r['nonfragile']} | {r['cos_min']:.5f} | {budget} | "
            f"{'pass' if r['passed'] else 'OVER BUDGET'} | {lat1} | {lat2} |")
    lines += ["", f"TFLite latency: median of {args.runs} runs of one 360x360 image after 3 "
              "warm-up runs, ai-edge-litert with XNNPACK, this machine's CPU (shared with other "
              "jobs, so treat small differences as noise).", ""]
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-synthetic" if args.synthetic else ""
    (RESULTS / f"export{suffix}.md").write_text("\n".join(lines), encoding="utf-8")
    (RESULTS / f"export{suffix}.json").write_text(json.dumps(
        {"model": label, "wall_seconds": wall, "variants": rows}, indent=2) + "\n")
    print("\n".join(lines))
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
