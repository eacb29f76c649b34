"""The one interface every inference engine implements: a batch of tensors in, embeddings out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class EmbeddingBackend(Protocol):
    """An engine that maps preprocessed images to 128-float embeddings.

    `embed` always receives the canonical NCHW float32 batch [N,3,360,360] of spec step 4 and
    returns float32 [N,128]; a backend whose model wants NHWC or int8 converts internally, so
    the Hasher never needs to know. `describe()` feeds device-style reports."""

    name: str

    def embed(self, batch: np.ndarray) -> np.ndarray: ...

    def describe(self) -> dict[str, object]: ...


def check_batch(batch: np.ndarray) -> np.ndarray:
    """Validate a canonical batch and return it as contiguous float32."""
    b = np.asarray(batch)
    if b.ndim != 4 or b.shape[1:] != (3, 360, 360):
        raise ValueError(f"expected a float32 batch [N,3,360,360], got {b.shape}")
    return np.ascontiguousarray(b, dtype=np.float32)


def check_embeddings(out: np.ndarray, n: int, source: str) -> np.ndarray:
    """Validate a backend's output shape [N,128] so a wrong model fails loudly, not silently."""
    e = np.asarray(out, dtype=np.float32)
    if e.ndim != 2:
        e = e.reshape(n, -1) if e.size % max(n, 1) == 0 else e
    if e.shape != (n, 128):
        raise ValueError(f"{source}: expected embeddings of shape ({n}, 128), got {e.shape}")
    return e
