"""Spec steps 1-2: an image file -> oriented RGB8 array, under the spec's exact mode rules.

Pillow is the decoder (a well-kept library; JPEG and PNG decoding is not ours to rewrite), but
every mode conversion is done here in integer numpy code that the spec writes down, so the Swift
and Java bridges can reproduce it and a Pillow upgrade cannot silently change it."""

from __future__ import annotations

import functools
import io
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import ImageDecodeError
from .orientation import (
    EXIF_ORIENTATION_TAG,
    apply_orientation,
    apply_orientation_image,
    normalise_orientation_tag,
)
from .orientation_source import orientation_from_bytes
from .spec import DEFAULT_MAX_PIXELS

ImageSource = str | os.PathLike[str] | bytes

_SIXTEEN_BIT_GREY = ("I;16", "I;16B", "I;16L", "I;16N")
SUPPORTED_MODES: tuple[str, ...] = (
    "RGB",
    "RGBA",
    "RGBX",
    "L",
    "LA",
    "1",
    "P",
    "PA",
    "CMYK",
    *_SIXTEEN_BIT_GREY,
)


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """Oriented RGB8 pixels plus what the decoder saw (for reports and error messages).

    For files stored as 8-bit RGB, `image` holds the upright Pillow image and `rgb` is made from
    it on first use: the Hasher resizes the Pillow image directly, which saves two full-size
    copies per photo (see resize.resize_image)."""

    orientation: int  # EXIF tag value used (1 when ignored or absent)
    source_mode: str  # Pillow mode as stored
    format: str | None  # PNG, JPEG, ...
    frames: int  # 1, or the frame count of an animated file (first frame used)
    array: np.ndarray | None = None  # H x W x 3 uint8 when converted from another mode
    image: Image.Image | None = None  # upright RGB-mode image when stored as RGB

    @functools.cached_property
    def rgb(self) -> np.ndarray:
        """H x W x 3 uint8, C-contiguous."""
        if self.array is not None:
            return self.array
        assert self.image is not None
        return np.array(self.image, dtype=np.uint8)


def _to_rgb8(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im, dtype=np.uint8)
    if mode in ("RGBA", "RGBX"):
        # Alpha dropped, stored colour values kept: no premultiplication, no compositing.
        return np.ascontiguousarray(np.asarray(im, dtype=np.uint8)[:, :, :3])
    if mode in ("L", "1"):
        grey = np.asarray(im.convert("L") if mode == "1" else im, dtype=np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "LA":
        grey = np.asarray(im, dtype=np.uint8)[:, :, 0]
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode in ("P", "PA"):
        # Palette lookup by index; transparency is ignored as the spec says.
        index = np.asarray(im.getchannel(0) if mode == "PA" else im, dtype=np.uint8)
        palette = np.frombuffer(im.palette.tobytes() if im.palette else b"", dtype=np.uint8)
        pal_mode = im.palette.mode if im.palette else "RGB"
        if pal_mode not in ("RGB", "RGBA"):
            raise ValueError(f"palette mode {pal_mode} is not supported")
        stride = len(pal_mode)
        table = np.zeros((256, 3), dtype=np.uint8)
        entries = palette.reshape(-1, stride)[:256, :3]
        table[: len(entries)] = entries
        return table[index]
    if mode in _SIXTEEN_BIT_GREY:
        raw = np.asarray(im)
        grey = (raw.astype(np.uint32) >> 8).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "CMYK":
        # Pillow's integer cmyk2rgb, written out so every language can match it exactly.
        cmyk = np.asarray(im, dtype=np.uint8).astype(np.int32)
        nk = 255 - cmyk[:, :, 3:4]
        t = cmyk[:, :, :3] * nk + 128
        return (nk - ((t + (t >> 8)) >> 8)).clip(0, 255).astype(np.uint8)
    raise ValueError(f"unsupported image mode {mode!r} (supported: {', '.join(SUPPORTED_MODES)})")


def _orientation_tag(im: Image.Image, data: bytes) -> int:
    """Spec step 2's tag: for JPEG and PNG from exactly the metadata the spec names (read by
    orientation_source, as the bridges do); for other formats from Pillow's getexif. Unreadable
    metadata means 1, never an error."""
    raw = orientation_from_bytes(data)
    if raw is None and not data.startswith((b"\xff\xd8", b"\x89PNG")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = im.getexif().get(EXIF_ORIENTATION_TAG)
        except (ValueError, OSError, SyntaxError, struct.error):
            raw = None
    return normalise_orientation_tag(raw)


def decode_image(
    source: ImageSource | BinaryIO,
    *,
    orientation: str = "apply",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    name: str | None = None,
) -> DecodedImage:
    """Decode a file path or bytes to upright RGB8 per spec steps 1-2.

    Every failure becomes an ImageDecodeError naming the file, so a batch can report it and go
    on. `max_pixels` guards against decompression bombs before any pixel is decoded."""
    label = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<bytes>")
    if orientation not in ("apply", "ignore"):
        raise ValueError(f"orientation must be 'apply' or 'ignore', got {orientation!r}")
    try:
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if path.is_dir():
                raise ImageDecodeError(label, "is a directory, not an image file")
            data = path.read_bytes()
        elif isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            data = source.read()
    except ImageDecodeError:
        raise
    except OSError as exc:
        raise ImageDecodeError(label, f"cannot read file: {exc.strerror or exc}") from None
    if not data:
        raise ImageDecodeError(label, "file is empty (0 bytes)")

    try:
        with warnings.catch_warnings():
            # We enforce our own pixel limit below; silence Pillow's bomb warning/limit here.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
            try:
                im = Image.open(io.BytesIO(data))
            finally:
                Image.MAX_IMAGE_PIXELS = saved_limit
            width, height = im.size
            if width <= 0 or height <= 0:
                raise ImageDecodeError(label, f"image has no pixels ({width}x{height})")
            if max_pixels is not None and width * height > max_pixels:
                raise ImageDecodeError(
                    label,
                    f"image is {width}x{height} = {width * height:,} pixels, over the "
                    f"limit of {max_pixels:,} (possible decompression bomb; raise --max-pixels "
                    "if the file is trusted)",
                )
            frames = int(getattr(im, "n_frames", 1) or 1)
            if frames > 1:
                im.seek(0)
            # Before load(): Pillow's TIFF getexif reads the still-open file.
            tag = _orientation_tag(im, data) if orientation == "apply" else 1
            mode, fmt = im.mode, im.format
            im.load()
            if mode == "RGB":
                upright_image = apply_orientation_image(im, tag)
                return DecodedImage(
                    orientation=tag,
                    source_mode=mode,
                    format=fmt,
                    frames=frames,
                    image=upright_image,
                )
            rgb = _to_rgb8(im)
    except ImageDecodeError:
        raise
    except UnidentifiedImageError:
        raise ImageDecodeError(label, "not a recognised image format") from None
    except (OSError, SyntaxError, zlib.error, EOFError, struct.error, TypeError) as exc:
        # Pillow reports truncated and corrupt data as OSError/SyntaxError; its TIFF plugin
        # raises TypeError ("Missing dimensions") for some corrupt tag tables, found by
        # benchmarks/fuzz.py, and struct.error for short ones.
        raise ImageDecodeError(label, f"corrupt or truncated image data: {exc}") from None
    except ValueError as exc:
        raise ImageDecodeError(label, str(exc)) from None
    except MemoryError:
        raise ImageDecodeError(label, "image too large to decode in memory") from None

    upright = np.ascontiguousarray(apply_orientation(rgb, tag))
    return DecodedImage(orientation=tag, source_mode=mode, format=fmt, frames=frames, array=upright)


# File name endings that `nhkit hash -r` picks up when walking a folder (explicit paths are
# always tried, whatever their ending).
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".png",
        ".gif",
        ".bmp",
        ".tif",
        ".tiff",
        ".webp",
        ".ppm",
        ".pgm",
        ".pbm",
        ".pnm",
        ".tga",
        ".ico",
    }
)
