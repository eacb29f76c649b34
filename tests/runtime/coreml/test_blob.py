"""Core ML weight blobs and sub-byte unpacking (nhkit.runtime.coreml.blob).

Split from the former tests/test_coreml_executor.py; tests that need packages made by
coremltools skip when it is not installed."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from nhkit.runtime.coreml.blob import BlobError, BlobFile, unpack_sub_byte


def _pack_like_milblob(vals: np.ndarray, bits: int) -> bytes:
    """Port of MILBlob's PackSubByteVecForNonByteAligned (SubByteTypes.cpp): element i at bits
    [bits*i, bits*i + bits), LSB first, spilling into the next byte."""
    out = bytearray(-(-len(vals) * bits // 8))
    mask = (1 << bits) - 1
    for i, v in enumerate(vals.tolist()):
        v &= mask
        idx, off = divmod(bits * i, 8)
        out[idx] |= (v << off) & 0xFF
        if off > 8 - bits:
            out[idx + 1] |= v >> (8 - off)
    return bytes(out)


@pytest.mark.parametrize(
    "dtype, bits, lo, hi",
    [
        ("uint1", 1, 0, 1),
        ("uint2", 2, 0, 3),
        ("uint3", 3, 0, 7),
        ("uint4", 4, 0, 15),
        ("uint6", 6, 0, 63),
        ("int4", 4, -8, 7),
    ],
)
@pytest.mark.parametrize("count", [1, 7, 13, 1001])
def test_unpack_sub_byte_inverts_milblob_packing(
    dtype: str, bits: int, lo: int, hi: int, count: int
) -> None:
    vals = np.random.default_rng(count * bits).integers(lo, hi + 1, count)
    got = unpack_sub_byte(_pack_like_milblob(vals, bits), dtype, count)
    assert got.dtype == (np.int8 if lo < 0 else np.uint8)
    assert got.tolist() == vals.tolist()


def _blob_file(path: Path, blobs: list[tuple[int, bytes, int]], version: int = 2) -> list[int]:
    """Write a MIL blob storage file; blobs are (dtype code, data, padding bits). Returns the
    metadata offsets a program would reference."""
    out = bytearray(struct.pack("<II", len(blobs), version) + bytes(56))
    offsets = []
    for code, data, pad in blobs:
        meta = len(out)
        offsets.append(meta)
        data_off = meta + 64
        out += struct.pack("<IIQQQ", 0xDEADBEEF, code, len(data), data_off, pad) + bytes(32)
        out += data
        out += bytes(-len(out) % 64)
    path.write_bytes(bytes(out))
    return offsets


def test_blob_reader_reads_typed_and_sub_byte_blobs(tmp_path: Path) -> None:
    h = np.array([1.5, -2.25, 65504], dtype=np.float16)
    u3 = np.array([5, 0, 7, 3, 1], dtype=np.uint8)
    path = tmp_path / "weight.bin"
    offs = _blob_file(
        path,
        [
            (1, h.tobytes(), 0),
            (12, _pack_like_milblob(u3, 3), 1),
            (4, np.array([-128, 127], np.int8).tobytes(), 0),
        ],
    )
    bf = BlobFile(path)
    assert bf.read(offs[0], "fp16", (3,)).tolist() == h.tolist()
    assert bf.read(offs[1], "uint3", (5,)).tolist() == u3.tolist()
    assert bf.read(offs[2], "int8", (1, 2)).tolist() == [[-128, 127]]
    with pytest.raises(BlobError, match="holds fp16 but the program declares fp32"):
        bf.read(offs[0], "fp32", (3,))
    with pytest.raises(BlobError, match="needs 8"):
        bf.read(offs[0], "fp16", (4,))
    with pytest.raises(BlobError, match="do not hold 6 uint3"):
        bf.read(offs[1], "uint3", (6,))
    with pytest.raises(BlobError, match="not a 64-byte aligned"):
        bf.read(offs[0] + 8, "fp16", (3,))
    with pytest.raises(BlobError, match="sentinel"):
        bf.read(offs[0] + 64, "fp16", (3,))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b[:40], "shorter than its 64-byte header"),
        (lambda b: b[: 64 + 70], "beyond the end|run past the end"),
        (lambda b: b[:4] + struct.pack("<I", 1) + b[8:], "storage version 1"),
        (lambda b: b[:68] + struct.pack("<I", 99) + b[72:], "unknown data type code 99"),
        (lambda b: b[:64] + struct.pack("<I", 0x12345678) + b[68:], "sentinel 0x12345678"),
        (lambda b: b[:72] + struct.pack("<Q", 4096) + b[80:], "run past the end"),
        (lambda b: b[:80] + struct.pack("<Q", 100) + b[88:], "not 64-byte aligned after"),
        (lambda b: b[:88] + struct.pack("<Q", 3) + b[96:], "invalid padding of 3 bits"),
    ],
)
def test_blob_reader_rejects_corrupt_files(tmp_path: Path, mutate, message: str) -> None:
    path = tmp_path / "weight.bin"
    offs = _blob_file(path, [(2, np.arange(8, dtype=np.float32).tobytes(), 0)])
    path.write_bytes(mutate(path.read_bytes()))
    with pytest.raises(BlobError, match=message) as info:
        BlobFile(path).read(offs[0], "fp32", (8,))
    assert str(path) in str(info.value)


def test_missing_blob_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(BlobError, match="weight file is missing") as info:
        BlobFile(tmp_path / "weights" / "weight.bin")
    assert "weight.bin" in str(info.value)
