"""Reader for Core ML's MIL blob storage file (`weights/weight.bin`), format version 2.

Layout (coremltools `mlmodel/src/MILBlob/Blob/StorageFormat.hpp`, BSD-3-Clause, Apple Inc.):

- `storage_header`, 64 bytes: uint32 count, uint32 version (= 2), 7 x uint64 reserved.
- per blob, at a 64-byte aligned offset, a 64-byte `blob_metadata`: uint32 sentinel
  (0xDEADBEEF), uint32 dtype (`BlobDataType`), uint64 sizeInBytes, uint64 offset (of the data,
  absolute, 64-byte aligned), uint64 padding_size_in_bits (unused bits at the end of sub-byte
  data), 4 x uint64 reserved.
- A program's `BlobFileValue.offset` is the offset of the blob's *metadata*, not its data.

Everything is little-endian. Sub-byte types (uint1/2/3/4/6, int4) are packed LSB first: element
i occupies bits [n*i, n*i+n) of the byte stream, bit 0 being the least significant bit of byte 0
(`SubByteTypes.cpp`, `PackSubByteVecForNonByteAligned`), and int4 is two's complement.

Every check that can fail raises `BlobError` naming the file, so a corrupt package says which file
is bad and why (never silently reads the wrong bytes).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from ..errors import ModelError

STORAGE_VERSION = 2
HEADER_SIZE = 64
METADATA_SIZE = 64
ALIGNMENT = 64
SENTINEL = 0xDEADBEEF

# BlobDataType (MILBlob/Blob/BlobDataType.hpp) -> MIL type name
BLOB_DTYPES: dict[int, str] = {
    1: "fp16",
    2: "fp32",
    3: "uint8",
    4: "int8",
    5: "bf16",
    6: "int16",
    7: "uint16",
    8: "int4",
    9: "uint1",
    10: "uint2",
    11: "uint4",
    12: "uint3",
    13: "uint6",
    14: "int32",
    15: "uint32",
    16: "fp8e4m3fn",
    17: "fp8e5m2",
}
_BYTE_DTYPES: dict[str, str] = {
    "fp16": "<f2",
    "fp32": "<f4",
    "uint8": "u1",
    "int8": "i1",
    "int16": "<i2",
    "uint16": "<u2",
    "int32": "<i4",
    "uint32": "<u4",
}
_SUB_BYTE: dict[str, tuple[int, bool]] = {  # bits, signed
    "uint1": (1, False),
    "uint2": (2, False),
    "uint3": (3, False),
    "uint4": (4, False),
    "uint6": (6, False),
    "int4": (4, True),
}


class BlobError(ModelError):
    """A weight blob file is missing, truncated or inconsistent with the program."""


def unpack_sub_byte(
    raw: bytes | memoryview | np.ndarray, dtype: str, count: int, where: str = ""
) -> np.ndarray:
    """Unpack `count` n-bit values stored LSB first; int4 is sign-extended. Returns (u)int8."""
    bits, signed = _SUB_BYTE[dtype]
    data = np.frombuffer(raw, dtype=np.uint8) if not isinstance(raw, np.ndarray) else raw
    need = -(-count * bits // 8)
    if data.size < need:
        raise ValueError(f"{where}: {data.size} bytes hold fewer than {count} {dtype} values")
    if bits in (1, 2, 4):  # byte-aligned fields: shifts are cheaper than unpackbits
        per = 8 // bits
        shifts = np.arange(per, dtype=np.uint8) * bits
        vals = ((data[:need, None] >> shifts[None, :]) & ((1 << bits) - 1)).reshape(-1)[:count]
    else:
        bitarr = np.unpackbits(data[:need], bitorder="little")[: count * bits]
        weights = (1 << np.arange(bits, dtype=np.uint16)).astype(np.uint16)
        vals = (bitarr.reshape(count, bits).astype(np.uint16) * weights).sum(axis=1)
    vals = vals.astype(np.uint8)
    if signed:
        v = vals.astype(np.int16)
        v = np.where(v >= 1 << (bits - 1), v - (1 << bits), v)
        return v.astype(np.int8)
    return vals


class BlobFile:
    """A weight file opened once (memory-mapped), read blob by blob by metadata offset."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise BlobError(self.path, "weight file is missing")
        self.size = self.path.stat().st_size
        if self.size < HEADER_SIZE:
            raise BlobError(
                self.path,
                f"weight file is {self.size} bytes, shorter than its "
                f"{HEADER_SIZE}-byte header (truncated)",
            )
        self._map: np.ndarray = np.memmap(self.path, dtype=np.uint8, mode="r")
        count, version = struct.unpack_from("<II", self._map.data, 0)
        if version != STORAGE_VERSION:
            raise BlobError(
                self.path, f"blob storage version {version}, expected {STORAGE_VERSION}"
            )
        self.count = count

    def metadata(self, offset: int) -> tuple[str, int, int, int]:
        """(dtype name, data offset, data size in bytes, padding bits) of the blob at `offset`."""
        p = self.path
        if offset % ALIGNMENT or offset < HEADER_SIZE:
            raise BlobError(
                p,
                f"blob offset {offset} is not a 64-byte aligned position after "
                "the header (bad offset)",
            )
        if offset + METADATA_SIZE > self.size:
            raise BlobError(
                p,
                f"blob metadata at offset {offset} lies beyond the end of the "
                f"{self.size}-byte file (bad offset or truncated file)",
            )
        sentinel, code, size, data_off, pad_bits = struct.unpack_from(
            "<IIQQQ", self._map.data, offset
        )
        if sentinel != SENTINEL:
            raise BlobError(
                p,
                f"no blob metadata at offset {offset} (sentinel 0x{sentinel:08x}, "
                f"expected 0x{SENTINEL:08x}; bad offset or corrupt file)",
            )
        dtype = BLOB_DTYPES.get(code)
        if dtype is None:
            raise BlobError(p, f"blob at offset {offset} has unknown data type code {code}")
        if data_off % ALIGNMENT or data_off < offset + METADATA_SIZE:
            raise BlobError(
                p,
                f"blob at offset {offset}: data offset {data_off} is not 64-byte "
                "aligned after its metadata",
            )
        if data_off + size > self.size:
            raise BlobError(
                p,
                f"blob at offset {offset}: {size} bytes at {data_off} run past the "
                f"end of the {self.size}-byte file (truncated)",
            )
        if pad_bits >= 8 or (pad_bits and dtype not in _SUB_BYTE):
            raise BlobError(
                p, f"blob at offset {offset}: invalid padding of {pad_bits} bits for {dtype}"
            )
        return dtype, data_off, size, pad_bits

    def read(self, offset: int, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
        """The tensor of MIL type `dtype` and `shape` stored at metadata `offset`, as a new array.

        The blob's stored type must equal the program's declared type and its element count the
        declared shape's, as Core ML's `StorageReader` requires; sub-byte values are unpacked to
        (u)int8 and fp16 stays float16."""
        stored, data_off, size, pad_bits = self.metadata(offset)
        if stored != dtype:
            raise BlobError(
                self.path,
                f"blob at offset {offset} holds {stored} but the program declares {dtype}",
            )
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        raw = self._map[data_off : data_off + size]
        if dtype in _SUB_BYTE:
            bits = _SUB_BYTE[dtype][0]
            n_stored = (size * 8 - pad_bits) // bits
            if (size * 8 - pad_bits) % bits or n_stored != count:
                raise BlobError(
                    self.path,
                    f"blob at offset {offset}: {size} bytes with "
                    f"{pad_bits} padding bits do not hold {count} {dtype} "
                    f"values for shape {list(shape)}",
                )
            return unpack_sub_byte(np.asarray(raw), dtype, count).reshape(shape)
        np_code = _BYTE_DTYPES.get(dtype)
        if np_code is None:
            raise BlobError(
                self.path,
                f"blob at offset {offset}: data type {dtype} is not supported by the executor",
            )
        item = np.dtype(np_code).itemsize
        if size != count * item:
            raise BlobError(
                self.path,
                f"blob at offset {offset}: {size} bytes, but shape "
                f"{list(shape)} of {dtype} needs {count * item}",
            )
        arr = np.frombuffer(raw.tobytes(), dtype=np_code)
        return arr.astype(np.dtype(np_code).newbyteorder("="), copy=False).reshape(shape)

    def close(self) -> None:
        """Drop the memory map (weights already read stay valid: they are copies)."""
        mm = getattr(self._map, "_mmap", None)
        self._map = np.zeros(0, dtype=np.uint8)
        if mm is not None:
            mm.close()
