#!/usr/bin/env python3
"""Which int8 activations clip on given photos: a full-int8 bundle against its fp32 twin.

A photo unlike the calibration photos can push an activation past the int8 range its tensor
was given; the int8 model then saturates it, and the error flows on to the hash. This runs both
bundles (the same export, so the same tensor names) on each photo with every tensor kept, and
for each int8 tensor reports the share of its fp32 values beyond the int8 range (by more than
half a step) and its relative error (|dequantized int8 - fp32| / |fp32|). A diagnosis, not a
choice: the photos it looks at may be evaluation photos, and nothing is tuned on its figures
(recipes are chosen with benchmarks/quantization.py --select-on train).

    nhkit export --target tflite --variants tflite-fp32,tflite-int8 -o /tmp/v3q
    python benchmarks/int8_clipping.py --fp32 /tmp/v3q/nhkit-mnv3s-v3.tflite-fp32 \\
        --int8 /tmp/v3q/nhkit-mnv3s-v3.tflite-int8 \\
        ../fresh_eval/caer/black_cat.jpg ../fresh_eval/lifeograph/street.jpg \\
        --out benchmarks/results/int8_clipping_v3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from nhkit.runtime.atomic import write_text_atomic
from nhkit.runtime.backends.tflite import model_input_offset, quantize_input
from nhkit.runtime.decode import decode_image
from nhkit.runtime.resize import resize_rgb
from nhkit.runtime.spec import INPUT_SIZE
from nhkit.runtime.tensor import normalise


def all_tensors(model: Path, x: np.ndarray) -> dict[str, tuple[np.ndarray, float, int, bool]]:
    """name -> (value, scale, zero point, is int8) for every tensor but the input (whose values are
    the spec's, and in int8-io shifted by the offset) that the model keeps after one run on the
    NHWC float32 image x (quantized through the model's own input parameters and offset,
    as the runtime's TfliteBackend feeds it)."""
    import warnings

    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "preserve_all_tensors is for debugging": it is
        it = Interpreter(model_path=str(model), experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    if d["dtype"] == np.int8:
        offset = model_input_offset(it, int(d["index"]))
        x = quantize_input(x, *d["quantization"], offset)
    it.set_tensor(d["index"], x)
    it.invoke()
    out = {}
    for t in it.get_tensor_details():
        if t["index"] == d["index"]:
            continue
        try:
            v = it.get_tensor(t["index"])
        except ValueError:  # a tensor the run does not keep
            continue
        s, z = t["quantization"]
        out[t["name"]] = (v, float(s), int(z), t["dtype"] == np.int8)
    return out


def clipping_rows(fp32: Path, int8: Path, x: np.ndarray) -> list[dict[str, Any]]:
    """One row per int8 activation tensor that the fp32 model also has (same name, shape)."""
    a, b = all_tensors(fp32, x), all_tensors(int8, x)
    rows = []
    for name, (vq, s, z, is_int8) in b.items():
        if not is_int8 or s == 0 or name not in a:
            continue
        vf = a[name][0]
        if vf.shape != vq.shape or vf.size < 2:
            continue
        lo, hi = (-128 - z) * s, (127 - z) * s
        deq = (vq.astype(np.float32) - z) * np.float32(s)
        beyond = (vf < lo - s / 2) | (vf > hi + s / 2)
        rows.append(
            {
                "tensor": name,
                "elements": int(vf.size),
                "clipped_share": round(float(beyond.mean()), 5),
                "relative_error": round(
                    float(np.linalg.norm(deq - vf) / (np.linalg.norm(vf) + 1e-12)), 4
                ),
                "fp32_range": [round(float(vf.min()), 3), round(float(vf.max()), 3)],
                "int8_range": [round(lo, 3), round(hi, 3)],
            }
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fp32", type=Path, required=True, help="the fp32 TFLite bundle folder")
    ap.add_argument("--int8", type=Path, required=True, help="the full-int8 bundle folder")
    ap.add_argument("photos", nargs="+", type=Path)
    ap.add_argument("--top", type=int, default=8, help="tensors listed per photo")
    ap.add_argument("--out", required=True, help="results path without extension")
    args = ap.parse_args()
    for folder in (args.fp32, args.int8):
        if not (folder / "model.tflite").is_file():
            ap.error(f"{folder}: no model.tflite (expected a TFLite bundle folder)")

    report: dict[str, Any] = {
        "about": __doc__.split("\n\n")[0],
        "fp32": os.fspath(args.fp32),
        "int8": os.fspath(args.int8),
        "photos": {},
    }
    md = [f"# {report['about']}", "", f"`{args.int8}` against `{args.fp32}`.", ""]
    for photo in args.photos:
        try:
            rgb = np.asarray(decode_image(photo).rgb, dtype=np.uint8)
        except Exception as exc:  # one bad photo is reported, the rest go on
            print(f"{photo}: {exc}", file=sys.stderr)
            report["photos"][os.fspath(photo)] = {"error": str(exc)}
            continue
        x = normalise(resize_rgb(rgb, INPUT_SIZE)[None], "NHWC").astype(np.float32)
        rows = clipping_rows(args.fp32 / "model.tflite", args.int8 / "model.tflite", x)
        rows.sort(key=lambda r: (-r["clipped_share"], -r["relative_error"]))
        clipped = [r for r in rows if r["clipped_share"] > 0]
        report["photos"][os.fspath(photo)] = {"tensors": len(rows), "clipped": clipped}
        md += [
            f"## {photo.name}",
            "",
            f"{len(rows)} int8 tensors compared, {len(clipped)} with fp32 values beyond their "
            "int8 range.",
            "",
            "| tensor | elements | clipped | relative error | fp32 range | int8 range |",
            "|---|---|---|---|---|---|",
            *(
                f"| `{r['tensor'][:80]}` | {r['elements']} | {r['clipped_share']:.1%} | "
                f"{r['relative_error']:.3f} | {r['fp32_range']} | {r['int8_range']} |"
                for r in rows[: args.top]
            ),
            "",
        ]
    write_text_atomic(args.out + ".json", json.dumps(report, indent=1) + "\n")
    write_text_atomic(args.out + ".md", "\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
