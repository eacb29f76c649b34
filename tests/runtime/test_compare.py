"""runtime/compare.py: the one verdict behind `golden check`, the pytest fixture and export."""

from __future__ import annotations

import numpy as np
import pytest

from nhkit.runtime.compare import Tolerance, compare_bits, judge

REF = np.zeros(96, np.uint8)
FRAGILE = np.zeros(96, bool)
FRAGILE[[1, 2, 3]] = True


def _flip(*bits: int) -> np.ndarray:
    out = REF.copy()
    out[list(bits)] = 1
    return out


def test_flips_and_nonfragile_counts() -> None:
    f = compare_bits(REF, _flip(1, 2, 50), FRAGILE)
    assert f.indices() == [1, 2, 50] and f.nonfragile_indices() == [50]
    assert (int(f.hamming), int(f.nonfragile), int(f.fragile_flips)) == (3, 1, 2)


def test_batch_counts_per_row() -> None:
    ref = np.stack([REF, REF])
    cand = np.stack([_flip(1), _flip(1, 60, 61)])
    f = compare_bits(ref, cand, np.stack([FRAGILE, FRAGILE]))
    assert f.hamming.tolist() == [1, 3] and f.nonfragile.tolist() == [0, 2]
    assert f.fragile_flips.tolist() == [1, 1]


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        compare_bits(REF, REF[:95], FRAGILE)


@pytest.mark.parametrize(
    "cand, lossless, tol, over_h, over_nf",
    [
        (_flip(1, 2), True, Tolerance(2, 6, 0), False, False),  # fragile flips within 2
        (_flip(1, 2, 3), True, Tolerance(2, 6, 0), True, False),  # 3 > 2
        (_flip(40), True, Tolerance(2, 6, 0), False, True),  # a non-fragile flip
        (_flip(40), True, Tolerance(2, 6, None), False, False),  # None: any non-fragile flips
        (_flip(40, 41), True, Tolerance(2, 6, 1), False, True),  # 2 non-fragile > 1
        (_flip(40, 41, 42), True, Tolerance(2, 6, 0), True, True),  # both limits
        (_flip(40, 41, 42), False, Tolerance(2, 6, 0), False, False),  # lossy: 3 <= 6, no mask
        (_flip(*range(7)), False, Tolerance(2, 6, 0), True, False),
    ],
)
def test_verdict(cand, lossless, tol, over_h, over_nf) -> None:
    v = judge(REF, cand, FRAGILE, lossless=lossless, tolerance=tol)
    assert (v.over_hamming, v.over_nonfragile) == (over_h, over_nf)
    assert v.passed == (not over_h and not over_nf)
    assert v.allowed == tol.allowed(lossless) and v.hamming == int(cand.sum())
