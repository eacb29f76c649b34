"""training/standardize.py: the probe's per-image input standardization."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))

import standardize as st  # noqa: E402


def _photos(n: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.6, 0.4, (n, 3, 8, 8)).astype(np.float32)


def test_an_unclipped_brightness_or_contrast_edit_leaves_the_input_unchanged() -> None:
    x = _photos()
    target = (np.full((1, 1, 1, 1), 0.1), np.full((1, 1, 1, 1), 0.3))
    base = st.standardize(x, "global", target)
    # brightness x1.2 on [0, 1] pixels is x -> 1.2 x + 0.2 on [-1, 1]; contrast 0.8 shrinks
    for edited in (1.2 * x + 0.2, 0.8 * x - 0.05):
        assert np.allclose(st.standardize(edited, "global", target), base, atol=1e-5)
    m, s = st.moments(base, "global")
    assert np.allclose(m, 0.1, atol=1e-5) and np.allclose(s, 0.3, atol=1e-5)


def test_channel_mode_removes_a_colour_cast_global_mode_keeps_it() -> None:
    x = _photos(seed=1)
    cast = x + np.array([0.2, 0.0, -0.1], np.float32)[None, :, None, None]
    t = (np.zeros((1, 3, 1, 1)), np.full((1, 3, 1, 1), 0.25))
    assert np.allclose(
        st.standardize(cast, "channel", t), st.standardize(x, "channel", t), atol=1e-5
    )
    g = (np.zeros((1, 1, 1, 1)), np.full((1, 1, 1, 1), 0.25))
    assert not np.allclose(st.standardize(cast, "global", g), st.standardize(x, "global", g))


def test_plain_is_the_input_itself_and_the_output_stays_in_range() -> None:
    x = _photos(seed=2)
    assert st.standardize(x, "plain", None) is x
    wide = (np.zeros((1, 1, 1, 1)), np.full((1, 1, 1, 1), 5.0))
    out = st.standardize(x, "global", wide)
    assert out.min() >= -1.0 and out.max() <= 1.0
    with pytest.raises(ValueError, match="unknown standardization"):
        st.standardize(x, "luma", wide)


def test_a_flat_image_becomes_the_target_mean_not_stretched_noise() -> None:
    flat = np.full((1, 3, 8, 8), 0.5, np.float32)
    flat[0, 0, 0, 0] += 1e-5  # rounding noise
    t = (np.full((1, 1, 1, 1), -0.1), np.full((1, 1, 1, 1), 0.4))
    out = st.standardize(flat, "global", t)
    assert np.allclose(out, -0.1, atol=0.01)
