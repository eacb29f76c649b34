"""Test oracle for nh-spec-v1 step 3 (Resize): a slow, literal port of the spec text.

Written from docs/spec/nh-spec-v1.md section 3 alone; it shares no code with
runtime/resize.py (which uses Pillow) and deliberately stays close to the spec's pseudo-code:

* coefficients: plain Python floats (IEEE binary64, CPython never fuses a*b+c), one output
  sample at a time, in the order the spec writes the operations;
* accumulation: exact integers (numpy int64, vectorised over rows/columns and channels only),
  starting from 2^21, then an arithmetic shift right by 22 and a clamp to 0..255. The spec says
  32-bit: every accumulator is checked to stay inside the int32 range, so int64 gives the
  same bits;
* horizontal pass (clipped to uint8), then vertical; a pass is skipped when its axis already
  has the target length.
"""

from __future__ import annotations

import math

import numpy as np

SHIFT = 22
ROUNDING = 1 << 21  # 2^21, half of one unit after the shift
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def cubic(x: float) -> float:
    a = -0.5
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return 0.0


def axis_params(n_in: int, n_out: int) -> tuple[float, float, int, float]:
    """(scale, support, ksize, ss) for one axis."""
    scale = n_in / n_out
    filterscale = scale if scale > 1.0 else 1.0
    support = 2.0 * filterscale
    ksize = math.ceil(support) * 2 + 1
    ss = 1.0 / filterscale
    return scale, support, ksize, ss


def output_weights(n_in: int, n_out: int, o: int) -> tuple[int, list[int]]:
    """(xmin, k) for output sample o: k[i] multiplies input sample xmin + i."""
    scale, support, _, ss = axis_params(n_in, n_out)
    center = (o + 0.5) * scale
    xmin = math.trunc(center - support + 0.5)
    if xmin < 0:
        xmin = 0
    xmax = math.trunc(center + support + 0.5)
    if xmax > n_in:
        xmax = n_in
    count = xmax - xmin
    w = []
    for i in range(count):
        w.append(cubic(((xmin + i) - center + 0.5) * ss))
    ww = 0.0
    for i in range(count):
        ww = ww + w[i]
    if ww != 0.0:
        for i in range(count):
            w[i] = w[i] / ww
    k = []
    for i in range(count):
        if w[i] >= 0:
            k.append(math.trunc(w[i] * 2**22 + 0.5))
        else:
            k.append(math.trunc(w[i] * 2**22 - 0.5))
    return xmin, k


def axis_weights(n_in: int, n_out: int) -> list[tuple[int, list[int]]]:
    """Every output's (xmin, k) for one axis."""
    return [output_weights(n_in, n_out, o) for o in range(n_out)]


def _accumulate(lines: list[np.ndarray], k: list[int]) -> np.ndarray:
    """2^21 + sum_i lines[i] * k[i] (exact), shifted right by 22 and clamped to 0..255."""
    # The largest possible magnitude of any partial sum bounds every intermediate value.
    assert ROUNDING + 255 * sum(abs(c) for c in k) <= INT32_MAX, "32-bit accumulator overflow"
    acc = np.full(lines[0].shape if lines else (), ROUNDING, dtype=np.int64)
    for line, c in zip(lines, k):
        acc = acc + line.astype(np.int64) * c
    return np.clip(acc >> SHIFT, 0, 255).astype(np.uint8)  # numpy >> on int64 is arithmetic


def horizontal(img: np.ndarray, n_out: int) -> np.ndarray:
    h, w, c = img.shape
    out = np.zeros((h, n_out, c), dtype=np.uint8)
    for o, (xmin, k) in enumerate(axis_weights(w, n_out)):
        if not k:  # count 0: the sum is just the rounding term
            out[:, o, :] = np.clip(ROUNDING >> SHIFT, 0, 255)
            continue
        out[:, o, :] = _accumulate([img[:, xmin + i, :] for i in range(len(k))], k)
    return out


def vertical(img: np.ndarray, n_out: int) -> np.ndarray:
    h, w, c = img.shape
    out = np.zeros((n_out, w, c), dtype=np.uint8)
    for o, (ymin, k) in enumerate(axis_weights(h, n_out)):
        if not k:
            out[o, :, :] = np.clip(ROUNDING >> SHIFT, 0, 255)
            continue
        out[o, :, :] = _accumulate([img[ymin + i, :, :] for i in range(len(k))], k)
    return out


def resize(rgb: np.ndarray, size: int = 360) -> np.ndarray:
    """H x W x 3 uint8 -> size x size x 3 uint8, horizontal pass first, then vertical."""
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8
    img = np.array(rgb, dtype=np.uint8)
    if img.shape[1] != size:
        img = horizontal(img, size)
    if img.shape[0] != size:
        img = vertical(img, size)
    return img
