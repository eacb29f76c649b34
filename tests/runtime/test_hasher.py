"""The Hasher's Pillow fast path (RGB files resized as Pillow images) gives exactly the bytes of
the array path the spec and the bridges follow."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nhkit.runtime.decode import decode_image
from nhkit.runtime.hasher import Hasher
from nhkit.runtime.orientation import apply_orientation, apply_orientation_image
from nhkit.runtime.resize import resize_image, resize_rgb


@pytest.mark.parametrize("tag", range(0, 10))
def test_pillow_orientation_equals_array_orientation(rng, tag: int) -> None:
    px = rng.integers(0, 256, (7, 12, 3), dtype=np.uint8)
    ours = np.asarray(apply_orientation_image(Image.fromarray(px), tag))
    assert np.array_equal(ours, apply_orientation(px, tag))


@pytest.mark.parametrize(
    "shape", [(360, 360), (500, 360), (360, 517), (37, 1000), (1000, 37), (1, 1), (481, 641)]
)
def test_resize_image_equals_resize_rgb(rng, shape) -> None:
    px = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    out = resize_image(Image.fromarray(px))
    assert out.flags.c_contiguous and out.flags.writeable
    assert np.array_equal(out, resize_rgb(px))


def test_resize_image_rejects_other_modes() -> None:
    with pytest.raises(ValueError, match="RGB-mode"):
        resize_image(Image.new("L", (4, 4)))


def test_fast_and_digest_paths_hash_identically(tiny_model, photos, tmp_path, rng) -> None:
    fast = Hasher.from_onnx(*tiny_model)
    slow = Hasher.from_onnx(*tiny_model, with_digests=True)  # goes through the array path
    files = list(photos[:6])
    for tag in (3, 6, 8):
        im = Image.fromarray(rng.integers(0, 256, (50, 80, 3), dtype=np.uint8))
        exif = im.getexif()
        exif[0x0112] = tag
        path = tmp_path / f"o{tag}.jpg"
        im.save(path, exif=exif)
        files.append(path)
    for path in files:
        a, b = fast.prepare(path), slow.prepare(path)
        assert a.decoded is not None and a.decoded.image is not None  # really the fast path
        assert np.array_equal(a.rgb360, b.rgb360), path
        assert np.array_equal(decode_image(path).rgb, a.decoded.rgb)
        assert fast.hash_file(path).hex == slow.hash_file(path).hex
