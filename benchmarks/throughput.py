#!/usr/bin/env python3
"""Images per second: nhkit's Hasher against an nnhash.py-style loop, same model, same run.

    python benchmarks/throughput.py [--photos DIR] [--model M.onnx --seed S] [--repeat 2]

Photos default to ../shared/photos (rebuild from the Debian packages listed in
export/data/validation/README.md's sources) or export/data/validation. Writes
benchmarks/results/throughput.md (and .json). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime
from PIL import Image

from nhkit.runtime.decode import decode_image
from nhkit.runtime.hasher import Hasher
from nhkit.runtime.models import shipped_model
from nhkit.runtime.resize import resize_image, resize_rgb
from nhkit.runtime.tensor import normalise

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from nnhash_oracle import nnhash_hash as nnhash_one  # noqa: E402  (the oracle lives in tests)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_photos = ROOT.parent / "shared" / "photos"
    ap.add_argument(
        "--photos",
        type=Path,
        default=default_photos if default_photos.is_dir() else ROOT / "export/data/validation",
    )
    ap.add_argument("--model")
    ap.add_argument("--seed")
    ap.add_argument("--repeat", type=int, default=2, help="passes over the photos per method")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/throughput.md")
    args = ap.parse_args()

    if args.model:
        model, seed_path = Path(args.model), Path(args.seed)
        model_name = model.name
    else:
        shipped = shipped_model()
        model, seed_path, model_name = shipped.onnx, shipped.seed, shipped.name
    files = sorted(str(p) for p in args.photos.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    n = len(files) * args.repeat
    seed_bytes = seed_path.read_bytes()
    seed1 = np.frombuffer(seed_bytes[-96 * 128 * 4 :], dtype=np.float32).reshape(96, 128)

    # 1. nnhash.py as a script run per image: a new session every time.
    t0 = time.perf_counter()
    cold = {}
    for path in files[: max(5, len(files) // 5)]:
        sess = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        cold[path] = nnhash_one(sess, seed1, path)
    cold_rate = len(cold) / (time.perf_counter() - t0)

    # 2. nnhash.py procedure in a warm loop: one session, one image at a time.
    sess = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    warm = {}
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for path in files:
            warm[path] = nnhash_one(sess, seed1, path)
    warm_rate = n / (time.perf_counter() - t0)

    # 3. nhkit: parallel decode/resize, batched inference.
    hasher = Hasher.from_onnx(model, seed_path, orientation="ignore")
    ours = {}
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for path, result in hasher.hash_files(files, batch_size=args.batch, workers=args.workers):
            if isinstance(result, Exception):
                raise result
            ours[path] = result.hex
    nhkit_rate = n / (time.perf_counter() - t0)

    # Stage split (single thread, sequential) for nhkit's pipeline.
    stages = {"decode": 0.0, "resize": 0.0, "normalise": 0.0, "inference": 0.0}
    for path in files:
        t = time.perf_counter()
        d = decode_image(path, orientation="ignore")
        stages["decode"] += time.perf_counter() - t
        t = time.perf_counter()
        r = resize_image(d.image) if d.image else resize_rgb(d.rgb)
        stages["resize"] += time.perf_counter() - t
        t = time.perf_counter()
        x = normalise(r)
        stages["normalise"] += time.perf_counter() - t
        t = time.perf_counter()
        hasher.backend.embed(x)
        stages["inference"] += time.perf_counter() - t
    per_image_ms = {k: 1000 * v / len(files) for k, v in stages.items()}

    tall = [p for p in files if Image.open(p).size[1] > Image.open(p).size[0]]
    same = sum(ours[p] == warm[p] for p in files)
    same_wide = sum(ours[p] == warm[p] for p in files if p not in tall)
    result = {
        "model": model_name,
        "photos": len(files),
        "repeat": args.repeat,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__,
        },
        "images_per_second": {
            "nnhash_script_per_image": round(cold_rate, 2),
            "nnhash_warm_loop": round(warm_rate, 2),
            "nhkit": round(nhkit_rate, 2),
        },
        "speedup_vs_warm_loop": round(nhkit_rate / warm_rate, 2),
        "speedup_vs_script": round(nhkit_rate / cold_rate, 2),
        "stage_ms_per_image_single_thread": {k: round(v, 2) for k, v in per_image_ms.items()},
        "identical_hashes": same,
        "tall_images": len(tall),
        "identical_hashes_wide_or_square": f"{same_wide}/{len(files) - len(tall)}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    inference_share = per_image_ms.get("inference", 0.0) / max(sum(per_image_ms.values()), 1e-9)
    md = [
        "# Throughput: nhkit vs an nnhash.py-style loop",
        "",
        f"`python benchmarks/throughput.py` — model `{model_name}`, {len(files)} photos x "
        f"{args.repeat} passes, {os.cpu_count()} CPUs, "
        f"onnxruntime {onnxruntime.__version__}.",
        "",
        "| method | images/s |",
        "|---|---|",
        f"| nnhash.py run per image (new session each time) | {cold_rate:.1f} |",
        f"| nnhash.py procedure, warm loop (one session) | {warm_rate:.1f} |",
        f"| nhkit Hasher (batch {args.batch}, {args.workers} decode threads) | {nhkit_rate:.1f} |",
        "",
        f"Speed-up: **{nhkit_rate / warm_rate:.2f}x** the warm loop, "
        f"{nhkit_rate / cold_rate:.2f}x the per-image script.",
        "",
        "Single-thread stage split of nhkit's pipeline (ms per image): "
        + ", ".join(f"{k} {v:.1f}" for k, v in per_image_ms.items())
        + ".",
        "",
        f"Identical hashes: {same}/{len(files)} overall; {same_wide}/{len(files) - len(tall)} on "
        f"wide or square photos. The {len(tall)} tall photos may differ because Pillow 13's bare "
        "`Image.resize` runs the vertical pass first for tall images, which nh-spec-v1 does not.",
        "",
        f"Where the time goes: inference is {inference_share:.0%} of the single-thread cost; "
        "the rest is mostly decoding and the exact full-resolution BICUBIC resize, "
        "and both do the same work in either method (a reduced-size JPEG decode would be "
        "faster but changes the pixels, which the spec forbids). nhkit's gain therefore comes "
        "from running decode/resize on both cores while the model runs (bounded by 2x on 2 "
        "cores), batching, a 256-entry normalisation table, and no numpy round trip for RGB "
        "files. Against the script run once per image (how nnhash.py is used) the gain is "
        "larger because the session is built once.",
        "",
    ]
    args.out.write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
