"""Spec step 4: 360x360 RGB8 -> float32 tensor, NCHW (canonical) or NHWC."""

from __future__ import annotations

from typing import Literal

import numpy as np

Layout = Literal["NCHW", "NHWC"]


def _normalise_table() -> np.ndarray:
    # float32 arithmetic, each operation rounded, exactly as the spec (and nnhash.py) computes it.
    v = np.arange(256, dtype=np.float32)
    t = (v / np.float32(255.0)) * np.float32(2.0) - np.float32(1.0)
    t.setflags(write=False)
    return t


NORMALISE_TABLE: np.ndarray = _normalise_table()


def normalise(rgb: np.ndarray, layout: Layout = "NCHW") -> np.ndarray:
    """HxWx3 (or NxHxWx3) uint8 -> float32 [N,3,H,W] (NCHW) or [N,H,W,3] (NHWC).

    A 256-entry lookup table is exact (it *is* the spec's arithmetic, tabulated) and ~5x faster
    than float math on the whole image."""
    a = np.asarray(rgb)
    if a.dtype != np.uint8 or a.shape[-1] != 3 or a.ndim not in (3, 4):
        raise ValueError(f"expected uint8 HxWx3 or NxHxWx3, got {a.dtype} {a.shape}")
    if a.ndim == 3:
        a = a[None]
    t = NORMALISE_TABLE[a]
    if layout == "NHWC":
        return np.ascontiguousarray(t)
    if layout == "NCHW":
        return np.ascontiguousarray(t.transpose(0, 3, 1, 2))
    raise ValueError(f"layout must be NCHW or NHWC, got {layout!r}")


def to_layout(tensor: np.ndarray, src: Layout, dst: Layout) -> np.ndarray:
    """Permute a 4-d batch between NCHW and NHWC (values unchanged)."""
    if src == dst:
        return tensor
    if (src, dst) == ("NCHW", "NHWC"):
        return np.ascontiguousarray(tensor.transpose(0, 2, 3, 1))
    if (src, dst) == ("NHWC", "NCHW"):
        return np.ascontiguousarray(tensor.transpose(0, 3, 1, 2))
    raise ValueError(f"unknown layouts {src!r} -> {dst!r}")
