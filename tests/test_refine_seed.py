"""training/refine_seed.py: the ITQ rotation of a seed, with its two constraints."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))

import refine_seed as rs  # noqa: E402
from train import make_seed_matrix  # noqa: E402


def _embeddings(n: int = 600, seed: int = 0) -> np.ndarray:
    """Clustered 128-d points off the origin: photos and their edited copies around them."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (n // 6, 128)) * np.linspace(2, 0.2, 128)
    points = np.repeat(centres, 6, axis=0) + rng.normal(0, 0.15, (n, 128))
    return (points + 0.8).astype(np.float32)  # a mean far from 0, as a trained net has


def test_rows_stay_orthonormal_and_orthogonal_to_the_mean() -> None:
    e = _embeddings()
    new = rs.itq(e, make_seed_matrix(), iterations=20)
    assert new.shape == (96, 128)
    assert np.allclose(new @ new.T, np.eye(96), atol=1e-5)
    assert np.abs(new @ e.mean(axis=0)).max() < 1e-4
    # so the projections are those of centred embeddings: no bit can be a constant
    balance = (e @ new.T >= 0).mean(axis=0)
    assert balance.min() > 0.1 and balance.max() < 0.9


def test_the_margin_grows_and_iterations_never_lower_it() -> None:
    e = _embeddings()
    start = rs.itq(e, make_seed_matrix(), iterations=0)  # the old seed, made admissible
    sums = [np.abs(e @ rs.itq(e, make_seed_matrix(), iterations=k).T).sum() for k in (0, 5, 20)]
    assert np.allclose(start, rs.itq(e, make_seed_matrix(), iterations=0))
    assert sums[0] <= sums[1] <= sums[2] and sums[2] > 1.05 * sums[0], sums


def test_complement_basis_spans_what_the_mean_does_not() -> None:
    mean = np.random.default_rng(3).normal(0, 1, 128)
    b = rs.complement_basis(mean)
    assert b.shape == (127, 128)
    assert np.allclose(b @ b.T, np.eye(127), atol=1e-10)
    assert np.abs(b @ mean).max() < 1e-9
