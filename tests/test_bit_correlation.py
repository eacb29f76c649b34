"""training/bit_correlation.py tells independent bits from bits that move together: the measure
behind "What fifteen phases show" in training/README.md."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

from bit_correlation import bit_statistics  # noqa: E402


def test_independent_bits_look_binomial() -> None:
    bits = np.random.default_rng(1).integers(0, 2, size=(2000, 96), dtype=np.uint8)
    s = bit_statistics(bits)
    assert s["effective_bits"] > 90
    assert abs(s["distinct_sd"] - s["binomial_sd"]) < 0.1
    assert s["corr_rms_off_diagonal"] < 1.5 * s["corr_noise_floor"]


def test_bits_that_move_together_are_counted_as_fewer() -> None:
    rng = np.random.default_rng(2)
    base = rng.integers(0, 2, size=(2000, 24), dtype=np.uint8)
    bits = np.repeat(base, 4, axis=1)  # 96 bits, 24 independent ones, each copied four times
    s = bit_statistics(bits)
    assert 20 < s["effective_bits"] < 28
    assert s["distinct_sd"] > 1.8 * s["binomial_sd"]
    assert s["eigen_top3"][0] > 3.5
