"""The edit suite: deterministic, seeded where random, sizes as described, one home."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nhkit.runtime.edits import EDITS, SUITES, apply_edit, edit_seed, get_edit, suite
from nhkit.runtime.errors import NhkitError


@pytest.fixture(scope="module")
def image() -> Image.Image:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:80, 0:100]
    a = np.stack([x * 2.5, y * 3.0, (x + y) * 1.4], -1) + rng.normal(0, 10, (80, 100, 3))
    return Image.fromarray(a.clip(0, 255).astype(np.uint8))


def test_every_edit_is_deterministic_rgb_and_changes_the_image(image):
    for e in suite("all"):
        a = apply_edit(e, image, 42)
        b = apply_edit(e, image.copy(), 42)
        assert a.mode == "RGB", e.name
        assert a.size == b.size and a.tobytes() == b.tobytes(), e.name
        assert a.size != image.size or a.tobytes() != image.tobytes(), e.name


def test_noise_follows_the_seed_and_only_the_seed(image):
    noise = get_edit("noise_s8")
    assert apply_edit(noise, image, 1).tobytes() != apply_edit(noise, image, 2).tobytes()
    assert edit_seed("a/b.jpg") == edit_seed("a/b.jpg") != edit_seed("a/c.jpg")


def test_geometry_matches_the_descriptions(image):
    sizes = {
        n: apply_edit(get_edit(n), image, 0).size
        for n in ("down_0.5", "crop_5%", "crop_10%", "border_10%", "rotate_5", "hflip")
    }
    assert sizes == {
        "down_0.5": (50, 40),
        "crop_5%": (90, 72),
        "crop_10%": (80, 64),
        "border_10%": (120, 96),
        "rotate_5": (100, 80),
        "hflip": (100, 80),
    }
    flipped = np.asarray(apply_edit(get_edit("hflip"), image, 0))
    assert np.array_equal(flipped, np.asarray(image)[:, ::-1])


def test_default_suite_covers_the_everyday_edits_and_keeps_the_mirror_apart():
    names = [e.name for e in suite("default")]
    for want in (
        "jpeg_q50",
        "jpeg_q75",
        "down_0.5",
        "crop_5%",
        "crop_10%",
        "rotate_2",
        "rotate_5",
        "border_10%",
        "bright_1.2",
        "contrast_0.8",
        "saturation_0.5",
        "blur",
        "noise_s8",
        "watermark",
        "hflip",
    ):
        assert want in names
    assert [e.name for e in EDITS if e.group == "mirror"] == ["hflip"]
    assert set(SUITES["all"]) == {e.name for e in EDITS} and len(set(SUITES["all"])) == len(EDITS)
    with pytest.raises(NhkitError, match="unknown edit suite 'nope'"):
        suite("nope")
    with pytest.raises(NhkitError, match="unknown edit 'nope'"):
        get_edit("nope")
