"""Test helper for ios_bridge/test.sh: copy a TFLite bundle with ONE corrupted model weight.

Proves the Swift self-test reports are computed, not replayed: the copy's model differs from the
original in one float32 weight (found through LiteRT's own tensor list, so the change hits real
weight data, not flatbuffer structure), the manifest's checksums are redone so the copy is a
valid bundle, and `selftest/cases.json` keeps the original reference results. A bridge that
really runs the model then reports other embeddings and `nhkit golden check` fails.

Usage: python3 corrupt_weight.py SRC_BUNDLE DST_BUNDLE
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def corrupt(src: Path, dst: Path) -> str:
    manifest = json.loads((src / "manifest.json").read_text())
    model_rel = manifest["model"]["file"]
    data = bytearray((src / model_rel).read_bytes())
    interp = Interpreter(model_path=str(src / model_rel))
    interp.allocate_tensors()
    best = None
    for d in interp.get_tensor_details():
        if d["dtype"] != np.float32 or len(d["shape"]) < 2:
            continue
        try:
            w = interp.get_tensor(d["index"])
        except ValueError:
            continue
        raw = w.tobytes()
        if len(raw) < 64 or not np.any(w):
            continue
        at = bytes(data).find(raw)
        if at >= 0 and bytes(data).find(raw, at + 1) < 0 and (best is None or len(raw) > best[2]):
            best = (d["name"], at, len(raw), w)
    if best is None:
        raise SystemExit(f"{src}: no float32 weight tensor found in {model_rel}")
    name, at, _, w = best
    flat = w.reshape(-1)
    i = int(np.argmax(np.abs(flat)))
    new = np.float32(-4.0 * flat[i] if flat[i] != 0 else 1.0)
    data[at + 4 * i: at + 4 * i + 4] = new.tobytes()
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    (dst / model_rel).write_bytes(bytes(data))
    for f in manifest["files"]:
        if f["path"] == model_rel:
            f["sha256"] = hashlib.sha256(data).hexdigest()
            f["size"] = len(data)
    tmp = dst / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(dst / "manifest.json")
    return f"{name}[{i}]: {flat[i]!r} -> {new!r}"


if __name__ == "__main__":
    print(corrupt(Path(sys.argv[1]), Path(sys.argv[2])))
