"""A minimal protobuf wire-format reader, enough to decode a Core ML model spec.

Why hand-written and not vendored `*_pb2.py` classes: the generated classes pin the protobuf
runtime (protobuf's generated code refuses to load under a runtime older than the generator, and
new majors routinely break old generated code), which would make `protobuf==7.36.2` a hard
runtime dependency of the light install and a source of version conflicts with whatever else the
host application imports. The protobuf *wire format* itself has been frozen since 2008, and the
Core ML executor needs only a dozen small messages (Model.proto / MIL.proto), so a ~150-line
decoder keeps the runtime at numpy + pillow + onnxruntime and can never drift from the format.

The decoder is schema-less: `parse` turns a message into `Fields` (field number -> values in wire
order). Typed accessors then interpret the values the way the schema says; unknown fields are
skipped, exactly as a generated parser would do. Errors raise `WireError` with a byte offset, so a
corrupt file is reported instead of being decoded into garbage.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LEN = 2
WIRE_FIXED32 = 5

WireValue = int | memoryview


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(buf: memoryview, pos: int) -> tuple[int, int]:
    """Decode one base-128 varint at `pos`; returns (value, new position)."""
    result = 0
    shift = 0
    n = len(buf)
    while True:
        if pos >= n:
            raise WireError(f"truncated varint at byte {pos}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError(f"varint longer than 10 bytes at byte {pos}")


def iter_fields(buf: memoryview) -> Iterator[tuple[int, int, WireValue]]:
    """Yield (field number, wire type, value) for every field of one message, in order.

    Varints are returned as unsigned ints; fixed32/fixed64 and length-delimited fields as
    memoryviews into `buf` (no copies, so large immediate tensors stay cheap)."""
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise WireError(f"field number 0 at byte {pos}")
        if wire == WIRE_VARINT:
            value, pos = read_varint(buf, pos)
            yield field, wire, value
        elif wire == WIRE_LEN:
            length, pos = read_varint(buf, pos)
            end = pos + length
            if end > n:
                raise WireError(
                    f"field {field}: {length} bytes declared at byte {pos}, only {n - pos} left"
                )
            yield field, wire, buf[pos:end]
            pos = end
        elif wire == WIRE_FIXED32 or wire == WIRE_FIXED64:
            size = 4 if wire == WIRE_FIXED32 else 8
            if pos + size > n:
                raise WireError(f"field {field}: truncated fixed{size * 8} at byte {pos}")
            yield field, wire, buf[pos : pos + size]
            pos += size
        else:  # 3/4 are deprecated groups (never used by Core ML), 6/7 do not exist
            raise WireError(f"field {field}: unsupported wire type {wire} at byte {pos}")


# Fields has methods named int, str, bool and bytes (the protobuf scalar kinds they read);
# inside the class those names are the methods, so annotations use these aliases.
Int = int
Str = str
Bool = bool
Bytes = bytes


def _view(value: WireValue, field: int, what: str) -> memoryview:
    if not isinstance(value, memoryview):
        raise WireError(f"field {field} ({what}): a varint where bytes were expected")
    return value


class Fields:
    """One decoded message: field number -> list of (wire type, value), in wire order."""

    __slots__ = ("_f",)

    def __init__(self, buf: Bytes | memoryview) -> None:
        self._f: dict[Int, list[tuple[Int, WireValue]]] = {}
        for field, wire, value in iter_fields(memoryview(buf)):
            self._f.setdefault(field, []).append((wire, value))

    def has(self, field: Int) -> Bool:
        return field in self._f

    def numbers(self) -> list[Int]:
        return list(self._f)

    def _all(self, field: Int, wire: Int, what: Str) -> list[WireValue]:
        out = []
        for w, v in self._f.get(field, ()):
            if w != wire:
                raise WireError(f"field {field} ({what}): wire type {w}, expected {wire}")
            out.append(v)
        return out

    def _views(self, field: Int, what: Str) -> list[memoryview]:
        return [_view(v, field, what) for v in self._all(field, WIRE_LEN, what)]

    # scalars: proto3 semantics, the last occurrence wins and absence means the default
    def uint(self, field: Int, default: Int = 0) -> Int:
        vals = self._all(field, WIRE_VARINT, "integer")
        return int(vals[-1]) if vals else default

    def int(self, field: Int, default: Int = 0) -> Int:
        """int32/int64 (two's complement in 64 bits on the wire)."""
        v = self.uint(field, default)
        return v - (1 << 64) if v >= 1 << 63 else v

    def bool(self, field: Int) -> Bool:
        return self.uint(field) != 0

    def bytes(self, field: Int) -> memoryview | None:
        vals = self._views(field, "bytes")
        return vals[-1] if vals else None

    def str(self, field: Int) -> Str:
        b = self.bytes(field)
        if b is None:
            return ""
        try:
            return Bytes(b).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WireError(f"field {field}: invalid UTF-8 string") from exc

    def message(self, field: Int) -> Fields | None:
        """A sub-message; repeated occurrences of a non-repeated message are merged (proto rule)."""
        vals = self._views(field, "message")
        if not vals:
            return None
        if len(vals) == 1:
            return Fields(vals[0])
        return Fields(b"".join(Bytes(v) for v in vals))

    def messages(self, field: Int) -> list[Fields]:
        return [Fields(v) for v in self._views(field, "message")]

    def strings(self, field: Int) -> list[Str]:
        out = []
        for v in self._views(field, "string"):
            try:
                out.append(Bytes(v).decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise WireError(f"field {field}: invalid UTF-8 string") from exc
        return out

    def map(self, field: Int) -> dict[Str, Fields]:
        """map<string, Message>: entries are messages with key = 1, value = 2."""
        out: dict[Str, Fields] = {}
        for entry in self.messages(field):
            value = entry.message(2)
            out[entry.str(1)] = value if value is not None else Fields(b"")
        return out

    # repeated numeric fields: accept both packed (proto3 default) and unpacked encodings
    def packed_varints(self, field: Int, signed: Bool = False) -> list[Int]:
        out: list[Int] = []
        for w, v in self._f.get(field, ()):
            if w == WIRE_VARINT and isinstance(v, Int):
                out.append(v)
            elif w == WIRE_LEN:
                buf = _view(v, field, "packed integers")
                pos = 0
                while pos < len(buf):
                    x, pos = read_varint(buf, pos)
                    out.append(x)
            else:
                raise WireError(f"field {field}: wire type {w} for a repeated integer")
        if signed:
            out = [x - (1 << 64) if x >= 1 << 63 else x for x in out]
        return out

    def packed_fixed(self, field: Int, dtype: Str) -> np.ndarray:
        """Repeated float (`<f4`) or double (`<f8`), packed or not, as a numpy array."""
        size = np.dtype(dtype).itemsize
        wire_single = WIRE_FIXED32 if size == 4 else WIRE_FIXED64
        chunks: list[Bytes] = []
        for w, v in self._f.get(field, ()):
            if w == WIRE_LEN:
                data = _view(v, field, f"packed {dtype}")
                if len(data) % size:
                    raise WireError(
                        f"field {field}: packed length {len(data)} not a multiple of {size}"
                    )
                chunks.append(Bytes(data))
            elif w == wire_single:
                chunks.append(Bytes(_view(v, field, dtype)))
            else:
                raise WireError(f"field {field}: wire type {w} for a repeated {dtype}")
        return np.frombuffer(b"".join(chunks), dtype=dtype).copy()
