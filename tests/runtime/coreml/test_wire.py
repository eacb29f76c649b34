"""The protobuf wire reader (nhkit.runtime.coreml.wire).

Split from the former tests/test_coreml_executor.py; tests that need packages made by
coremltools skip when it is not installed."""

from __future__ import annotations

import struct

import pytest
from coreml_helpers import _key, _ld, _varint

from nhkit.runtime.coreml.wire import Fields, WireError


def test_wire_reader_decodes_proto3_encodings() -> None:
    entry = _ld(1, b"k") + _ld(2, _key(1, 0) + _varint(42))
    msg = (
        _key(1, 0)
        + _varint(-5)  # int32 -5: 10-byte varint
        + _ld(2, b"".join(_varint(v) for v in (1, 300, -2)))  # packed
        + _key(2, 0)
        + _varint(7)  # and one unpacked element
        + _ld(3, "héllo".encode())
        + _key(4, 5)
        + struct.pack("<f", 1.5)
        + _ld(4, struct.pack("<2f", 2.5, -3.0))
        + _ld(5, entry)
        + _ld(99, b"unknown fields are skipped")
    )
    f = Fields(msg)
    assert f.int(1) == -5
    assert f.packed_varints(2, signed=True) == [1, 300, -2, 7]
    assert f.str(3) == "héllo"
    assert f.packed_fixed(4, "<f4").tolist() == [1.5, 2.5, -3.0]
    assert f.map(5)["k"].uint(1) == 42
    assert f.int(6, default=9) == 9 and f.message(6) is None


@pytest.mark.parametrize(
    "data, what",
    [
        (_key(1, 2) + _varint(10) + b"abc", "declared"),
        (bytes([0x08, 0x80]), "truncated varint"),
        (_key(1, 3), "wire type 3"),
        (_key(1, 5) + b"\x00\x01", "truncated fixed32"),
    ],
)
def test_wire_reader_rejects_corrupt_bytes(data: bytes, what: str) -> None:
    with pytest.raises(WireError, match=what):
        Fields(data)
