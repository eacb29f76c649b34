"""Seed matrices (spec step 8): NeuralHash `.dat` files and nhkit's headerless `seed.f32`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import SeedFileError
from .spec import EMBEDDING_DIM, HASH_BITS

DAT_HEADER_BYTES = 128
SEED_BYTES = HASH_BITS * EMBEDDING_DIM * 4
DAT_BYTES = DAT_HEADER_BYTES + SEED_BYTES


def parse_seed(data: bytes, *, source: str = "<seed>") -> np.ndarray:
    """Bytes of a `.dat` (49,280 B) or `.f32` (49,152 B) seed -> float32 [96, 128].

    The format is decided by size alone: the two sizes differ and nothing else is valid."""
    if len(data) == DAT_BYTES:
        payload = data[DAT_HEADER_BYTES:]
    elif len(data) == SEED_BYTES:
        payload = data
    else:
        raise SeedFileError(
            source,
            f"seed file has {len(data)} bytes; expected {DAT_BYTES} (NeuralHash .dat: "
            f"{DAT_HEADER_BYTES}-byte header + {HASH_BITS}x{EMBEDDING_DIM} float32) or "
            f"{SEED_BYTES} "
            "(nhkit seed.f32)",
        )
    seed = np.frombuffer(payload, dtype="<f4").astype(np.float32).reshape(HASH_BITS, EMBEDDING_DIM)
    bad = ~np.isfinite(seed)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise SeedFileError(
            source,
            f"seed holds {int(bad.sum())} non-finite values "
            f"(first at row {r}, column {c}: {seed[r, c]})",
        )
    seed.setflags(write=False)
    return seed


def load_seed(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a seed file; errors name the file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise SeedFileError(p, f"cannot read seed file: {exc.strerror or exc}") from None
    return parse_seed(data, source=str(p))


def seed_to_f32_bytes(seed: np.ndarray) -> bytes:
    """The canonical `seed.f32` bytes: row-major little-endian float32, no header."""
    arr = np.asarray(seed, dtype=np.float32)
    if arr.shape != (HASH_BITS, EMBEDDING_DIM):
        raise ValueError(f"seed must be {HASH_BITS}x{EMBEDDING_DIM}, got {arr.shape}")
    return arr.astype("<f4").tobytes()


def seed_to_dat_bytes(seed: np.ndarray, header: bytes = b"NHKITSEED v1") -> bytes:
    """NeuralHash `.dat` layout: a 128-byte header (padded with zeros) then the float32 matrix."""
    if len(header) > DAT_HEADER_BYTES:
        raise ValueError("header longer than 128 bytes")
    return header.ljust(DAT_HEADER_BYTES, b"\0") + seed_to_f32_bytes(seed)
