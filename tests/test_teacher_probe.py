"""training/teacher_probe.py reduces a pretrained network's features to the hash's 128 inputs
by a PCA; its map must centre them and give each kept direction the scale the probe claims
(unit variance when whitened, RMS 1 over the kept directions otherwise, as to_onnx's head scale
gives the shipped models), or its rows do not compare with the shipped model's."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

from teacher_probe import pca_map  # noqa: E402


def test_pca_map_centres_and_scales_the_kept_directions() -> None:
    rng = np.random.default_rng(5)
    scales = np.geomspace(5.0, 0.1, 40)  # the 8th direction has half the first one's spread
    f = rng.normal(size=(500, 40)) * scales + 3.0
    mean, comp = pca_map(f, 8, whiten=True)
    z = (f - mean) @ comp.T
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(z.var(0), 1, rtol=1e-6)
    assert np.allclose(np.corrcoef(z.T), np.eye(8), atol=1e-6)
    mean, comp = pca_map(f, 8, whiten=False)
    z = (f - mean) @ comp.T
    np.testing.assert_allclose(np.sqrt(np.mean(z**2)), 1, rtol=1e-6)
    assert z[:, 0].var() > 3 * z[:, 7].var()  # not whitened: the leading direction keeps its lead
