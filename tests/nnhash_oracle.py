"""The `nnhash.py` procedure of AppleNeuralHash2ONNX, step by step, as an oracle: the NeuralHash
compatibility test and the throughput benchmark both measure nhkit against exactly this."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
from PIL import Image


def load_seed1(seed_path: Path) -> np.ndarray:
    """nnhash.py reads the .dat seed by skipping its 128-byte header."""
    return np.frombuffer(Path(seed_path).read_bytes()[128:], dtype=np.float32).reshape([96, 128])


def nnhash_hash(
    session: onnxruntime.InferenceSession, seed1: np.ndarray, image_path: str | Path
) -> str:
    """One image through nnhash.py's steps (bare Pillow resize, float32 dot and all)."""
    image = Image.open(image_path).convert("RGB")
    image = image.resize([360, 360])
    arr = np.array(image).astype(np.float32) / 255.0
    arr = arr * 2.0 - 1.0
    arr = arr.transpose(2, 0, 1).reshape([1, 3, 360, 360])
    outs = session.run(None, {session.get_inputs()[0].name: arr})
    hash_output = seed1.dot(outs[0].flatten())
    hash_bits = "".join(["1" if it >= 0 else "0" for it in hash_output])
    return "{:0{}x}".format(int(hash_bits, 2), len(hash_bits) // 4)
