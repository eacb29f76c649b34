"""Floats as IEEE-754 bit patterns in hex: the only float encoding that survives JSON in every
language bit for bit (decimal round-trips differ between printers)."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Sequence

import numpy as np

from .errors import ValueFormatError

_HEX8 = re.compile(r"^[0-9a-f]{8}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")


def f32_to_hex(values: Iterable[float] | np.ndarray) -> list[str]:
    """float32 values -> 8-digit big-endian bit patterns, e.g. 1.0 -> '3f800000'."""
    arr = np.asarray(values, dtype=np.float32).ravel()
    return [f"{int(b):08x}" for b in arr.view(np.uint32)]


def f64_to_hex(values: Iterable[float] | np.ndarray) -> list[str]:
    """float64 values -> 16-digit big-endian bit patterns, e.g. 1.0 -> '3ff0000000000000'."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    return [f"{int(b):016x}" for b in arr.view(np.uint64)]


def hex_to_f32(items: Sequence[str], *, what: str = "value") -> np.ndarray:
    """Inverse of f32_to_hex; a malformed item raises ValueError naming `what` and its index."""
    out = np.empty(len(items), dtype=np.uint32)
    for i, s in enumerate(items):
        if not isinstance(s, str) or not _HEX8.match(s):
            raise ValueFormatError(f"{what}[{i}]: expected 8 lowercase hex digits, got {s!r}")
        out[i] = int(s, 16)
    return out.view(np.float32)


def hex_to_f64(items: Sequence[str], *, what: str = "value") -> np.ndarray:
    """Inverse of f64_to_hex; a malformed item raises ValueError naming `what` and its index."""
    out = np.empty(len(items), dtype=np.uint64)
    for i, s in enumerate(items):
        if not isinstance(s, str) or not _HEX16.match(s):
            raise ValueFormatError(f"{what}[{i}]: expected 16 lowercase hex digits, got {s!r}")
        out[i] = int(s, 16)
    return out.view(np.float64)


def f32_bits(x: float) -> str:
    """One float32 bit pattern (convenience for vectors and messages)."""
    return struct.pack(">f", x).hex()
