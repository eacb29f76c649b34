"""A small wide-gamut ICC profile for the self-test case that catches colour-managing decoders.

nh-spec-v1 step 1 ignores embedded profiles: the stored samples are hashed as they are. A device
decoder that honours the profile (converting ProPhoto-like primaries to sRGB or Display P3)
changes saturated pixels a lot, so a lossless PNG carrying this profile fails the stage-digest
check at once. The profile is built here (a valid ICC v2 matrix/TRC display profile: header, tag
table, desc, wtpt, rXYZ/gXYZ/bXYZ and a gamma-1.8 curve shared by rTRC/gTRC/bTRC) because Pillow's
ImageCms can only create sRGB/Lab/XYZ profiles and the project ships no ICC files.
"""

from __future__ import annotations

import struct

__all__ = ["wide_gamut_icc"]

# ProPhoto RGB (ROMM) primaries as D50-adapted XYZ colourants, D50 white point.
_COLOURANTS = {
    "rXYZ": (0.7977, 0.2880, 0.0000),
    "gXYZ": (0.1352, 0.7119, 0.0000),
    "bXYZ": (0.0313, 0.0001, 0.8249),
}
_D50 = (0.9642, 1.0000, 0.8249)


def _s15f16(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(xyz: tuple[float, float, float]) -> bytes:
    return b"XYZ " + b"\0" * 4 + b"".join(_s15f16(v) for v in xyz)


def _desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return (
        b"desc"
        + b"\0" * 4
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + b"\0" * 4
        + b"\0" * 4
        + b"\0" * 2
        + b"\0"
        + b"\0" * 67
    )


def wide_gamut_icc(
    description: str = "nhkit self-test wide-gamut RGB (ProPhoto primaries)",
) -> bytes:
    """The profile's bytes (about 500)."""
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(1.8 * 256)) + b"\0\0"
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _desc(description)),
        (b"wtpt", _xyz(_D50)),
        (b"rXYZ", _xyz(_COLOURANTS["rXYZ"])),
        (b"gXYZ", _xyz(_COLOURANTS["gXYZ"])),
        (b"bXYZ", _xyz(_COLOURANTS["bXYZ"])),
        (b"cprt", b"text" + b"\0" * 4 + b"public domain\0"),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    table_len = 4 + 12 * len(tags)
    offset = 128 + table_len
    entries, data, seen = [], b"", {}
    for sig, body in tags:
        if body not in seen:  # TRC curves share one element
            pad = (-len(data)) % 4
            data += b"\0" * pad
            seen[body] = offset + len(data)
            data += body
        entries.append(sig + struct.pack(">II", seen[body], len(body)))
    size = 128 + table_len + len(data)
    header = (
        struct.pack(">I", size)
        + b"none"
        + bytes([2, 0x10, 0, 0])
        + b"mntr"
        + b"RGB "
        + b"XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 4
        + b"\0" * 4
        + b"\0" * 4
        + b"\0" * 4
        + b"\0" * 8
        + struct.pack(">I", 0)
        + b"".join(_s15f16(v) for v in _D50)
        + b"\0" * 4
        + b"\0" * 16
        + b"\0" * 28
    )
    assert len(header) == 128, len(header)
    return header + struct.pack(">I", len(tags)) + b"".join(entries) + data
