"""The local engine: the same chunks and part files as the Ray run, hashed in this process by
the runtime Hasher (its decode thread pool). `nhkit hash --out OUT` without `--engine ray`."""

from __future__ import annotations

import os
from typing import Any

import pyarrow as pa

from nhkit.runtime.digest import ModelIdentity

from .core import hash_table
from .output import write_part


def local_engine(
    hasher: Any,
    identity: ModelIdentity,
    *,
    folder: str | os.PathLike[str],
    batch_size: int = 16,
    workers: int = 2,
    rows_per_file: int = 10_000,
    progress: Any = None,
) -> Any:
    def hash_slice(items: list[Any]) -> pa.Table:
        contents: list[bytes | None] = []
        errors: list[str | None] = []
        for item in items:
            try:
                with open(item.path, "rb") as f:
                    contents.append(f.read())
                errors.append(None)
            except OSError as exc:
                contents.append(None)
                errors.append(f"cannot read file: {exc.strerror or exc}")
        batch = pa.table(
            {
                "path": [i.path for i in items],
                "bytes": pa.array(contents, pa.binary()),
                "size": pa.array([i.size for i in items], pa.int64()),
                "mtime_ns": pa.array([i.mtime_ns for i in items], pa.int64()),
                "error": pa.array(errors, pa.string()),
            }
        )
        table = hash_table(hasher, batch, model=identity, batch_size=batch_size, workers=workers)
        if progress is not None:
            progress(len(items))
        return table

    def engine(todo: list[Any], prefix: str) -> tuple[int, int, list[str]]:
        hashed = failed = 0
        parts: list[str] = []
        # Files are read SLICE at a time (never a whole part's worth of photos in memory).
        slice_files = max(batch_size * 4, 64)
        for k in range(0, len(todo), rows_per_file):
            items = todo[k : k + rows_per_file]
            table = pa.concat_tables(
                [hash_slice(items[j : j + slice_files]) for j in range(0, len(items), slice_files)]
            )
            bad = table.num_rows - table["error"].null_count
            hashed += table.num_rows - bad
            failed += bad
            parts.append(str(write_part(folder, f"{prefix}-{k // rows_per_file:05d}", table)))
        return hashed, failed, parts

    return engine
