"""The edit suite: the everyday changes a copy of a photo goes through (re-encode, resize, crop,
rotate, border, colour, blur, noise, text), as seeded, deterministic functions of the pixels.

Why one home: a threshold is only meaningful next to the edits it was measured on. The quality
benchmark (benchmarks/quality.py) and `nhkit match calibrate --edits default` must mean the same
thing by "crop 10%", so both take the edits from here. Every edit is a pure function of
(RGB image, seed): same input and seed, same output bytes on every run (Pillow's encoders and
resamplers are deterministic; the only randomness, noise, comes from the seed).

The horizontal flip is in the suite but in its own group, "mirror": most users do not consider a
mirror image to be the same picture, and a perceptual hash is not expected to match it, so it is
reported separately and left out of every everyday-edit mean.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from .errors import NhkitError

# Bump when an edit's output changes, so caches of edited-image hashes are not reused.
SUITE_VERSION = 1


@dataclass(frozen=True)
class Edit:
    """One named edit. `apply(image, seed)` takes and returns an RGB PIL image."""

    name: str
    description: str
    apply: Callable[[Image.Image, int], Image.Image]
    group: str = "everyday"  # "everyday" or "mirror" (reported apart, not in the means)


def edit_seed(key: str) -> int:
    """The per-image seed of the seeded edits: a stable function of a name (e.g. the file's
    path relative to its folder), so reruns and other machines draw the same noise."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16)


def _jpeg(im: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _scale(im: Image.Image, s: float) -> Image.Image:
    return im.resize(
        (max(1, round(im.width * s)), max(1, round(im.height * s))), Image.Resampling.BICUBIC
    )


def _crop(im: Image.Image, f: float) -> Image.Image:
    w, h = im.size
    dx, dy = round(w * f), round(h * f)
    return im.crop((dx, dy, w - dx, h - dy))


def _hue(im: Image.Image, shift: float) -> Image.Image:
    hsv = np.asarray(im.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + round(shift * 256)) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def _noise(im: Image.Image, sigma: float, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    a = np.asarray(im).astype(np.float32) + rng.normal(0, sigma, (im.height, im.width, 3))
    return Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8))


def _watermark(im: Image.Image) -> Image.Image:
    im = im.convert("RGBA")
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    size = max(10, round(im.height * 0.07))
    font = ImageFont.load_default(size=size)
    text = "(c) nhkit 2026 - sample"
    box = d.textbbox((0, 0), text, font=font)
    x = im.width - (box[2] - box[0]) - round(im.width * 0.03)
    y = im.height - (box[3] - box[1]) - round(im.height * 0.05)
    d.text((x, y), text, font=font, fill=(255, 255, 255, 200))
    return Image.alpha_composite(im, layer).convert("RGB")


def _border(im: Image.Image, f: float) -> Image.Image:
    w, h = im.size
    dx, dy = round(w * f), round(h * f)
    out = Image.new("RGB", (w + 2 * dx, h + 2 * dy), (0, 0, 0))
    out.paste(im, (dx, dy))
    return out


def _chain(im: Image.Image) -> Image.Image:
    im = _scale(im, 0.5)
    im = _jpeg(im, 70)
    im = _crop(im, 0.03)
    return ImageEnhance.Brightness(im).enhance(1.1)


def _rotate(im: Image.Image, degrees: float) -> Image.Image:
    return im.rotate(degrees, Image.Resampling.BICUBIC, expand=False)


def _blur(im: Image.Image) -> Image.Image:
    return im.filter(ImageFilter.GaussianBlur(max(im.size) / 360.0))


EDITS: tuple[Edit, ...] = (
    Edit("jpeg_q90", "JPEG quality 90 (Pillow)", lambda im, s: _jpeg(im, 90)),
    Edit("jpeg_q75", "JPEG quality 75", lambda im, s: _jpeg(im, 75)),
    Edit("jpeg_q50", "JPEG quality 50", lambda im, s: _jpeg(im, 50)),
    Edit("jpeg_q20", "JPEG quality 20", lambda im, s: _jpeg(im, 20)),
    Edit("down_0.5", "downscale x0.5 (bicubic)", lambda im, s: _scale(im, 0.5)),
    Edit("down_0.25", "downscale x0.25", lambda im, s: _scale(im, 0.25)),
    Edit("up_1.5", "upscale x1.5", lambda im, s: _scale(im, 1.5)),
    Edit("crop_5%", "centre crop 5% per side", lambda im, s: _crop(im, 0.05)),
    Edit("crop_10%", "centre crop 10% per side", lambda im, s: _crop(im, 0.10)),
    Edit("rotate_2", "rotate 2 deg CCW, same canvas, black corners", lambda im, s: _rotate(im, 2)),
    Edit("rotate_5", "rotate 5 deg", lambda im, s: _rotate(im, 5)),
    Edit("bright_1.2", "brightness x1.2", lambda im, s: ImageEnhance.Brightness(im).enhance(1.2)),
    Edit("contrast_0.8", "contrast x0.8", lambda im, s: ImageEnhance.Contrast(im).enhance(0.8)),
    Edit("saturation_0.5", "saturation x0.5", lambda im, s: ImageEnhance.Color(im).enhance(0.5)),
    Edit("hue_+18deg", "hue +18 deg (HSV)", lambda im, s: _hue(im, 0.05)),
    Edit(
        "blur",
        "Gaussian blur, radius = long side / 360 (1 px at hash scale)",
        lambda im, s: _blur(im),
    ),
    Edit(
        "noise_s8", "Gaussian noise sigma 8/255, seeded per photo", lambda im, s: _noise(im, 8.0, s)
    ),
    Edit("grayscale", "grayscale", lambda im, s: im.convert("L").convert("RGB")),
    Edit(
        "watermark", "white text watermark bottom right, 7% of height", lambda im, s: _watermark(im)
    ),
    Edit(
        "hflip",
        "horizontal flip (a mirror image: not expected to match)",
        lambda im, s: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        group="mirror",
    ),
    Edit(
        "stretch_1.2",
        "width x1.2",
        lambda im, s: im.resize((round(im.width * 1.2), im.height), Image.Resampling.BICUBIC),
    ),
    Edit("border_10%", "black border 10% per side", lambda im, s: _border(im, 0.10)),
    Edit("chain", "down 0.5 + JPEG q70 + crop 3% + brightness x1.1", lambda im, s: _chain(im)),
)

# Named suites. "default" is what `nhkit match calibrate --edits default` runs: one or two
# strengths of each everyday edit (16 edits, so a few hundred photos hash in minutes);
# "all" is every edit above (the quality benchmark's table).
SUITES: dict[str, tuple[str, ...]] = {
    "default": (
        "jpeg_q75",
        "jpeg_q50",
        "down_0.5",
        "down_0.25",
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
    ),
    "all": tuple(e.name for e in EDITS),
}
_BY_NAME = {e.name: e for e in EDITS}


def suite(name: str = "default") -> list[Edit]:
    """The edits of a named suite, in order; an unknown name is an NhkitError naming the
    suites there are."""
    try:
        return [_BY_NAME[n] for n in SUITES[name]]
    except KeyError:
        raise NhkitError(f"unknown edit suite {name!r} (known: {', '.join(SUITES)})") from None


def get_edit(name: str) -> Edit:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise NhkitError(f"unknown edit {name!r} (known: {', '.join(_BY_NAME)})") from None


def apply_edit(edit: Edit, image: Image.Image, seed: int) -> Image.Image:
    """Apply one edit to an RGB image; the result is always RGB."""
    return edit.apply(image.convert("RGB"), seed).convert("RGB")
