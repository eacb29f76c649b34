"""Helpers shared by the Core ML executor tests: package paths, protobuf encoding."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

QUIET = pytest.mark.filterwarnings("ignore")


def _copy(pkg: Path, tmp_path: Path) -> Path:
    dst = tmp_path / pkg.name
    shutil.copytree(pkg, dst)
    return dst


def _weights(pkg: Path) -> Path:
    return pkg / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"


def _spec_path(pkg: Path) -> Path:
    return pkg / "Data" / "com.apple.CoreML" / "model.mlmodel"


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _ld(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _save_program(prog, tmp_path: Path, name: str = "m.mlpackage") -> Path:  # noqa: ANN001
    import coremltools as ct

    model = ct.convert(
        prog,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
        compute_precision=ct.precision.FLOAT32,
        skip_model_load=True,
    )
    path = tmp_path / name
    model.save(str(path))
    return path
