"""Comparing hashes with reference hashes: bit flips, flips outside the fragile mask, verdict.

The one implementation behind `nhkit golden check`, the pytest `golden_hashes` fixture and the
exporter's drift measurement, so the three can never disagree about whether a result is "the
same". A flip is *non-fragile* when the reference projection of that bit was at least the
spec's fragile margin away from zero: hardware rounding flips bits near zero; a flip far from
zero means the model computed something else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """How far a result may be from the golden hash and still pass.

    `hamming` applies to lossless cases, `lossy_hamming` to lossy ones, `nonfragile_flips` is
    how many of a lossless case's flipped bits may lie outside the fragile mask (None: any).
    `source` says where the numbers came from, because a check must state its tolerance."""

    hamming: int
    lossy_hamming: int
    nonfragile_flips: int | None = 0
    source: str = "defaults"

    def allowed(self, lossless: bool) -> int:
        """The Hamming distance allowed for a lossless or a lossy case."""
        return self.hamming if lossless else self.lossy_hamming

    def describe(self) -> str:
        nf = "any" if self.nonfragile_flips is None else str(self.nonfragile_flips)
        return (
            f"lossless <= {self.hamming} bits, lossy <= {self.lossy_hamming} bits, "
            f"non-fragile flips <= {nf} (from {self.source})"
        )


@dataclass(frozen=True)
class BitFlips:
    """Hashes against reference hashes, bit by bit; one hash ([96]) or a batch ([N,96]).

    `flipped` and `fragile` are bool arrays of the bits' shape: which bits differ, and which
    lie inside the reference's fragile mask."""

    flipped: np.ndarray
    fragile: np.ndarray

    @property
    def nonfragile_mask(self) -> np.ndarray:
        return self.flipped & ~self.fragile

    @property
    def hamming(self) -> np.ndarray:
        """Flipped bits per hash (int64; a 0-d array for a single hash)."""
        return self.flipped.sum(axis=-1).astype(np.int64)

    @property
    def nonfragile(self) -> np.ndarray:
        """Flipped bits outside the fragile mask, per hash."""
        return self.nonfragile_mask.sum(axis=-1).astype(np.int64)

    @property
    def fragile_flips(self) -> np.ndarray:
        """Flipped bits inside the fragile mask, per hash."""
        return (self.flipped & self.fragile).sum(axis=-1).astype(np.int64)

    def indices(self) -> list[int]:
        """Indices of the flipped bits of a single hash, ascending."""
        return [int(i) for i in np.flatnonzero(self.flipped)]

    def nonfragile_indices(self) -> list[int]:
        """Indices of a single hash's flipped bits outside the fragile mask, ascending."""
        return [int(i) for i in np.flatnonzero(self.nonfragile_mask)]


def compare_bits(reference: np.ndarray, candidate: np.ndarray, fragile: np.ndarray) -> BitFlips:
    """Compare bit arrays (0/1, shape [96] or [N,96]) with the reference's fragile mask."""
    ref = np.asarray(reference)
    cand = np.asarray(candidate)
    mask = np.asarray(fragile, dtype=bool)
    if ref.shape != cand.shape or mask.shape != ref.shape:
        raise ValueError(
            f"bit arrays differ in shape: reference {ref.shape}, candidate "
            f"{cand.shape}, fragile {mask.shape}"
        )
    return BitFlips(flipped=ref != cand, fragile=mask)


@dataclass(frozen=True)
class Verdict:
    """One hash judged against its reference under a tolerance.

    Two independent limits: the Hamming distance (`over_hamming`) and, for lossless cases, the
    flips outside the fragile mask (`over_nonfragile`). A caller that reports one reason names
    the first; one that reports all lists both."""

    flips: BitFlips
    lossless: bool
    allowed: int
    nonfragile_allowed: int | None
    over_hamming: bool
    over_nonfragile: bool

    @property
    def hamming(self) -> int:
        return int(self.flips.hamming)

    @property
    def nonfragile(self) -> int:
        return int(self.flips.nonfragile)

    @property
    def passed(self) -> bool:
        return not (self.over_hamming or self.over_nonfragile)


def judge(
    reference: np.ndarray,
    candidate: np.ndarray,
    fragile: np.ndarray,
    *,
    lossless: bool,
    tolerance: Tolerance,
) -> Verdict:
    """Judge one hash's bits against the reference bits: within `tolerance.allowed(lossless)`
    bits, and (lossless only) at most `tolerance.nonfragile_flips` flips outside the mask."""
    flips = compare_bits(reference, candidate, fragile)
    allowed = tolerance.allowed(lossless)
    nf_allowed = tolerance.nonfragile_flips
    return Verdict(
        flips=flips,
        lossless=lossless,
        allowed=allowed,
        nonfragile_allowed=nf_allowed,
        over_hamming=int(flips.hamming) > allowed,
        over_nonfragile=(
            lossless and nf_allowed is not None and int(flips.nonfragile) > nf_allowed
        ),
    )
