"""Writes the decode mode set: one tiny image file per stored mode that nh-spec-v1 step 1's table
names (and a few it rejects), plus decode_modes.json, the expected result of each.

    python tests/decode_modes/make.py            # (re)write the files
    python tests/decode_modes/make.py --check    # exit 1 if a committed file differs

decode_modes.json is a conformance vector file (tests/vectors/README.md's format, algorithm
`nh-spec-v1/decode`, JSON Schema tests/vectors/schemas/decode_modes.schema.json). A `valid` test
names its file, format and Pillow mode as stored, and expects the oriented RGB8 size, the
orientation tag and `decoded`, the sha256 of the oriented RGB8 bytes (spec section 9's stage
digest); an `invalid` one must be rejected with an error naming the file. Python checks all of
them (tests/runtime/test_decode_modes.py); the Swift (NHCoreTests) and Java (core tests) test
decoders check the ones they can read and list the others with the reason.

Pixels: 23x17 (so rows are not a multiple of 4 or 8 bytes) from SplitMix64 (tests/vectors'
`prng_bytes`), so no numpy random stream is involved. PNG files whose layout Pillow cannot write
(2/4-bit grey, 16-bit RGB/RGBA/grey+alpha, a palette shorter than its indices) are written
chunk by chunk here; everything else by Pillow 13 (PNG via zlib, JPEG via libjpeg, TIFF, GIF).
The committed files are the fixtures: tests read them and the suite runs --check, so a new
zlib or libjpeg that changes the bytes is seen at once (then rerun this script and review).
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "vectors"))
from generate import _render, prng_bytes  # noqa: E402

W, H = 23, 17
SCHEMA_PATH = "../vectors/schemas/decode_modes.schema.json"

NOTES: dict[str, str] = {
    "Bilevel": "A 1-bit file (Pillow mode `1`): 0 -> (0,0,0), 1 -> (255,255,255).",
    "Grey": "A greyscale file: each grey value v becomes (v, v, v).",
    "LowBitDepthGrey": "1/2/4-bit grey PNG samples are scaled to 8 bits as Pillow reads them "
    "(mode `L`): v * 255 / (2^depth - 1), e.g. 2-bit 0,1,2,3 -> 0,85,170,255.",
    "Alpha": "An alpha channel: dropped; the stored colour is kept, also where alpha is 0 "
    "(no premultiplication, no compositing).",
    "Palette": "Indexed colour (mode `P`): each index becomes its palette entry's R, G, B.",
    "LowBitDepthPalette": "A 1/2/4-bit palette PNG: several indices packed per byte, most "
    "significant bits first.",
    "PaletteAlpha": "Indexed colour with an alpha band (mode `PA`): the alpha is ignored.",
    "PaletteIndexOutOfRange": "Indices past the end of a short palette: they give (0,0,0) "
    "(Pillow's zero-filled palette), not an error.",
    "Transparency": "A tRNS chunk or GIF transparent index: ignored, the colour is kept.",
    "SixteenBit": "16-bit samples: the high byte of each (v >> 8), never rounded "
    "(the values include 0x7fff -> 127, where rounding v*255/65535 gives 128).",
    "CMYK": "CMYK samples: Pillow's integer cmyk2rgb as the spec writes it out.",
    "Animated": "A multi-frame file: the first frame only.",
    "Orientation": "An eXIf orientation tag 1..8 applied after decoding (spec step 2); the "
    "expected size is the oriented one (5..8 swap width and height).",
    "Lossy": "A lossy JPEG: `decoded` is Pillow/libjpeg's; a platform's own decoder MAY differ "
    "(spec: 'the same'), so the bridges do not compare it.",
    "UnsupportedMode": "A mode the spec does not convert (`I`, `F`, `LAB`): rejected with an "
    "error naming the file and the mode.",
}


@dataclass(frozen=True)
class Item:
    file: str
    comment: str
    make: Callable[[], bytes]
    flags: list[str] = field(default_factory=list)
    result: str = "valid"
    # The un-oriented RGB8 the spec's table gives, computed from the arrays the file was made
    # from (not by the runtime): build() checks the runtime's decode against it. None for lossy
    # files and GIF, whose encoder changes the samples or the palette order.
    oracle: Callable[[], np.ndarray] | None = None


# ----- pixels and encoders ---------------------------------------------------------------------


def prng(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return prng_bytes(seed, int(np.prod(shape))).reshape(shape)


def prng16(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """16-bit samples with the values that tell the high byte from rounding first in line."""
    v = prng_bytes(seed, 2 * int(np.prod(shape))).view("<u2").astype(np.uint16).copy()
    tricky = [0x7FFF, 0x80FF, 0x00FF, 0xFF00, 0x0080, 0xFF7F, 0xFFFF, 0x0000, 0x017F]
    v[: len(tricky)] = tricky
    return v.reshape(shape)


def pillow(im: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def png_png(im: Image.Image, **kw: Any) -> bytes:
    return pillow(im, "PNG", optimize=False, compress_level=9, **kw)


def chunk(ctype: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(ctype + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", crc)


def raw_png(
    depth: int, colour_type: int, rows: list[bytes], extra: list[tuple[bytes, bytes]] = ()
) -> bytes:
    """A PNG written chunk by chunk (filter 0 rows), for layouts Pillow cannot write."""
    ihdr = struct.pack(">IIBBBBB", W, len(rows), depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + b"".join(chunk(t, b) for t, b in extra)
        + chunk(b"IDAT", zlib.compress(b"".join(b"\x00" + r for r in rows), 9))
        + chunk(b"IEND", b"")
    )


def packed_rows(values: np.ndarray, depth: int) -> list[bytes]:
    """Rows of `depth`-bit values packed most significant bits first, padded to a byte."""
    per = 8 // depth
    rows = []
    for row in values:
        padded = np.concatenate([row, np.zeros((-len(row)) % per, dtype=np.uint8)])
        out = bytearray()
        for i in range(0, len(padded), per):
            b = 0
            for v in padded[i : i + per]:
                b = (b << depth) | int(v)
            out.append(b)
        rows.append(bytes(out))
    return rows


def rgb() -> np.ndarray:
    return prng(0xD0C0DE01, (H, W, 3))


def palette_image(colours: int, seed: int) -> Image.Image:
    idx, palette = palette_of(seed, colours)
    im = Image.frombytes("P", (W, H), idx.tobytes())
    im.putpalette(palette.tolist())
    return im


def with_alpha(colour: np.ndarray, seed: int) -> np.ndarray:
    a = prng(seed, (H, W, 1))
    a[0, :4, 0] = 0  # fully transparent pixels with a stored colour
    a[1, :4, 0] = 255
    return np.concatenate([colour, a], axis=2)


def grey3(g: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(g, dtype=np.uint8)[:, :, None], 3, axis=2)


def lookup(idx: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Palette lookup, indices past the palette's end -> (0, 0, 0)."""
    table = np.zeros((256, 3), dtype=np.uint8)
    entries = palette.reshape(-1, 3)
    table[: len(entries)] = entries
    return table[idx]


def palette_of(seed: int, colours: int) -> tuple[np.ndarray, np.ndarray]:
    idx = (prng(seed, (H, W)).astype(np.int32) % colours).astype(np.uint8)
    return idx, prng(seed + 1, (colours * 3,))


def oriented(a: np.ndarray, tag: int) -> np.ndarray:
    """Spec step 2's table, written with numpy views (independent of runtime/orientation.py)."""
    t = {
        1: a,
        2: a[:, ::-1],
        3: a[::-1, ::-1],
        4: a[::-1],
        5: a.transpose(1, 0, 2),
        6: a[::-1].transpose(1, 0, 2),
        7: a[::-1, ::-1].transpose(1, 0, 2),
        8: a[:, ::-1].transpose(1, 0, 2),
    }[tag]
    return np.ascontiguousarray(t)


def exif_orientation(v: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = v
    return exif.tobytes()


# ----- the set ---------------------------------------------------------------------------------


def _items() -> list[Item]:
    grey = prng(0xD0C0DE02, (H, W))
    items = [
        Item(
            "png-1.png",
            "1-bit grey PNG (Pillow mode 1)",
            lambda: png_png(Image.fromarray(grey > 127)),
            ["Bilevel"],
            oracle=lambda: grey3(np.where(grey > 127, 255, 0)),
        ),
        Item(
            "png-l2.png",
            "2-bit grey PNG (Pillow reads it as L, scaled)",
            lambda: raw_png(2, 0, packed_rows(grey % 4, 2)),
            ["Grey", "LowBitDepthGrey"],
            oracle=lambda: grey3((grey % 4) * 85),
        ),
        Item(
            "png-l4.png",
            "4-bit grey PNG (Pillow reads it as L, scaled)",
            lambda: raw_png(4, 0, packed_rows(grey % 16, 4)),
            ["Grey", "LowBitDepthGrey"],
            oracle=lambda: grey3((grey % 16) * 17),
        ),
        Item(
            "png-l.png",
            "8-bit grey PNG (L)",
            lambda: png_png(Image.fromarray(grey)),
            ["Grey"],
            oracle=lambda: grey3(grey),
        ),
        Item(
            "png-l-trns.png",
            "8-bit grey PNG with a tRNS grey value",
            lambda: png_png(Image.fromarray(grey), transparency=int(grey[0, 0])),
            ["Grey", "Transparency"],
            oracle=lambda: grey3(grey),
        ),
        Item(
            "png-la.png",
            "8-bit grey+alpha PNG (LA)",
            lambda: png_png(Image.fromarray(with_alpha(grey[:, :, None], 0xA1)[:, :, :2], "LA")),
            ["Grey", "Alpha"],
            oracle=lambda: grey3(grey),
        ),
        Item(
            "png-i16.png",
            "16-bit grey PNG (Pillow mode I;16)",
            lambda: raw_png(16, 0, [r.astype(">u2").tobytes() for r in prng16(0xB16, (H, W))]),
            ["Grey", "SixteenBit"],
            oracle=lambda: grey3(prng16(0xB16, (H, W)) >> 8),
        ),
        Item(
            "png-la16.png",
            "16-bit grey+alpha PNG (Pillow reads it as RGBA, high bytes)",
            lambda: raw_png(16, 4, [r.astype(">u2").tobytes() for r in prng16(0xB17, (H, W, 2))]),
            ["Grey", "Alpha", "SixteenBit"],
            oracle=lambda: grey3(prng16(0xB17, (H, W, 2))[:, :, 0] >> 8),
        ),
        Item("png-rgb.png", "8-bit RGB PNG", lambda: png_png(Image.fromarray(rgb())), oracle=rgb),
        Item(
            "png-rgb-trns.png",
            "8-bit RGB PNG with a tRNS colour",
            lambda: png_png(
                Image.fromarray(rgb()), transparency=tuple(int(v) for v in rgb()[0, 0])
            ),
            ["Transparency"],
            oracle=rgb,
        ),
        Item(
            "png-rgba.png",
            "8-bit RGBA PNG, some pixels fully transparent",
            lambda: png_png(Image.fromarray(with_alpha(rgb(), 0xA2), "RGBA")),
            ["Alpha"],
            oracle=rgb,
        ),
        Item(
            "png-rgb16.png",
            "16-bit RGB PNG (Pillow reads it as RGB, high bytes)",
            lambda: raw_png(16, 2, [r.astype(">u2").tobytes() for r in prng16(0xB18, (H, W, 3))]),
            ["SixteenBit"],
            oracle=lambda: (prng16(0xB18, (H, W, 3)) >> 8).astype(np.uint8),
        ),
        Item(
            "png-rgba16.png",
            "16-bit RGBA PNG (Pillow reads it as RGBA, high bytes)",
            lambda: raw_png(16, 6, [r.astype(">u2").tobytes() for r in prng16(0xB19, (H, W, 4))]),
            ["Alpha", "SixteenBit"],
            oracle=lambda: (prng16(0xB19, (H, W, 4))[:, :, :3] >> 8).astype(np.uint8),
        ),
        Item(
            "png-p.png",
            "8-bit palette PNG, 256 entries",
            lambda: png_png(palette_image(256, 0xC01)),
            ["Palette"],
            oracle=lambda: lookup(*palette_of(0xC01, 256)),
        ),
        Item(
            "png-p4.png",
            "4-bit palette PNG, 16 entries",
            lambda: png_png(palette_image(16, 0xC03), bits=4),
            ["Palette", "LowBitDepthPalette"],
            oracle=lambda: lookup(*palette_of(0xC03, 16)),
        ),
        Item(
            "png-p1.png",
            "1-bit palette PNG, 2 entries",
            lambda: png_png(palette_image(2, 0xC05), bits=1),
            ["Palette", "LowBitDepthPalette"],
            oracle=lambda: lookup(*palette_of(0xC05, 2)),
        ),
        Item(
            "png-p-trns.png",
            "8-bit palette PNG with a tRNS chunk (alpha per entry)",
            lambda: png_png(
                palette_image(64, 0xC07), transparency=bytes(prng(0xC09, (64,)).tolist())
            ),
            ["Palette", "Transparency"],
            oracle=lambda: lookup(*palette_of(0xC07, 64)),
        ),
        Item(
            "png-p-short.png",
            "8-bit palette PNG with 5 entries and indices up to 7",
            lambda: raw_png(
                8,
                3,
                [bytes(r) for r in (prng(0xC0B, (H, W)) % 8).astype(np.uint8)],
                [(b"PLTE", bytes(prng(0xC0D, (15,)).tolist()))],
            ),
            ["Palette", "PaletteIndexOutOfRange"],
            oracle=lambda: lookup((prng(0xC0B, (H, W)) % 8).astype(np.uint8), prng(0xC0D, (15,))),
        ),
        Item(
            "png-apng.png",
            "animated PNG, 2 frames (the default image is the first frame)",
            lambda: png_png(
                Image.fromarray(rgb()),
                save_all=True,
                append_images=[Image.fromarray(255 - rgb())],
                duration=100,
            ),
            ["Animated"],
            oracle=rgb,
        ),
    ]
    for v in range(1, 9):
        items.append(
            Item(
                f"png-exif{v}.png",
                f"8-bit RGB PNG with eXIf orientation {v}",
                lambda v=v: png_png(Image.fromarray(rgb()), exif=exif_orientation(v)),
                ["Orientation"],
                oracle=rgb,
            )
        )
    items += [
        Item(
            "gif-p-trns-anim.gif",
            "GIF, palette with a transparent index, 2 frames",
            lambda: pillow(
                palette_image(32, 0xC11),
                "GIF",
                transparency=3,
                save_all=True,
                append_images=[palette_image(32, 0xC13)],
                duration=100,
            ),
            ["Palette", "Transparency", "Animated"],
        ),
        Item(
            "tiff-pa.tif",
            "TIFF palette + alpha (Pillow mode PA)",
            lambda: pillow(_pa_image(), "TIFF"),
            ["PaletteAlpha"],
            oracle=lambda: lookup(*palette_of(0xC15, 32)),
        ),
        Item(
            "tiff-cmyk.tif",
            "TIFF CMYK (lossless)",
            lambda: pillow(Image.fromarray(prng(0xC3, (H, W, 4)), "CMYK"), "TIFF"),
            ["CMYK"],
            # Pillow's own C cmyk2rgb: independent of the numpy formula in runtime/decode.py.
            oracle=lambda: np.asarray(
                Image.fromarray(prng(0xC3, (H, W, 4)), "CMYK").convert("RGB")
            ),
        ),
        Item(
            "jpeg-l.jpg",
            "greyscale JPEG q90",
            lambda: pillow(Image.fromarray(grey), "JPEG", quality=90),
            ["Grey", "Lossy"],
        ),
        Item(
            "jpeg-rgb.jpg",
            "RGB (YCbCr) JPEG q90",
            lambda: pillow(Image.fromarray(rgb()), "JPEG", quality=90),
            ["Lossy"],
        ),
        Item(
            "jpeg-cmyk.jpg",
            "CMYK JPEG q90 (Adobe)",
            lambda: pillow(Image.fromarray(prng(0xC4, (H, W, 4)), "CMYK"), "JPEG", quality=90),
            ["CMYK", "Lossy"],
        ),
        Item(
            "tiff-i.tif",
            "TIFF 32-bit integer grey (mode I)",
            lambda: pillow(Image.fromarray(prng(0x1, (H, W)).astype(np.int32) * 1000, "I"), "TIFF"),
            ["UnsupportedMode"],
            "invalid",
        ),
        Item(
            "tiff-f.tif",
            "TIFF 32-bit float grey (mode F)",
            lambda: pillow(Image.fromarray(prng(0x2, (H, W)).astype(np.float32) / 7, "F"), "TIFF"),
            ["UnsupportedMode"],
            "invalid",
        ),
        Item(
            "tiff-lab.tif",
            "TIFF CIE L*a*b* (mode LAB)",
            lambda: pillow(Image.fromarray(prng(0x3, (H, W, 3)), "LAB"), "TIFF"),
            ["UnsupportedMode"],
            "invalid",
        ),
    ]
    return items


def _pa_image() -> Image.Image:
    p = palette_image(32, 0xC15)
    pa = p.convert("PA")  # keeps the indices and palette, adds an alpha band
    alpha = Image.fromarray(prng(0xC17, (H, W)), "L")
    pa.putalpha(alpha)
    return pa


# ----- expected results ------------------------------------------------------------------------


def _expect(
    name: str, data: bytes, result: str, oracle: Callable[[], np.ndarray] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Input and expected objects; the runtime's own decode is the reference (spec step 1-2)."""
    from nhkit.runtime.decode import decode_image
    from nhkit.runtime.errors import ImageDecodeError

    im = Image.open(io.BytesIO(data))
    inp = {"file": name, "format": im.format, "mode": im.mode, "width": im.width,
           "height": im.height}  # fmt: skip
    if result == "invalid":
        try:
            decode_image(data, name=name)
        except ImageDecodeError as exc:
            assert name in str(exc) and im.mode in str(exc), exc
            return inp, {}
        raise AssertionError(f"{name}: expected a decode error")
    d = decode_image(data, name=name)
    rgb = np.ascontiguousarray(d.rgb)
    if oracle is not None:
        want = oriented(np.asarray(oracle(), dtype=np.uint8), d.orientation)
        assert np.array_equal(rgb, want), f"{name}: the runtime's decode is not the spec's"
    return inp, {
        "width": int(rgb.shape[1]),
        "height": int(rgb.shape[0]),
        "orientation": d.orientation,
        "decoded": hashlib.sha256(rgb.tobytes()).hexdigest(),
    }


def build() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in _items():
        data = item.make()
        assert item.file not in files, item.file
        files[item.file] = data
        inp, expected = _expect(item.file, data, item.result, item.oracle)
        group = "lossy" if "Lossy" in item.flags else "lossless"
        groups.setdefault(group, []).append(
            {
                "tcId": 0,
                "comment": item.comment,
                "flags": item.flags,
                "result": item.result,
                "input": inp,
                "expected": expected,
            }
        )
    n = 0
    test_groups = []
    comments = {
        "lossless": "lossless files: every decoder that reads the format must give these bytes",
        "lossy": "lossy files: the reference decoder's bytes (bridges: not compared)",
    }
    for key in ("lossless", "lossy"):
        for t in groups[key]:
            n += 1
            t["tcId"] = n
        test_groups.append(
            {"type": "DecodeTest", "comment": comments[key], "params": {}, "tests": groups[key]}
        )
    used = sorted({f for g in test_groups for t in g["tests"] for f in t["flags"]})
    doc = {
        "schema": "nhkit-vectors-v1",
        "jsonSchema": SCHEMA_PATH,
        "algorithm": "nh-spec-v1/decode",
        "generatorVersion": "1",
        "header": [
            "Spec step 1 (decode, modes) and step 2 (orientation applied): one small file per "
            "stored mode (docs/spec/nh-spec-v1.md section 1's table).",
            "Made by tests/decode_modes/make.py; `decoded` is the sha256 of the oriented RGB8 "
            "bytes (row-major R,G,B), `width`/`height` the oriented size.",
        ],
        "notes": {f: NOTES[f] for f in used},
        "numberOfTests": n,
        "testGroups": test_groups,
    }
    text = _render(doc, 0) + "\n"
    assert json.loads(text) == doc
    files["decode_modes.json"] = text.encode("ascii")
    return files


def main(argv: list[str]) -> int:
    files = build()
    if "--check" in argv:
        stale = [
            n for n, d in files.items() if not (HERE / n).is_file() or (HERE / n).read_bytes() != d
        ]
        present = {p.name for p in HERE.iterdir() if p.is_file() and p.name != "make.py"}
        extra = sorted(present - set(files))
        for n in stale:
            print(f"stale: tests/decode_modes/{n} (run python tests/decode_modes/make.py)")
        for n in extra:
            print(f"not made by make.py: tests/decode_modes/{n}")
        return 1 if stale or extra else 0
    for n, d in files.items():
        tmp = HERE / (n + ".tmp")
        tmp.write_bytes(d)
        tmp.replace(HERE / n)
    print(f"wrote {len(files)} files to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
