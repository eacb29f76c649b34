"""Threshold maths on synthetic distance sets: exact zero-FP and FPR thresholds, ties, targets
below the set's resolution, quantiles and the rate bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nhkit.runtime.errors import NhkitError
from nhkit.runtime.threshold import (
    Distribution,
    _upper95,
    histogram,
    pairwise_distances,
    parse_fpr_list,
    quantile,
    threshold_at,
    tpr_curve,
    true_positive_rate,
)


def hist_of(counts: dict[int, int]) -> np.ndarray:
    h = np.zeros(97, dtype=np.int64)
    for d, c in counts.items():
        h[d] = c
    return h


def test_pairwise_and_cross_distances_are_brute_force(rng):
    a = rng.integers(0, 2, (9, 96), dtype=np.uint8)
    b = rng.integers(0, 2, (9, 96), dtype=np.uint8)
    pairs = pairwise_distances(a)
    want = [int(np.count_nonzero(a[i] != a[j])) for i in range(9) for j in range(i + 1, 9)]
    assert pairs.tolist() == want and len(pairs) == 36
    cross = pairwise_distances(a, b)
    want = [int(np.count_nonzero(a[i] != b[j])) for i in range(9) for j in range(9) if i != j]
    assert cross.tolist() == want and len(cross) == 72
    with pytest.raises(ValueError):
        pairwise_distances(a[:, :95])


def test_zero_fp_threshold_is_one_below_the_closest_pair():
    c = threshold_at(hist_of({13: 1, 20: 5, 48: 994}), 0.0)
    assert (c.threshold, c.false_positives, c.pairs, c.fpr) == (12, 0, 1000, 0.0)
    assert c.criterion == "zero-fp" and c.resolvable and c.note == ""
    assert c.fpr_upper95 == pytest.approx(1 - 0.05 ** (1 / 1000))  # ~ 3/1000, rule of three


def test_identical_distinct_hashes_leave_no_threshold():
    c = threshold_at(hist_of({0: 2, 40: 98}), 0.0)
    assert c.threshold is None and "2 distinct pair(s) have identical hashes" in c.note
    assert true_positive_rate(hist_of({0: 5}), c.threshold) == 0.0


def test_fpr_threshold_counts_exactly():
    h = hist_of({10: 3, 12: 5, 40: 9992})  # 10,000 pairs
    c = threshold_at(h, 1e-3)  # 10 false positives allowed: 8 reached at 12, 9992 at 40
    assert (c.threshold, c.false_positives, c.fpr) == (39, 8, 8e-4)
    assert c.criterion == "fpr<=0.001" and c.resolvable
    c = threshold_at(h, 5e-4)  # 5 allowed: the 5 pairs at 12 would make 8
    assert (c.threshold, c.false_positives) == (11, 3)
    assert c.fpr_upper95 > 3 / 10000


def test_a_tie_is_counted_whole():
    c = threshold_at(hist_of({15: 20, 50: 980}), 0.01)  # 10 allowed, 20 tied at 15
    assert (c.threshold, c.false_positives) == (14, 0)


def test_a_target_below_one_over_pairs_is_not_resolvable():
    h = hist_of({20: 1, 45: 99})
    c = threshold_at(h, 1e-3)
    assert not c.resolvable and c.threshold == 19 == threshold_at(h, 0).threshold
    assert "below 1/100 pairs" in c.note and "not resolvable" in c.note


def test_bad_targets_and_no_pairs_are_errors():
    with pytest.raises(NhkitError, match="false-positive rate"):
        threshold_at(hist_of({40: 3}), 1.5)
    with pytest.raises(NhkitError, match="at least 2 distinct images"):
        threshold_at(np.zeros(97, np.int64), 0.0)
    with pytest.raises(NhkitError, match="'x' is not a number"):
        parse_fpr_list("1e-3,x")
    with pytest.raises(NhkitError, match="between 0 and 1"):
        parse_fpr_list("0")
    assert parse_fpr_list("1e-4, 1e-3,1e-3") == [1e-3, 1e-4]


def test_quantiles_are_observed_distances():
    h = histogram(np.array([5] * 1 + [30] * 998 + [60] * 1))
    assert quantile(h, 0.001) == 5 and quantile(h, 0.5) == 30 and quantile(h, 0.9995) == 60
    d = Distribution.of(h)
    assert (d.pairs, d.min, d.p0_1, d.p1, d.median, d.p99, d.max) == (1000, 5, 5, 30, 30, 30, 60)
    assert d.mean == pytest.approx(30.005) and sum(d.histogram) == 1000
    with pytest.raises(ValueError):
        histogram(np.array([97]))


def test_true_positive_rate_and_curve():
    h = hist_of({0: 2, 3: 1, 12: 1})
    assert true_positive_rate(h, 0) == 0.5 and true_positive_rate(h, 11) == 0.75
    assert true_positive_rate(h, 12) == 1.0 and true_positive_rate(h, 500) == 1.0
    curve = tpr_curve(h)
    assert curve[2] == 0.5 and curve[96] == 1.0


def test_upper_bound_is_clopper_pearson():
    # One-sided 95% Clopper-Pearson for 1 of 10: (1-p)^10 + 10 p (1-p)^9 = 0.05 at p ~ 0.3942
    p = _upper95(1, 10)
    assert p == pytest.approx(0.3942, abs=1e-4)
    assert (1 - p) ** 10 + 10 * p * (1 - p) ** 9 == pytest.approx(0.05, abs=1e-9)
    assert _upper95(0, 1000) == pytest.approx(1 - math.exp(math.log(0.05) / 1000))
    assert _upper95(5, 5) == 1.0
