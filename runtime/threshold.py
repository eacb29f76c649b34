"""Threshold maths: Hamming-distance distributions of negative (distinct-image) and positive
(edited-copy) pairs, and the thresholds they support at zero or a chosen false-positive rate.

Why exact counts and not fitted curves: a threshold is only worth what the pairs behind it
prove. With P negative pairs the smallest non-zero false-positive rate one can observe is 1/P;
a target below that cannot be resolved, and the report says so instead of extrapolating a tail.
Everything here works on 97-bin histograms (distances 0..96) of exact pair counts, so a set of
a few hundred images (tens of thousands of pairs) costs nothing and the numbers are exact.

A hit is `distance <= T` (docs/hashlist-format.md). So at threshold T the false positives are
the negative pairs with distance <= T, and the true-positive rate of an edit is the share of its
(original, edited) pairs with distance <= T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import NhkitError
from .spec import HASH_BITS

N_BINS = HASH_BITS + 1  # distances 0..96


def pairwise_distances(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Hamming distances between rows of bit matrices (0/1, shape [N, 96]).

    With only `a`: the N*(N-1)/2 distances of distinct rows i < j (all unordered pairs).
    With `b` (same N): the N*(N-1) distances a[i] vs b[j] for i != j (ordered cross pairs,
    e.g. device hash of image i against server hash of image j)."""
    x = np.asarray(a, dtype=np.int32)
    if x.ndim != 2 or x.shape[1] != HASH_BITS:
        raise ValueError(f"expected a [N, {HASH_BITS}] bit matrix, got shape {x.shape}")
    if b is None:
        d = x.sum(1)[:, None] + x.sum(1)[None, :] - 2 * (x @ x.T)
        iu = np.triu_indices(x.shape[0], 1)
        return d[iu].astype(np.int64)
    y = np.asarray(b, dtype=np.int32)
    if y.shape != x.shape:
        raise ValueError(f"cross pairs need matrices of one shape, got {x.shape} and {y.shape}")
    d = x.sum(1)[:, None] + y.sum(1)[None, :] - 2 * (x @ y.T)
    return d[~np.eye(x.shape[0], dtype=bool)].astype(np.int64)


def histogram(distances: np.ndarray) -> np.ndarray:
    """Exact count of pairs at each distance 0..96."""
    d = np.asarray(distances, dtype=np.int64).ravel()
    if d.size and (d.min() < 0 or d.max() > HASH_BITS):
        raise ValueError(f"distances must lie in 0..{HASH_BITS}")
    return np.bincount(d, minlength=N_BINS).astype(np.int64)


def quantile(hist: np.ndarray, q: float) -> int:
    """The smallest distance d with at least a fraction q of the pairs at distance <= d
    (inverted CDF: always an observed distance, never an interpolation between two)."""
    h = np.asarray(hist, dtype=np.int64)
    total = int(h.sum())
    if total == 0:
        raise ValueError("no pairs")
    need = max(1, math.ceil(q * total - 1e-9))
    return int(np.searchsorted(np.cumsum(h), need))


@dataclass(frozen=True)
class Distribution:
    """Summary of a distance histogram, as the report and the model card print it."""

    pairs: int
    min: int
    p0_1: int
    p1: int
    p5: int
    median: int
    mean: float
    p99: int
    max: int
    histogram: list[int]

    @classmethod
    def of(cls, hist: np.ndarray) -> Distribution:
        h = np.asarray(hist, dtype=np.int64)
        total = int(h.sum())
        if total == 0:
            raise ValueError("no pairs")
        nz = np.flatnonzero(h)
        return cls(
            pairs=total,
            min=int(nz[0]),
            p0_1=quantile(h, 0.001),
            p1=quantile(h, 0.01),
            p5=quantile(h, 0.05),
            median=quantile(h, 0.5),
            mean=float((h * np.arange(h.size)).sum() / total),
            p99=quantile(h, 0.99),
            max=int(nz[-1]),
            histogram=[int(v) for v in h],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "min": self.min,
            "p0_1": self.p0_1,
            "p1": self.p1,
            "p5": self.p5,
            "median": self.median,
            "mean": round(self.mean, 4),
            "p99": self.p99,
            "max": self.max,
            "histogram": self.histogram,
        }


@dataclass(frozen=True)
class ThresholdChoice:
    """The largest threshold whose observed false-positive rate is at most `target_fpr`."""

    criterion: str  # "zero-fp" or "fpr<=X" (docs/hashlist-format.md)
    target_fpr: float
    threshold: int | None  # None: no threshold meets the target (a distinct pair at 0)
    false_positives: int  # negative pairs with distance <= threshold
    pairs: int
    fpr: float  # false_positives / pairs
    resolvable: bool  # target_fpr >= 1/pairs: the data can tell this rate from zero
    fpr_upper95: float  # one-sided 95% upper bound on the true rate at this threshold
    note: str

    def to_json(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "target_fpr": self.target_fpr,
            "threshold": self.threshold,
            "false_positives": self.false_positives,
            "pairs": self.pairs,
            "fpr": self.fpr,
            "resolvable": self.resolvable,
            "fpr_upper95": self.fpr_upper95,
            "note": self.note,
        }


def criterion_name(target_fpr: float) -> str:
    return "zero-fp" if target_fpr == 0 else f"fpr<={target_fpr:g}"


def _upper95(k: int, n: int) -> float:
    """One-sided 95% Clopper-Pearson upper bound on a rate seen k times in n trials.

    Why our own: it is a one-liner for k = 0 (1 - 0.05^(1/n), the 'rule of three' ~3/n) and a
    bisection on the binomial tail otherwise; scipy is not a runtime dependency."""
    if n <= 0:
        return 1.0
    if k == 0:
        return 1.0 - 0.05 ** (1.0 / n)
    if k >= n:
        return 1.0

    def tail(p: float) -> float:  # P[X <= k] for X ~ Binomial(n, p), summed in log space
        logs = [
            math.lgamma(n + 1)
            - math.lgamma(i + 1)
            - math.lgamma(n - i + 1)
            + i * math.log(p)
            + (n - i) * math.log1p(-p)
            for i in range(k + 1)
        ]
        m = max(logs)
        return math.exp(m) * sum(math.exp(v - m) for v in logs)

    lo, hi = k / n, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if tail(mid) > 0.05:
            lo = mid
        else:
            hi = mid
    return hi


def threshold_at(hist: np.ndarray, target_fpr: float) -> ThresholdChoice:
    """Largest T in 0..96 with (negative pairs at distance <= T) / pairs <= target_fpr.

    Ties are whole: every pair at distance T counts once T is reached, so the observed rate at
    the chosen T may be well below the target when the next distance holds many pairs."""
    if not (0.0 <= target_fpr < 1.0):
        raise NhkitError(f"false-positive rate must be in [0, 1), got {target_fpr!r}")
    h = np.asarray(hist, dtype=np.int64)
    pairs = int(h.sum())
    if pairs == 0:
        raise NhkitError("no negative pairs: need at least 2 distinct images")
    allowed = math.floor(target_fpr * pairs + 1e-9)
    cum = np.cumsum(h)
    ok = np.flatnonzero(cum <= allowed)
    resolvable = target_fpr == 0 or target_fpr * pairs >= 1
    crit = criterion_name(target_fpr)
    if ok.size == 0:
        return ThresholdChoice(
            crit,
            target_fpr,
            None,
            0,
            pairs,
            0.0,
            resolvable,
            1.0,
            f"no threshold meets {crit}: {int(h[0])} distinct pair(s) have identical hashes",
        )
    t = int(ok[-1])
    fp = int(cum[t])
    note = ""
    if not resolvable:
        note = (
            f"target {target_fpr:g} is below 1/{pairs} pairs = {1 / pairs:.2g}: not "
            "resolvable on this set, the zero-FP threshold is given instead"
        )
    return ThresholdChoice(
        crit, target_fpr, t, fp, pairs, fp / pairs, resolvable, _upper95(fp, pairs), note
    )


def true_positive_rate(hist: np.ndarray, threshold: int | None) -> float:
    """Share of positive pairs at distance <= threshold (0.0 for no threshold)."""
    h = np.asarray(hist, dtype=np.int64)
    total = int(h.sum())
    if total == 0:
        raise ValueError("no positive pairs")
    if threshold is None or threshold < 0:
        return 0.0
    return float(h[: min(threshold, HASH_BITS) + 1].sum() / total)


def tpr_curve(hist: np.ndarray) -> np.ndarray:
    """TPR (or FPR, for negatives) at every threshold 0..96."""
    h = np.asarray(hist, dtype=np.float64)
    return np.cumsum(h) / h.sum()


def parse_fpr_list(text: str) -> list[float]:
    """'1e-3,1e-4' -> [0.001, 0.0001]; each in (0, 1); errors name the bad item."""
    out = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        try:
            v = float(item)
        except ValueError:
            raise NhkitError(f"--fpr: {item!r} is not a number") from None
        if not (0.0 < v < 1.0):
            raise NhkitError(f"--fpr: {item} must be a rate between 0 and 1 (exclusive)")
        out.append(v)
    return sorted(set(out), reverse=True)
