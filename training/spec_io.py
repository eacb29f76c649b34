"""nh-spec-v1 steps 1-4 and 6 for training / benchmark scripts.

Uses nhkit's runtime (decode_image, resize_rgb, normalise, project) when it is importable, and
otherwise a local helper that follows the spec with Pillow (convert('RGB'), EXIF transpose,
horizontal-only BICUBIC resize to (360, H), then vertical-only to (360, 360), v/255*2-1): both
give identical pixels for the RGB JPEG/PNG files used here.
"""
from __future__ import annotations

import os
import sys

import numpy as np
from PIL import Image, ImageOps

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = 360

try:  # the reference runtime, installed (nhkit.runtime) or from the repository (runtime)
    try:
        from nhkit.runtime.decode import decode_image as _rt_decode
        from nhkit.runtime.hashing import project as _rt_project
        from nhkit.runtime.resize import resize_rgb as _rt_resize
        from nhkit.runtime.tensor import normalise as _rt_normalise
    except ImportError:
        sys.path.insert(0, REPO)
        from runtime.decode import decode_image as _rt_decode  # type: ignore
        from runtime.hashing import project as _rt_project  # type: ignore
        from runtime.resize import resize_rgb as _rt_resize  # type: ignore
        from runtime.tensor import normalise as _rt_normalise  # type: ignore
    HAVE_RUNTIME = True
except Exception:  # pragma: no cover - runtime not written yet
    HAVE_RUNTIME = False


def decode_pil(im: Image.Image) -> np.ndarray:
    """RGB8 of an in-memory (already oriented) PIL image."""
    return np.asarray(im.convert("RGB"))


def decode_file(path) -> np.ndarray:
    if HAVE_RUNTIME:
        return _rt_decode(path).rgb
    im = Image.open(path)
    im = ImageOps.exif_transpose(im)
    return np.asarray(im.convert("RGB"))


def resize360(rgb: np.ndarray) -> np.ndarray:
    if HAVE_RUNTIME:
        return _rt_resize(rgb, SIZE)
    h, w = rgb.shape[:2]
    im = Image.fromarray(np.ascontiguousarray(rgb))
    if w != SIZE:
        im = im.resize((SIZE, h), Image.BICUBIC)
    if h != SIZE:
        im = im.resize((SIZE, SIZE), Image.BICUBIC)
    return np.asarray(im)


_TABLE = ((np.arange(256, dtype=np.float32) / np.float32(255.0)) * np.float32(2.0)
          - np.float32(1.0))


def normalise_nhwc(rgb360: np.ndarray) -> np.ndarray:
    """360x360x3 uint8 (or a batch) -> float32 NHWC in [-1, 1] (spec step 4 values)."""
    a = rgb360 if rgb360.ndim == 4 else rgb360[None]
    return _TABLE[a]


def project(seed: np.ndarray, emb: np.ndarray) -> np.ndarray:
    if HAVE_RUNTIME:
        return _rt_project(seed, emb)
    s = seed.astype(np.float64)
    e = np.atleast_2d(emb.astype(np.float32).astype(np.float64))
    acc = np.zeros((e.shape[0], 96))
    for j in range(128):
        acc += e[:, j:j + 1] * s[None, :, j]
    return acc if emb.ndim == 2 else acc[0]
