"""nh-spec-v1 step 2, orientation sources: the committed fixtures in tests/decode_fixtures/ (the
Swift and Java tests read the same expected.json) through the full Python decode."""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nhkit.runtime.decode import decode_image
from nhkit.runtime.orientation_source import orientation_from_bytes

FIXTURES = Path(__file__).parents[1] / "decode_fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())["fixtures"]


@pytest.mark.parametrize("fx", EXPECTED, ids=lambda fx: fx["file"])
def test_fixture_orientation_and_pixels(fx):
    path = FIXTURES / fx["file"]
    d = decode_image(path)
    assert d.orientation == fx["orientation"], fx["why"]
    assert decode_image(path, orientation="ignore").orientation == 1
    if fx["decoded"] is not None:
        assert hashlib.sha256(np.ascontiguousarray(d.rgb).tobytes()).hexdigest() == fx["decoded"]


@pytest.mark.parametrize("fx", EXPECTED, ids=lambda fx: fx["file"])
def test_pillow_getexif_agrees_except_where_the_spec_says(fx):
    """The spec's sources are Pillow 13's; it differs only for a non-integer tag type (Pillow:
    the text '6') and a raw profile that is not hex (Pillow raises; the spec: no EXIF)."""
    im = Image.open(FIXTURES / fx["file"])
    im.load()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            v = im.getexif().get(0x0112)
            pillow = int(v) if v is not None and 1 <= int(v) <= 8 else 1
        except ValueError:
            pillow = None
    assert (pillow == fx["orientation"]) == fx["pillow_agrees"]
    if not fx["pillow_agrees"]:
        assert fx["file"] in ("jpeg-exif-ascii-type.jpg", "png-rawprofile-badhex.png")


def test_reader_ignores_other_formats_and_garbage():
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, "GIF")
    assert orientation_from_bytes(buf.getvalue()) is None
    for junk in (
        b"",
        b"\xff\xd8",
        b"\xff\xd8\xff\xe1\x00",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\xffeXIf",
        b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00",
    ):
        assert orientation_from_bytes(junk) is None


def test_truncated_metadata_never_fails_the_decode():
    data = (FIXTURES / "png-exif6.png").read_bytes()
    at = data.index(b"eXIf")
    # An eXIf chunk whose IFD0 entry count promises more entries than there are: no tag.
    bad = bytearray(data)
    bad[at + 4 + 8 : at + 4 + 10] = b"\x09\x00"
    assert orientation_from_bytes(bytes(bad)) is None


def test_tiff_and_webp_still_use_pillow():
    im = Image.new("RGB", (3, 2), (1, 2, 3))
    exif = Image.Exif()
    exif[0x0112] = 6
    for fmt in ("TIFF", "WEBP"):
        buf = io.BytesIO()
        im.save(buf, fmt, exif=exif, **({"lossless": True} if fmt == "WEBP" else {}))
        assert decode_image(buf.getvalue()).orientation == 6, fmt


def test_png_text_decompression_bomb_is_ignored_not_inflated():
    """nh-spec-v1 section 2: a compressed text inflating past 1 MiB is unreadable; the earlier
    XMP chunk stands (found by the bridges' fuzzing review: 1 GB of memory here, an
    OutOfMemoryError in Java, for a 0.5 MB PNG). The same file is in the Swift and Java tests."""
    import struct
    import zlib

    def chunk(t: bytes, b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))

    def xmp(v: int, pad: int = 0) -> bytes:
        return (
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
            b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="%d"/></rdf:RDF>'
            b"</x:xmpmeta>" % v
        ) + b" " * pad

    def png(*texts: bytes) -> bytes:
        body = b"".join(
            chunk(b"zTXt", b"XML:com.adobe.xmp\0\0" + zlib.compress(t, 9)) for t in texts
        )
        return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")

    assert orientation_from_bytes(png(xmp(3), xmp(6))) == 6  # the last XMP chunk wins
    assert orientation_from_bytes(png(xmp(3), xmp(6, pad=(1 << 20) - 200))) == 6  # under the cap
    assert orientation_from_bytes(png(xmp(3), xmp(6, pad=1 << 20))) == 3  # over: ignored
