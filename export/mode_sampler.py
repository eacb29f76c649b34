"""The bundle self-test's mode sampler: one tiny PNG per stored mode a device decoder must handle,
so a device checks spec step 1 (and step 2's orientations) mode by mode.

The full self-test cases run the model on a handful of photos; a wrong mode conversion (a 16-bit
PNG rounded instead of shifted, a palette's tRNS composited, grey drawn through a colour space)
shows there only as "decoded digest differs" on whichever case happens to use that mode, and most
modes are not used at all. The sampler's cases are decode-only (no model run, no rgb360 file):
each names its mode, and the device reports the `decoded` digest of the oriented RGB8 pixels
(docs/bundle-format.md, `decode_cases`). PNG only: the one lossless format every bridge's decoder
reads (ImageIO, Android's BitmapFactory, the Linux test decoder, javax.imageio); the modes of
other formats are covered by tests/decode_modes/ off device.

16-bit sample values are chosen so that the high byte (the spec's rule) differs from rounding
(v * 255 / 65535) and stays recoverable from a half float, since Android decodes 16-bit PNGs to
RGBA_F16: v < 0x4000 with a low byte in 16..239 (half-float spacing there is at most 8 units, so
round-to-nearest and truncating conversions both keep the high byte; tests/export checks it).
tests/decode_modes/ has the values where that path is off by one.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

W, H = 11, 7  # odd and not square, so a transposed orientation is visible in the size

# Each: high byte h, low byte l >= h + 129 (rounding would give h + 1), l in 16..239, v < 0x4000.
SIXTEEN_BIT_VALUES: tuple[int, ...] = (
    0x05C8,
    0x0AC8,
    0x10D0,
    0x1BE0,
    0x20C0,
    0x2DD8,
    0x33E8,
    0x38E0,
    0x0190,
    0x2AE0,
)


@dataclass(frozen=True)
class SamplerFile:
    """One sampler image: its bytes and the mode it stands for."""

    case_id: str
    filename: str
    data: bytes
    mode: str  # how the file stores its pixels, in spec step 1's table's words
    description: str


def _rgb() -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    return np.stack(
        [(x * 23 + y * 5) % 256, (y * 37 + x * 3) % 256, (x * y * 11 + 60) % 256], 2
    ).astype(np.uint8)


def _grey() -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    return ((x * 29 + y * 17) % 256).astype(np.uint8)


def _alpha() -> np.ndarray:
    a = ((np.arange(W * H).reshape(H, W) * 37) % 256).astype(np.uint8)
    a[0, :3] = 0  # fully transparent pixels whose stored colour must survive
    return a


def _sixteen(channels: int) -> np.ndarray:
    n = W * H * channels
    return np.resize(np.array(SIXTEEN_BIT_VALUES, dtype=np.uint16), n).reshape(H, W, channels)


def _png(im: Image.Image, **kw: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=False, compress_level=9, **kw)
    return buf.getvalue()


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + ctype
        + body
        + struct.pack(">I", zlib.crc32(ctype + body) & 0xFFFFFFFF)
    )


def _raw_png(depth: int, colour_type: int, rows: list[bytes]) -> bytes:
    """A PNG written chunk by chunk, for layouts Pillow cannot write (2-bit grey, 16-bit RGB(A))."""
    ihdr = struct.pack(">IIBBBBB", W, H, depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"".join(b"\x00" + r for r in rows), 9))
        + _chunk(b"IEND", b"")
    )


def _palette(colours: int) -> Image.Image:
    idx = (np.arange(W * H).reshape(H, W) * 7 % colours).astype(np.uint8)
    im = Image.frombytes("P", (W, H), idx.tobytes())
    pal = (np.arange(colours * 3) * 53 + 11) % 256
    im.putpalette(pal.astype(np.uint8).tolist())
    return im


def _two_bit_rows(grey: np.ndarray) -> list[bytes]:
    rows = []
    for row in grey // 64:  # 0..3
        padded = np.concatenate([row, np.zeros((-len(row)) % 4, dtype=np.uint8)])
        rows.append(
            bytes(
                int(a) << 6 | int(b) << 4 | int(c) << 2 | int(d)
                for a, b, c, d in padded.reshape(-1, 4)
            )
        )
    return rows


def _exif(v: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = v
    return exif.tobytes()


def sampler_files() -> list[SamplerFile]:
    """The sampler, in case order. Deterministic: the same bytes for the same Pillow/zlib."""
    grey, rgb, alpha = _grey(), _rgb(), _alpha()
    p_trns = _palette(16)
    out = [
        ("png-1", "1", "1-bit grey PNG", _png(Image.fromarray(grey > 127))),
        ("png-l2", "2-bit grey", "2-bit grey PNG (scaled: 0, 85, 170, 255)",
         _raw_png(2, 0, _two_bit_rows(grey))),
        ("png-l", "L", "8-bit grey PNG", _png(Image.fromarray(grey))),
        ("png-la", "LA", "8-bit grey+alpha PNG, some pixels fully transparent",
         _png(Image.fromarray(np.stack([grey, alpha], 2), "LA"))),
        ("png-i16", "I;16", "16-bit grey PNG (high byte, not rounded)",
         _raw_png(16, 0, [r.astype(">u2").tobytes() for r in _sixteen(1)])),
        ("png-rgb16", "16-bit RGB", "16-bit RGB PNG (high byte, not rounded)",
         _raw_png(16, 2, [r.astype(">u2").tobytes() for r in _sixteen(3)])),
        ("png-rgba", "RGBA", "8-bit RGBA PNG, some pixels fully transparent (colour kept)",
         _png(Image.fromarray(np.concatenate([rgb, alpha[:, :, None]], 2), "RGBA"))),
        ("png-rgba16", "16-bit RGBA", "16-bit RGBA PNG (high byte, alpha dropped)",
         _raw_png(16, 6, [r.astype(">u2").tobytes() for r in _sixteen(4)])),
        ("png-p", "P", "8-bit palette PNG, 200 entries", _png(_palette(200))),
        ("png-p4", "P (4-bit)", "4-bit palette PNG, 16 entries", _png(_palette(16), bits=4)),
        ("png-p-trns", "P + tRNS", "palette PNG with per-entry transparency (ignored), some 0",
         _png(p_trns, transparency=bytes([0, 0, 128] + [200] * 13))),
    ]  # fmt: skip
    for v in range(1, 9):
        out.append(
            (
                f"png-exif{v}",
                f"RGB, EXIF orientation {v}",
                f"RGB PNG with eXIf orientation {v}",
                _png(Image.fromarray(rgb), exif=_exif(v)),
            )
        )
    return [
        SamplerFile(f"d{i:02d}-{name}", f"d{i:02d}-{name}.png", data, mode, desc)
        for i, (name, mode, desc, data) in enumerate(out, 1)
    ]
