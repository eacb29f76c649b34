"""Per-image input standardization: each photo's tensor shifted and scaled to a fixed mean and
spread before the network sees it, so that a brightness or contrast edit, which is an affine
map of the [-1, 1] pixels until it clips (brightness x1.2: x -> 1.2 x + 0.2), leaves the input
almost unchanged. A candidate lever for the photometric edits v3 still misses; this module is
the probe's version (numpy, in front of onnxruntime), not yet a graph op or an export.

Modes: `global` (one mean and one standard deviation over the whole tensor: brightness and
contrast), `channel` (per colour channel: also a colour cast, at the cost of the photo's own
colour balance). The target is what a typical photo already has, so a network trained on plain
inputs sees inputs close to what it knows.
"""

from __future__ import annotations

import numpy as np

MODES = ("plain", "global", "channel")
EPS = 1e-3


def _axes(mode: str) -> tuple[int, ...]:
    if mode == "global":
        return (1, 2, 3)
    if mode == "channel":
        return (2, 3)
    raise ValueError(f"unknown standardization {mode!r}; known: {', '.join(MODES)}")


def moments(x: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-image mean and standard deviation of an N x 3 x H x W tensor, shaped to broadcast."""
    axes = _axes(mode)
    return x.mean(axis=axes, keepdims=True), x.std(axis=axes, keepdims=True)


def standardize(
    x: np.ndarray, mode: str, target: tuple[np.ndarray, np.ndarray] | None
) -> np.ndarray:
    """x with each image's moments moved to `target`; `plain` returns x itself. Clipped to
    [-1, 1], the range the spec's input has. A near-flat image (spread under EPS) is scaled
    as if its spread were EPS, so its noise is not stretched to a photo's contrast."""
    if mode == "plain":
        return x
    assert target is not None
    mean, std = moments(x, mode)
    out = (x - mean) / np.maximum(std, EPS) * target[1] + target[0]
    return np.clip(out, -1.0, 1.0).astype(np.float32)
