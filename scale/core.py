"""The engine-neutral step: an Arrow batch of (path, file bytes) -> the hashes table of
docs/parquet-format.md. Ray actors, Spark's mapInArrow and tests all call `hash_table`.

The bytes are decoded as handed over (the engine already read the file once); every step after
that is the runtime Hasher's, so a row's hash is bit-identical to `nhkit hash` on the same file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from nhkit.runtime.digest import ModelIdentity
from nhkit.runtime.errors import NhkitError
from nhkit.runtime.spec import DEFAULT_MAX_PIXELS, EMBEDDING_DIM

from .schema import hashes_schema

# Largest file a worker will read and decode. Bigger files become error rows before they are
# read (a 4 GB TIFF in one Arrow cell would take a worker's memory with it).
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class HasherConfig:
    """Everything a worker needs to build its Hasher; small and picklable, so the engine ships
    this, not a loaded model, and each actor or partition loads the model once."""

    model: str | None = None
    seed: str | None = None
    bundle: str | None = None
    orientation: str | None = None
    fragile_margin: float | None = None
    threads: int | None = 1
    max_pixels: int | None = DEFAULT_MAX_PIXELS

    def build(self) -> Any:
        from nhkit.runtime.hasher import Hasher

        if self.bundle:
            if self.model or self.seed:
                raise NhkitError("a bundle carries its own model and seed; drop model/seed")
            from nhkit.runtime.bundle_backend import hasher_for_bundle

            return hasher_for_bundle(
                self.bundle,
                orientation=self.orientation,
                fragile_margin=self.fragile_margin,
                threads=self.threads,
                max_pixels=self.max_pixels,
            )
        if self.seed and not self.model:
            raise NhkitError("a seed goes with a model (the default model has its own seed)")
        return Hasher.from_onnx(
            self.model,
            self.seed,
            orientation=self.orientation or "apply",
            fragile_margin=self.fragile_margin,
            threads=self.threads,
            max_pixels=self.max_pixels,
        )


def _column(batch: pa.Table | pa.RecordBatch, name: str) -> list[Any] | None:
    idx = batch.schema.get_field_index(name)
    return None if idx < 0 else batch.column(idx).to_pylist()


def _mtime_ns(path: str) -> int | None:
    """The file's mtime as the resume key records it; None where the path is not local."""
    try:
        return os.stat(path).st_mtime_ns
    except (OSError, ValueError):
        return None


def hash_table(
    hasher: Any,
    batch: pa.Table | pa.RecordBatch,
    *,
    model: ModelIdentity | None = None,
    batch_size: int = 16,
    workers: int = 1,
) -> pa.Table:
    """Hash one Arrow batch with columns `path` (string) and `bytes` (binary; null = the engine
    could not read the file, then `error` says why if given), optionally `size`, `mtime_ns` and
    `error`. Returns a table of the documented schema, one row per input row, same order.

    A file that cannot be hashed is a row with `error` set and null hash columns: it never
    fails the batch. `size` defaults to the byte count, `mtime_ns` to a local stat of `path`."""
    paths = _column(batch, "path")
    contents = _column(batch, "bytes")
    if paths is None or contents is None:
        raise NhkitError(f"a hash batch needs columns 'path' and 'bytes'; got {batch.schema.names}")
    sizes = _column(batch, "size") or [None if c is None else len(c) for c in contents]
    mtimes = _column(batch, "mtime_ns") or [_mtime_ns(p) for p in paths]
    given_errors = _column(batch, "error") or [None] * len(paths)
    model = model or hasher.identity

    n = len(paths)
    hexes: list[str | None] = [None] * n
    errors: list[str | None] = list(given_errors)
    bits = np.zeros((n, 12), dtype=np.uint8)
    fragile = np.zeros((n, 12), dtype=np.uint8)
    emb = np.zeros((n, EMBEDDING_DIM), dtype=np.float32)
    margin = np.zeros(n, dtype=np.float64)
    fcount = np.zeros(n, dtype=np.int32)

    rows: list[int] = []
    items: list[tuple[str, bytes]] = []
    for i, (p, c) in enumerate(zip(paths, contents)):
        if errors[i] is not None:
            continue
        if c is None:
            errors[i] = "file could not be read"
            continue
        rows.append(i)
        items.append((p, c))
    for k, (_, outcome) in enumerate(
        hasher.hash_sources(items, batch_size=batch_size, workers=workers)
    ):
        i = rows[k]
        if isinstance(outcome, NhkitError):
            errors[i] = getattr(outcome, "reason", None) or str(outcome)
            continue
        hexes[i] = outcome.hex
        bits[i] = np.packbits(outcome.bits)
        fragile[i] = np.packbits(outcome.fragile.astype(np.uint8))
        emb[i] = outcome.embedding
        margin[i] = outcome.min_margin
        fcount[i] = outcome.fragile_count

    ok = np.array([h is not None for h in hexes], dtype=bool)
    null = pa.array(~ok)
    schema = hashes_schema(hasher.spec, model)

    def fixed(a: np.ndarray) -> pa.Array:
        return pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(12), n, [_validity(ok), pa.py_buffer(np.ascontiguousarray(a).tobytes())]
        )

    columns = [
        pa.array(paths, pa.string()),
        pa.array(sizes, pa.int64()),
        pa.array(mtimes, pa.int64()),
        pa.array(hexes, pa.string()),
        fixed(bits),
        pa.FixedSizeListArray.from_arrays(
            pa.array(emb.ravel(), pa.float32()), EMBEDDING_DIM, mask=null
        ),
        fixed(fragile),
        pa.array(margin, pa.float64(), mask=~ok),
        pa.array(fcount, pa.int32(), mask=~ok),
        pa.array(errors, pa.string()),
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _validity(ok: np.ndarray) -> pa.Buffer | None:
    """Arrow validity bitmap (LSB first) for a boolean 'row is valid' array."""
    if ok.all():
        return None
    return pa.py_buffer(np.packbits(ok.astype(np.uint8), bitorder="little").tobytes())
