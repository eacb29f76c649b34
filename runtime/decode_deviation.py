"""Lossy self-test cases: how far a platform's own decoder moved the pixels (device reports).

Spec section "the same": a JPEG/HEIC decoded by the platform MAY differ in step 1, and its hash is
then judged within the bundle's lossy Hamming tolerance. A pass/fail verdict alone hides how far
the decoder is from the reference, so a bridge measures it for every lossy case, on the 360x360
resized bytes (what the model sees) against the bundle's reference ``<case>.rgb360``: the share of
the 388,800 samples that differ, the largest absolute difference, and the bits the hash flipped.
``nhkit golden check`` prints it. Bridges compute the same three numbers (Swift
``DecodeDeviation``, Java ``DecodeDeviation``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .hashing import hamming

__all__ = ["describe", "measure", "report_lines"]


def measure(
    device_rgb360: bytes | np.ndarray,
    reference_rgb360: bytes | np.ndarray,
    device_hash: str,
    expected_hash: str,
) -> dict[str, Any]:
    """The report's ``decode_deviation`` object for one case."""
    dev = np.frombuffer(bytes(device_rgb360), dtype=np.uint8)
    ref = np.frombuffer(bytes(reference_rgb360), dtype=np.uint8)
    if dev.shape != ref.shape:
        raise ValueError(f"resized bytes differ in length: {dev.size} vs {ref.size}")
    delta = np.abs(dev.astype(np.int16) - ref.astype(np.int16))
    return {
        "samples_differing": float(np.count_nonzero(delta)) / float(delta.size),
        "max_abs_delta": int(delta.max(initial=0)),
        "bits_flipped": hamming(device_hash, expected_hash),
    }


def describe(case_id: str, deviation: dict[str, Any] | None) -> str | None:
    """One line for people, or None when the report has no measurement for the case."""
    if not deviation:
        return None
    share = float(deviation["samples_differing"])
    return (
        f"{case_id}: decode deviation (lossy, platform decoder vs reference): "
        f"{share:.2%} of resized samples differ, max |delta| {deviation['max_abs_delta']}, "
        f"{deviation['bits_flipped']} bit(s) flipped"
    )


def report_lines(report: Any) -> list[str]:
    """The lines ``nhkit golden check`` prints for a DeviceReport's measured lossy cases."""
    lines = [describe(c.id, c.decode_deviation) for c in report.cases]
    return [line for line in lines if line]
