"""Digests and identities: what nhkit computes to say "these are the same bytes/model/seed".

One home for every such formula, shared by the Hasher, the self-test, bundles, golden sets and
reports, so they cannot drift apart. A file-format module needs these without an image library,
so this module imports neither Pillow nor the Hasher (numpy and the standard library only).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np

from .seed import seed_to_f32_bytes
from .tensor import normalise


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Lowercase hex sha256 of a file's bytes, read in 1 MiB blocks (models can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes | bytearray | memoryview) -> str:
    """Lowercase hex sha256 of bytes in memory."""
    return hashlib.sha256(data).hexdigest()


# ----- stage digests (spec §9) ---------------------------------------------------------------


@dataclass(frozen=True)
class StageDigests:
    """sha256 of each pre-model stage (spec §9): where two platforms diverge, these say where."""

    decoded: str
    resized: str
    tensor: str

    def to_json(self) -> dict[str, str]:
        return {"decoded": self.decoded, "resized": self.resized, "tensor": self.tensor}


def tensor_digest(tensor: np.ndarray) -> str:
    """sha256 of a normalised tensor's little-endian float32 bytes (NCHW, spec step 4)."""
    return sha256_bytes(np.asarray(tensor).astype("<f4").tobytes())


def stage_digests(decoded_rgb: np.ndarray, rgb360: np.ndarray) -> StageDigests:
    """The three digests of one image: decoded RGB8, resized 360x360 RGB8, NCHW float32."""
    return StageDigests(
        decoded=sha256_bytes(np.ascontiguousarray(decoded_rgb).tobytes()),
        resized=sha256_bytes(np.ascontiguousarray(rgb360).tobytes()),
        tensor=tensor_digest(normalise(rgb360, "NCHW")),
    )


# ----- seed and model identity ---------------------------------------------------------------


def seed_sha256(seed: np.ndarray) -> str:
    """sha256 of the 96x128 little-endian float32 matrix, i.e. of the seed's `seed.f32` bytes
    (a `.dat` file's header is not part of the seed's identity)."""
    return sha256_bytes(seed_to_f32_bytes(seed))


def onnx_fingerprint(path: str | os.PathLike[str]) -> str:
    """docs/bundle-format.md's weights fingerprint of an ONNX file, independent of metadata.

    Over every initializer and every Constant node's tensor (named by its output), sorted by
    name: UTF-8 name, NUL, numpy dtype name, NUL, shape joined by 'x', NUL, little-endian data.
    Read with nhkit's own protobuf reader, so the light runtime needs no `onnx` package; a file
    that is not a readable ONNX model raises ModelError naming it."""
    from .onnx_wire import read_onnx_weights

    return weights_fingerprint(read_onnx_weights(path).tensors)


def weights_fingerprint(tensors: dict[str, np.ndarray]) -> str:
    """The fingerprint formula over named tensors (see onnx_fingerprint)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        le = (
            arr.astype(arr.dtype.newbyteorder("<"), copy=False)
            if arr.dtype.byteorder == ">"
            else arr
        )
        h.update(name.encode("utf-8") + b"\0")
        h.update(arr.dtype.name.encode("ascii") + b"\0")
        h.update("x".join(str(d) for d in arr.shape).encode("ascii") + b"\0")
        h.update(np.ascontiguousarray(le).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class ModelIdentity:
    """Which model and seed compute a hash: the weights fingerprint and the seed's sha256.

    Two hashers with equal identities compute the same hash definition (given the same spec);
    `name` is only a label for people."""

    name: str | None
    fingerprint: str
    seed_sha256: str

    def short(self) -> str:
        """A one-line label for error messages: name, fingerprint and seed, abbreviated."""
        label = f"{self.name} " if self.name else ""
        return f"{label}(model {self.fingerprint[:12]}..., seed {self.seed_sha256[:12]}...)"

    def describe(self) -> str:
        """Full identity, for logs and reports."""
        return (
            f"model {self.name or '(unnamed)'}: weights fingerprint {self.fingerprint}, "
            f"seed sha256 {self.seed_sha256}"
        )
