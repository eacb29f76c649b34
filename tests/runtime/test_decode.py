"""Spec steps 1-2 and bad input: every failure names the file and the problem."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from nhkit.runtime.decode import decode_image
from nhkit.runtime.errors import ImageDecodeError


def png_bytes(img: Image.Image, **kw) -> bytes:
    b = io.BytesIO()
    img.save(b, "PNG", **kw)
    return b.getvalue()


def raw_png(width: int, height: int, color_type: int, bit_depth: int, rows: bytes) -> bytes:
    """A minimal PNG writer, for layouts Pillow cannot save (16-bit RGB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_rgb_jpeg_matches_pillow_convert(photos) -> None:
    d = decode_image(photos[0])
    assert d.rgb.dtype == np.uint8 and d.rgb.flags.c_contiguous
    assert np.array_equal(d.rgb, np.asarray(Image.open(photos[0]).convert("RGB")))


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(ImageDecodeError, match=r"empty\.jpg: file is empty"):
        decode_image(p)


def test_truncated_jpeg(tmp_path: Path, photos) -> None:
    p = tmp_path / "truncated.jpg"
    p.write_bytes(photos[0].read_bytes()[:3000])
    with pytest.raises(ImageDecodeError, match=r"truncated\.jpg: corrupt or truncated"):
        decode_image(p)


def test_text_file_named_jpg(tmp_path: Path) -> None:
    p = tmp_path / "notes.jpg"
    p.write_text("this is not an image\n")
    with pytest.raises(ImageDecodeError, match=r"notes\.jpg: not a recognised image format"):
        decode_image(p)


def test_decompression_bomb_is_rejected_before_decoding(tmp_path: Path) -> None:
    # A PNG header claiming 60000 x 60000 pixels with almost no data.
    p = tmp_path / "bomb.png"
    p.write_bytes(raw_png(60000, 60000, 0, 1, b"\0" * 10))
    with pytest.raises(ImageDecodeError, match=r"bomb\.png: .*3,600,000,000 pixels.*limit"):
        decode_image(p)
    small = tmp_path / "small.png"
    small.write_bytes(png_bytes(Image.new("RGB", (100, 100))))
    assert decode_image(small, max_pixels=10_000).rgb.shape == (100, 100, 3)
    with pytest.raises(ImageDecodeError, match="limit of 9,999"):
        decode_image(small, max_pixels=9_999)


def test_cmyk_jpeg_uses_pillows_integer_formula(tmp_path: Path, rng) -> None:
    cmyk = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    p = tmp_path / "cmyk.jpg"
    Image.fromarray(cmyk, "CMYK").save(p, quality=95)
    d = decode_image(p)
    stored = np.asarray(Image.open(p)).astype(np.int32)
    nk = 255 - stored[:, :, 3:4]
    t = stored[:, :, :3] * nk + 128
    assert d.source_mode == "CMYK"
    assert np.array_equal(d.rgb, nk - ((t + (t >> 8)) >> 8))
    assert np.array_equal(d.rgb, np.asarray(Image.open(p).convert("RGB")))


def test_16bit_grey_png_takes_the_high_byte(tmp_path: Path) -> None:
    grey = np.arange(24, dtype=np.uint16).reshape(4, 6) * 2741
    p = tmp_path / "grey16.png"
    Image.fromarray(grey).save(p)
    d = decode_image(p)
    assert d.source_mode.startswith("I;16")
    assert np.array_equal(d.rgb[:, :, 0], (grey >> 8).astype(np.uint8))
    assert np.array_equal(d.rgb[:, :, 0], d.rgb[:, :, 2])


def test_16bit_rgb_png_takes_the_high_byte(tmp_path: Path, rng) -> None:
    px = rng.integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    rows = b"".join(b"\0" + px[y].astype(">u2").tobytes() for y in range(5))
    p = tmp_path / "rgb16.png"
    p.write_bytes(raw_png(7, 5, 2, 16, rows))
    assert np.array_equal(decode_image(p).rgb, (px >> 8).astype(np.uint8))


def test_palette_png_with_transparency_ignores_alpha(tmp_path: Path) -> None:
    im = Image.new("P", (8, 4))
    im.putpalette([255, 0, 0, 0, 255, 0, 10, 20, 30] + [0] * (256 * 3 - 9))
    im.putdata([0, 1, 2, 0] * 8)
    p = tmp_path / "pal.png"
    im.save(p, transparency=0)
    d = decode_image(p)
    assert d.rgb[0, 0].tolist() == [255, 0, 0] and d.rgb[0, 2].tolist() == [10, 20, 30]


def test_transparent_gif_pixels_keep_their_palette_colour(tmp_path: Path) -> None:
    """The spec's `P` rule: a transparent GIF pixel is its palette colour (what the bridges
    cannot always get from their platform decoders, and report in the case's note)."""
    im = Image.new("P", (4, 2))
    im.putpalette([200, 100, 50, 1, 2, 3] + [0] * (256 * 3 - 6))
    im.putdata([0, 1, 0, 1, 1, 0, 1, 0])
    p = tmp_path / "t.gif"
    im.save(p, transparency=0)
    assert Image.open(p).info.get("transparency") == 0
    d = decode_image(p)
    assert d.rgb[0, 0].tolist() == [200, 100, 50] and d.rgb[0, 1].tolist() == [1, 2, 3]


def test_la_and_rgba_keep_stored_colour(tmp_path: Path) -> None:
    la = Image.fromarray(
        np.dstack([np.full((3, 3), 77, np.uint8), np.zeros((3, 3), np.uint8)]), "LA"
    )
    (tmp_path / "la.png").write_bytes(png_bytes(la))
    assert decode_image(tmp_path / "la.png").rgb[1, 1].tolist() == [77, 77, 77]
    rgba = Image.new("RGBA", (2, 2), (9, 99, 199, 0))
    (tmp_path / "rgba.png").write_bytes(png_bytes(rgba))
    assert decode_image(tmp_path / "rgba.png").rgb[0, 0].tolist() == [9, 99, 199]


def test_animated_gif_uses_the_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (10, 10), c) for c in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=50, loop=0)
    d = decode_image(p)
    assert d.frames == 3 and d.rgb[5, 5].tolist() == [255, 0, 0]


def test_unsupported_mode_names_the_mode(tmp_path: Path) -> None:
    p = tmp_path / "float.tif"
    Image.fromarray(np.ones((4, 4), np.float32)).save(p)
    with pytest.raises(ImageDecodeError, match=r"float\.tif: unsupported image mode 'F'"):
        decode_image(p)


def test_directory_is_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="is a directory"):
        decode_image(tmp_path)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_exif_transpose(tmp_path: Path, rng, orientation: int) -> None:
    px = rng.integers(0, 256, (6, 9, 3), dtype=np.uint8)
    im = Image.fromarray(px)
    exif = im.getexif()
    exif[0x0112] = orientation
    p = tmp_path / f"o{orientation}.png"
    im.save(p, exif=exif)
    d = decode_image(p, orientation="apply")
    assert d.orientation == orientation
    assert np.array_equal(d.rgb, np.asarray(ImageOps.exif_transpose(Image.open(p))))
    ignored = decode_image(p, orientation="ignore")
    assert ignored.orientation == 1 and np.array_equal(ignored.rgb, px)


def test_icc_profile_is_ignored(tmp_path: Path, rng) -> None:
    px = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    p = tmp_path / "icc.png"
    Image.fromarray(px).save(p, icc_profile=b"\0" * 200)  # any profile: its bytes are not used
    assert np.array_equal(decode_image(p).rgb, px)


# A TIFF whose tag table Pillow's plugin rejects with TypeError ("Missing dimensions"), found by
# benchmarks/fuzz.py (a mutated 7x9 RGB TIFF).
CORRUPT_TIFF = bytes.fromhex(
    "49492a00080000000a0000010400010000000700000001010400010000000900000002010300030000008600"
    "000003010300010000000100000006010300010000000200000011010400010000008c000000150103000100"
    "0000030000001601040001000000090000001701040001000000bd0000001c01030001000000010000000100"
    "0000080008000800f8c2becf931aed15f5d3ef2d059d9f3c36ec6d2ec75220cd240786de399208950e0f160a"
    "90d0181807290b553b68e16ee2c9089f1a1ba37a2129c94346a6e42832b300b1893f0dbcff405e08089c191d"
    "9d92be73db872764ed7f48e3a815498410998c6b50a33d6e2fe594aa616e38964ac13e2ceeefe2bc0ecdb9c1"
    "49eecdf4a06e44c94f68c14858c5ea51943007a695287ea628363bb20d9987de3bbfef4ac19a52f073a76100"
    "b9d2b0134cb134f96d5ea2f1c505644c32f7a623fa"
)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")  # Pillow says so too
def test_corrupt_tiff_tag_table_is_an_image_decode_error() -> None:
    with pytest.raises(ImageDecodeError, match="fuzz.tif: corrupt or truncated image data"):
        decode_image(CORRUPT_TIFF, name="fuzz.tif")
