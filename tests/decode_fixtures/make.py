"""Writes the decode fixtures: small JPEG and PNG files whose orientation metadata sits in every
place nh-spec-v1 section 2 names (and a few it rules out), plus expected.json.

    python tests/decode_fixtures/make.py            # (re)write the files
    python tests/decode_fixtures/make.py --check    # exit 1 if the committed files differ

Python (tests/runtime/test_decode_fixtures.py), Swift (NHCoreTests) and Java (core tests) all read
expected.json: `orientation` is the tag the spec says each file carries (1..8), `decoded` the sha256
of the oriented RGB8 pixels (PNG only: the bridges' test decoders read PNG, not JPEG), and
`pillow_agrees` whether Pillow 13's getexif (after load, value through int()) gives the same tag.
The JPEG bytes come from Pillow's libjpeg; the committed files are the fixtures (tests read them,
they do not regenerate them), so a new libjpeg only matters when this script is rerun.
The pixels are a 3 x 2 image with six distinct colours, so every orientation gives other bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
PIXELS = np.array(
    [[[255, 0, 0], [0, 255, 0], [0, 0, 255]], [[255, 255, 0], [0, 255, 255], [255, 0, 255]]],
    dtype=np.uint8,
)


def tiff(entries: list[tuple[int, int, int, bytes]], end: str = "<", extra: bytes = b"") -> bytes:
    """A TIFF-structured EXIF block with one IFD0 (entries: tag, type, count, 4 value bytes)."""
    head = (b"II*\x00" if end == "<" else b"MM\x00*") + struct.pack(end + "I", 8)
    ifd = struct.pack(end + "H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack(end + "HHI", tag, typ, count) + value
    return head + ifd + struct.pack(end + "I", 0) + extra


def short(v: int, end: str = "<") -> bytes:
    return struct.pack(end + "HH", v, 0)


def orient(v: int, end: str = "<") -> bytes:
    return tiff([(0x0112, 3, 1, short(v, end))], end)


NO_ORIENTATION = tiff([(0x010F, 2, 4, b"nhk\x00")])  # EXIF with a Make tag only
XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"


def xmp_attr(v: int) -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="%d"/></rdf:RDF>'
        b"</x:xmpmeta>" % v
    )


def xmp_elem(v: int) -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description><tiff:Orientation>'
        b"%d</tiff:Orientation></rdf:Description></rdf:RDF></x:xmpmeta>" % v
    )


def jpeg(app1: list[bytes]) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(PIXELS).save(buf, "JPEG", quality=95)
    d = buf.getvalue()
    segs = b"".join(b"\xff\xe1" + struct.pack(">H", len(p) + 2) + p for p in app1)
    return d[:2] + segs + d[2:]


def chunk(ctype: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + ctype
        + body
        + struct.pack(">I", zlib.crc32(ctype + body) & 0xFFFFFFFF)
    )


def png(
    before_idat: list[tuple[bytes, bytes]], after_idat: list[tuple[bytes, bytes]] = ()
) -> bytes:
    raw = b"".join(b"\x00" + row.tobytes() for row in PIXELS)
    ihdr = struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + b"".join(chunk(t, b) for t, b in before_idat)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + b"".join(chunk(t, b) for t, b in after_idat)
        + chunk(b"IEND", b"")
    )


def raw_profile(block: bytes) -> bytes:
    """ImageMagick's "Raw profile type exif" text: "\\nexif\\n<length>\\n" then hex, 72 per line."""
    h = block.hex()
    return (
        b"\nexif\n"
        + b"%8d" % len(block)
        + b"\n"
        + b"\n".join(h[i : i + 72].encode() for i in range(0, len(h), 72))
        + b"\n"
    )


def itxt(key: bytes, text: bytes, compressed: bool = False) -> bytes:
    body = zlib.compress(text) if compressed else text
    return key + b"\x00" + (b"\x01\x00" if compressed else b"\x00\x00") + b"\x00\x00" + body


FIXTURES: list[tuple[str, bytes, int, str]] = [
    # (file, bytes, expected tag, why)
    ("jpeg-none.jpg", jpeg([]), 1, "no metadata"),
    ("jpeg-exif6.jpg", jpeg([b"Exif\0\0" + orient(6)]), 6, "EXIF APP1, little-endian SHORT"),
    ("jpeg-exif3-bigendian.jpg", jpeg([b"Exif\0\0" + orient(3, ">")]), 3, "EXIF APP1, big-endian"),
    (
        "jpeg-exif8-long.jpg",
        jpeg([b"Exif\0\0" + tiff([(0x0112, 4, 1, struct.pack("<I", 8))])]),
        8,
        "EXIF Orientation stored as LONG",
    ),
    (
        "jpeg-exif9-invalid.jpg",
        jpeg([b"Exif\0\0" + orient(9), XMP_APP1 + xmp_attr(6)]),
        1,
        "EXIF value 9 is outside 1..8 (means 1); XMP not consulted since EXIF has the tag",
    ),
    (
        "jpeg-exif1-xmp8.jpg",
        jpeg([b"Exif\0\0" + orient(1), XMP_APP1 + xmp_attr(8)]),
        1,
        "EXIF wins over XMP",
    ),
    ("jpeg-xmp5-attribute.jpg", jpeg([XMP_APP1 + xmp_attr(5)]), 5, "XMP only, attribute form"),
    ("jpeg-xmp7-element.jpg", jpeg([XMP_APP1 + xmp_elem(7)]), 7, "XMP only, element form"),
    (
        "jpeg-exif-noorientation-xmp8.jpg",
        jpeg([b"Exif\0\0" + NO_ORIENTATION, XMP_APP1 + xmp_attr(8)]),
        8,
        "EXIF without the tag: XMP counts",
    ),
    (
        "jpeg-exif-badoffset-xmp6.jpg",
        jpeg([b"Exif\0\0II*\x00" + struct.pack("<I", 999), XMP_APP1 + xmp_attr(6)]),
        6,
        "unreadable EXIF (IFD0 offset past the end): XMP counts",
    ),
    (
        "jpeg-exif-ascii-type.jpg",
        jpeg([b"Exif\0\0" + tiff([(0x0112, 2, 2, b"6\x00\x00\x00")])]),
        1,
        "tag present with a non-integer type (ASCII): means 1 (Pillow would give '6')",
    ),
    ("png-none.png", png([]), 1, "no metadata"),
    ("png-exif6.png", png([(b"eXIf", orient(6))]), 6, "eXIf before IDAT"),
    ("png-exif5-after-idat.png", png([], [(b"eXIf", orient(5))]), 5, "eXIf after IDAT"),
    (
        "png-exif-twice.png",
        png([(b"eXIf", orient(6))], [(b"eXIf", orient(3))]),
        3,
        "two eXIf chunks: the last counts",
    ),
    (
        "png-exif8-sshort-count3.png",
        png(
            [
                (
                    b"eXIf",
                    tiff(
                        [(0x0112, 8, 3, struct.pack("<I", 26))], extra=struct.pack("<hhh", 8, 1, 1)
                    ),
                )
            ]
        ),
        8,
        "SSHORT with 3 values stored out of line: the first",
    ),
    (
        "png-rawprofile8-text.png",
        png([(b"tEXt", b"Raw profile type exif\0" + raw_profile(b"Exif\0\0" + orient(8)))]),
        8,
        "ImageMagick raw profile in tEXt",
    ),
    (
        "png-rawprofile5-ztxt.png",
        png([(b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(raw_profile(orient(5))))]),
        5,
        "raw profile in zTXt, no Exif prefix",
    ),
    (
        "png-rawprofile7-itxt-after-idat.png",
        png([], [(b"iTXt", itxt(b"Raw profile type exif", raw_profile(orient(7))))]),
        7,
        "raw profile in iTXt after IDAT",
    ),
    (
        "png-rawprofile-badhex.png",
        png([(b"tEXt", b"Raw profile type exif\0\nexif\n 4\nzz\n")]),
        1,
        "raw profile that is not hex: no EXIF (Pillow raises ValueError)",
    ),
    (
        "png-exif2-and-rawprofile8.png",
        png([(b"eXIf", orient(2)), (b"tEXt", b"Raw profile type exif\0" + raw_profile(orient(8)))]),
        2,
        "eXIf wins over a raw profile",
    ),
    (
        "png-xmp3-itxt.png",
        png([(b"iTXt", itxt(b"XML:com.adobe.xmp", xmp_attr(3)))]),
        3,
        "XMP in iTXt",
    ),
    (
        "png-xmp4-itxt-compressed.png",
        png([(b"iTXt", itxt(b"XML:com.adobe.xmp", xmp_elem(4), True))]),
        4,
        "XMP in compressed iTXt",
    ),
    ("png-xmp2-text.png", png([(b"tEXt", b"XML:com.adobe.xmp\0" + xmp_attr(2))]), 2, "XMP in tEXt"),
    (
        "png-exif-noorientation-xmp6-after-idat.png",
        png([(b"eXIf", NO_ORIENTATION)], [(b"iTXt", itxt(b"XML:com.adobe.xmp", xmp_attr(6)))]),
        6,
        "eXIf without the tag before IDAT, XMP after IDAT: XMP counts",
    ),
]


def decoded_sha(tag: int) -> str:
    from nhkit.runtime.orientation import apply_orientation

    pixels = np.ascontiguousarray(apply_orientation(PIXELS, tag))
    return hashlib.sha256(pixels.tobytes()).hexdigest()


def pillow_tag(data: bytes) -> int | None:
    """What nhkit did before the spec named the sources: int() of Pillow's getexif value (after
    load, so chunks after IDAT count), 1 when absent or not 1..8; None when Pillow raises."""
    im = Image.open(io.BytesIO(data))
    im.load()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            v = im.getexif().get(0x0112)
        except ValueError:
            return None
    try:
        t = int(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 1
    return t if 1 <= t <= 8 else 1


def build() -> dict[str, bytes]:
    files = {}
    entries = []
    for name, data, tag, why in FIXTURES:
        files[name] = data
        entries.append(
            {
                "file": name,
                "orientation": tag,
                "why": why,
                "decoded": decoded_sha(tag) if name.endswith(".png") else None,
                "pillow_agrees": pillow_tag(data) == tag,
            }
        )
    doc = {
        "schema": "nhkit-decode-fixtures-v1",
        "header": [
            "Spec step 2 orientation sources (docs/spec/nh-spec-v1.md section 2).",
            "Made by tests/decode_fixtures/make.py; 3x2 pixels, six colours; `decoded` "
            "is the sha256 of the oriented RGB8 bytes (PNG files).",
        ],
        "fixtures": entries,
    }
    files["expected.json"] = (json.dumps(doc, indent=2) + "\n").encode()
    return files


def main(argv: list[str]) -> int:
    files = build()
    if "--check" in argv:
        stale = [
            n for n, d in files.items() if not (HERE / n).is_file() or (HERE / n).read_bytes() != d
        ]
        for n in stale:
            print(f"stale: tests/decode_fixtures/{n} (run python tests/decode_fixtures/make.py)")
        return 1 if stale else 0
    for n, d in files.items():
        (HERE / n).write_bytes(d)
    print(f"wrote {len(files)} files to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
