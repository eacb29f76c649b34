"""Spec steps 6-7: embedding -> projections -> bits -> hex, Hamming distance, fragile bits.

These are exact functions of the embedding, so every language must agree bit for bit; the
shared vectors check that."""

from __future__ import annotations

import re

import numpy as np

from .errors import ValueFormatError
from .spec import EMBEDDING_DIM, HASH_BITS

HEX_DIGITS = HASH_BITS // 4
_HEX_RE = re.compile(rf"^[0-9a-fA-F]{{{HEX_DIGITS}}}$")


def project(seed: np.ndarray, embedding: np.ndarray) -> np.ndarray:
    """p[i] = sum_j S[i,j]*e[j] in float64, added strictly left to right over j.

    Why a loop and not `seed @ e`: BLAS and numpy's pairwise summation reorder the additions,
    and float64 addition is not associative; Swift and Java add in index order, so must we.
    Vectorised over the 96 rows (and a batch), the loop over 128 columns is still cheap.
    Accepts one embedding [128] or a batch [N, 128]; returns [96] or [N, 96]."""
    s = np.asarray(seed, dtype=np.float32).astype(np.float64)
    e = np.asarray(embedding, dtype=np.float32).astype(np.float64)
    if s.shape != (HASH_BITS, EMBEDDING_DIM):
        raise ValueError(f"seed must be {HASH_BITS}x{EMBEDDING_DIM}, got {s.shape}")
    single = e.ndim == 1
    e2 = e[None, :] if single else e
    if e2.ndim != 2 or e2.shape[1] != EMBEDDING_DIM:
        raise ValueError(f"embedding must have {EMBEDDING_DIM} values, got shape {e.shape}")
    acc = np.zeros((e2.shape[0], HASH_BITS), dtype=np.float64)
    for j in range(EMBEDDING_DIM):
        acc += e2[:, j : j + 1] * s[None, :, j]
    if not np.isfinite(acc).all():
        raise ValueError("projections are not finite (the model produced NaN or infinity)")
    return acc[0] if single else acc


def bits_from_projections(projections: np.ndarray) -> np.ndarray:
    """bit i = 1 iff p[i] >= 0 (so -0.0 gives 1). Returns uint8 0/1 of the same shape."""
    p = np.asarray(projections, dtype=np.float64)
    if np.isnan(p).any():
        raise ValueError("projection is NaN")
    return (p >= 0.0).astype(np.uint8)


def bits_to_hex(bits: np.ndarray) -> str:
    """96 bits, bit 0 most significant -> 24 lowercase hex digits."""
    b = np.asarray(bits, dtype=np.uint8).ravel()
    if b.size != HASH_BITS or np.any(b > 1):
        raise ValueError(f"expected {HASH_BITS} bits of 0/1, got {b.size} values")
    return np.packbits(b).tobytes().hex()


def hex_to_bits(text: str) -> np.ndarray:
    """Parse exactly 24 hex digits (either case) into 96 bits; anything else is a
    ValueFormatError (a ValueError)."""
    if not isinstance(text, str) or not _HEX_RE.match(text):
        raise ValueFormatError(
            f"not a {HASH_BITS}-bit hash: expected exactly {HEX_DIGITS} hex digits, got {text!r}"
        )
    return np.unpackbits(np.frombuffer(bytes.fromhex(text), dtype=np.uint8))


def normalise_hex(text: str) -> str:
    """Validate and lower-case a hash string."""
    hex_to_bits(text)
    return text.lower()


def hamming(a: str | np.ndarray, b: str | np.ndarray) -> int:
    """Number of differing bits between two hashes (hex strings or bit arrays)."""
    ba = hex_to_bits(a) if isinstance(a, str) else np.asarray(a, dtype=np.uint8).ravel()
    bb = hex_to_bits(b) if isinstance(b, str) else np.asarray(b, dtype=np.uint8).ravel()
    if ba.size != HASH_BITS or bb.size != HASH_BITS:
        raise ValueError(f"hashes must have {HASH_BITS} bits")
    return int(np.count_nonzero(ba != bb))


def fragile_mask(projections: np.ndarray, margin: float) -> np.ndarray:
    """True where |p[i]| < margin: the bits most likely to flip under fp16, int8 or a re-encode."""
    if not (margin >= 0.0):
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    return np.abs(np.asarray(projections, dtype=np.float64)) < margin
