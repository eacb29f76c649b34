"""Spec step 2, where the orientation tag comes from: JPEG and PNG metadata read from the bytes.

nh-spec-v1 section 2 lists exactly which metadata counts (EXIF in JPEG APP1 and PNG eXIf or
"Raw profile type exif" text chunks, else XMP ``tiff:Orientation``), the same sources Pillow
13.0.0's ``Image.getexif`` reads for these formats. This module is ours rather than Pillow's
because the Swift and Java bridges cannot call Pillow: all three languages implement the same
byte-level rules below and are checked on the same fixture files (tests/decode_fixtures/), and a
test checks that Pillow's ``getexif`` agrees on every fixture. Other formats (TIFF, WebP, ...)
keep Pillow's own reading (see decode.py).

Anything unreadable (a truncated segment, a bad offset, bad hex) means "no tag here", never an
error: metadata must not make an image unhashable.
"""

from __future__ import annotations

import re
import struct
import zlib

__all__ = ["orientation_from_bytes", "NOT_FOUND"]

NOT_FOUND: None = None
_ORIENTATION = 0x0112
_EXIF_PREFIX = b"Exif\x00\x00"
_XMP_PREFIX = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_PATTERN = re.compile(rb'tiff:Orientation(="|>)([0-9])')
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def orientation_from_bytes(data: bytes) -> int | None:
    """The raw orientation value of a JPEG or PNG file (not yet limited to 1..8), ``None`` when
    the file has none, or when it is neither JPEG nor PNG (the caller then asks its decoder)."""
    if data.startswith(b"\xff\xd8"):
        exif, xmp = _jpeg_metadata(data)
    elif data.startswith(_PNG_SIGNATURE):
        exif, xmp = _png_metadata(data)
    else:
        return None
    tag = _exif_orientation(exif) if exif is not None else None
    if tag is None and xmp is not None:
        m = _XMP_PATTERN.search(xmp)
        if m:
            tag = int(m.group(2))
    return tag


def _jpeg_metadata(data: bytes) -> tuple[bytes | None, bytes | None]:
    """APP1 segments before the first SOS: every EXIF payload (concatenated), the last XMP."""
    exif: bytes | None = None
    xmp: bytes | None = None
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            pos += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan, end of image
            break
        length = (data[pos + 2] << 8) | data[pos + 3]
        if length < 2 or pos + 2 + length > n:
            break
        payload = data[pos + 4 : pos + 2 + length]
        if marker == 0xE1:
            if payload.startswith(_EXIF_PREFIX):
                exif = payload if exif is None else exif + payload[6:]
            elif payload.startswith(_XMP_PREFIX):
                xmp = payload[len(_XMP_PREFIX) :]
        pos += 2 + length
    return exif, xmp


def _png_metadata(data: bytes) -> tuple[bytes | None, bytes | None]:
    """Every chunk up to IEND: the last eXIf, else the last raw-profile text; the last XMP."""
    exif: bytes | None = None
    raw_profile: bytes | None = None
    xmp: bytes | None = None
    pos, n = 8, len(data)
    while pos + 8 <= n:
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            break
        pos += 12 + length
        if ctype == b"IEND":
            break
        if ctype == b"eXIf":
            exif = _EXIF_PREFIX + body
        elif ctype in (b"tEXt", b"zTXt", b"iTXt"):
            key, value = _png_text(ctype, body)
            if key == b"Raw profile type exif" and value is not None:
                raw_profile = value
            elif key == b"XML:com.adobe.xmp" and value is not None:
                xmp = value
    if exif is None and raw_profile is not None:
        exif = _raw_profile_bytes(raw_profile)
    return exif, xmp


def _png_text(ctype: bytes, body: bytes) -> tuple[bytes | None, bytes | None]:
    """(keyword, text bytes) of a tEXt, zTXt or iTXt chunk; (None, None) if malformed."""
    key, sep, rest = body.partition(b"\x00")
    if not sep and ctype != b"tEXt":
        return None, None
    try:
        if ctype == b"tEXt":
            return key, rest
        if ctype == b"zTXt":
            if not rest or rest[0] != 0:
                return None, None
            return key, _inflate(rest[1:])
        # iTXt: flag, method, language\0, translated keyword\0, text
        if len(rest) < 2:
            return None, None
        flag, method, tail = rest[0], rest[1], rest[2:]
        parts = tail.split(b"\x00", 2)
        if len(parts) < 3:
            return None, None
        text = parts[2]
        if flag != 0:
            if method != 0:
                return None, None
            text = _inflate(text)
        return key, text
    except zlib.error:
        return None, None


# nh-spec-v1 section 2: a compressed text chunk inflating to more than this is unreadable (no tag
# from it), as Pillow refuses such chunks (PngImagePlugin.MAX_TEXT_CHUNK). Without the cap a
# 0.5 MB PNG whose zTXt inflates to 512 MiB took 1 GB of memory here and killed the JVM bridge
# with OutOfMemoryError (found by the bridges' fuzzing review).
MAX_INFLATED_TEXT = 1 << 20


def _inflate(data: bytes) -> bytes:
    """zlib data inflated; zlib.error when corrupt, cut short or longer than MAX_INFLATED_TEXT
    (the chunk is then malformed, as any other unreadable chunk)."""
    d = zlib.decompressobj()
    out = d.decompress(data, MAX_INFLATED_TEXT + 1)
    if len(out) > MAX_INFLATED_TEXT:
        raise zlib.error(f"inflates to more than {MAX_INFLATED_TEXT} bytes")
    if not d.eof:
        raise zlib.error("incomplete or truncated stream")
    return out


def _raw_profile_bytes(text: bytes) -> bytes | None:
    """ImageMagick's "Raw profile type exif": "\\nexif\\n<length>\\n<hex lines>"; lines 4 on are
    hex (ASCII whitespace allowed between two-digit pairs: ``bytes.fromhex``)."""
    hex_text = b"".join(text.split(b"\n")[3:])
    try:
        return bytes.fromhex(hex_text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None


def _exif_orientation(block: bytes) -> int | None:
    """Tag 0x0112 of IFD0 of a TIFF-structured EXIF block (after one or two "Exif\\0\\0")."""
    for _ in range(2):
        if block.startswith(_EXIF_PREFIX):
            block = block[6:]
    if len(block) < 8:
        return None
    order = block[:4]
    if order == b"II*\x00":
        end = "<"
    elif order == b"MM\x00*":
        end = ">"
    else:
        return None
    (ifd,) = struct.unpack(end + "I", block[4:8])
    if ifd + 2 > len(block):
        return None
    (count,) = struct.unpack(end + "H", block[ifd : ifd + 2])
    if ifd + 2 + 12 * count > len(block):  # entry table runs past the end: unreadable
        return None
    for i in range(count):
        entry = block[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        number, ftype, n = struct.unpack(end + "HHI", entry[:8])
        if number != _ORIENTATION:
            continue
        if n == 0:  # no value: as if absent
            return None
        size = _INTEGER_TYPES.get(ftype)
        if size is None:  # present, but not an integer type: means 1
            return 0
        value = entry[8 : 8 + size]
        if n * size > 4:  # values stored elsewhere: the first one
            (offset,) = struct.unpack(end + "I", entry[8:12])
            value = block[offset : offset + size]
            if len(value) < size:
                return None
        return struct.unpack(end + _INTEGER_TYPES_FMT[ftype], value)[0]
    return None


# TIFF field types read as integers: SHORT, LONG, SSHORT, SLONG (byte size, struct format).
_INTEGER_TYPES = {3: 2, 4: 4, 8: 2, 9: 4}
_INTEGER_TYPES_FMT = {3: "H", 4: "I", 8: "h", 9: "i"}
