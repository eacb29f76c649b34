"""A model folder as the training tools read and write it: model.onnx, model.json and the seed
in both formats (seed.f32, seed.dat), which the runtime's Hasher and `nhkit export` take."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nhkit.runtime.atomic import write_bytes_atomic, write_text_atomic
from nhkit.runtime.digest import onnx_fingerprint, sha256_file

FILES = ("model.onnx", "model.json", "seed.f32", "seed.dat")


def require(folder: str, what: str = "model") -> None:
    """Exit naming the folder and the files it lacks, before any work is done on it."""
    absent = [f for f in FILES if not Path(folder, f).is_file()]
    if absent:
        raise SystemExit(f"{folder}: not a {what} folder, no {', '.join(absent)}")


def card(folder: str) -> dict[str, Any]:
    """The folder's model.json."""
    return json.loads(Path(folder, "model.json").read_text())


def write(out: str, model_bytes: bytes, seeds_from: str, info: dict[str, Any]) -> None:
    """Write `out` as a model folder: the ONNX, the seeds of `seeds_from`, and `info` as its
    model.json with the ONNX's digests filled in (`info` is updated in place). Each file goes
    through a temporary file and a rename."""
    os.makedirs(out, exist_ok=True)
    onnx_path = os.path.join(out, "model.onnx")
    write_bytes_atomic(onnx_path, model_bytes)
    for f in ("seed.f32", "seed.dat"):
        write_bytes_atomic(os.path.join(out, f), Path(seeds_from, f).read_bytes())
    info.update(onnx_sha256=sha256_file(onnx_path), fingerprint=onnx_fingerprint(onnx_path))
    write_text_atomic(os.path.join(out, "model.json"), json.dumps(info, indent=1) + "\n")
