"""Plan and drive a resumable run: list the inputs as a stream, skip what the output already
holds, hand the rest to an engine in chunks, and count hashed / failed / skipped.

Engines (Ray, or the local Hasher) only see one chunk of paths at a time, so a library of
millions of files is never held in memory: the driver keeps the done-set (16 bytes per file)
and one chunk of paths."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np
import pyarrow as pa

from nhkit.runtime.digest import ModelIdentity
from nhkit.runtime.hasher import iter_images
from nhkit.runtime.spec import Spec

from .core import DEFAULT_MAX_BYTES
from .output import HashesOutput, resume_key
from .schema import hashes_schema

DEFAULT_CHUNK_FILES = 100_000
FILES_PER_CORE_PER_CHUNK = 2_000


def chunk_files_for(cores: int) -> int:
    """Files per engine run: each Ray run pays a fixed start (actors load the model, ~5-20 s),
    so a chunk must keep every core busy for minutes (2,000 files ~ 20 s per core), while the
    driver holds one chunk of paths (~200 bytes each: 100 MB for 500k)."""
    return max(DEFAULT_CHUNK_FILES, FILES_PER_CORE_PER_CHUNK * max(1, cores))


@dataclass(frozen=True)
class Listed:
    """One input as the listing saw it: absolute path, size, mtime, or why it cannot be read."""

    path: str
    size: int | None
    mtime_ns: int | None
    error: str | None = None


def list_inputs(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    recursive: bool = False,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> Iterator[Listed]:
    """Stream the inputs (files, or folders with recursive) as absolute paths with their stat.

    Files the workers could not read (missing, not a regular file, no read permission, over
    `max_bytes`) are listed with their error, so they become error rows without being read."""
    for path, problem in iter_images(inputs, recursive=recursive):
        full = os.path.abspath(path)
        if problem is not None:
            yield Listed(full, None, None, problem)
            continue
        try:
            st = os.stat(full)
        except OSError as exc:
            yield Listed(full, None, None, f"cannot read file: {exc.strerror or exc}")
            continue
        error = None
        if not stat.S_ISREG(st.st_mode):
            error = "is not a regular file"
        elif max_bytes is not None and st.st_size > max_bytes:
            error = (
                f"file is {st.st_size:,} bytes, over the limit of {max_bytes:,} "
                "(raise max_bytes if the file is trusted)"
            )
        elif not os.access(full, os.R_OK):
            error = "cannot read file: permission denied"
        yield Listed(full, st.st_size, st.st_mtime_ns, error)


@dataclass
class RunSummary:
    hashed: int = 0
    failed: int = 0
    skipped: int = 0
    parts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.hashed / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.hashed} hashed, {self.failed} failed, {self.skipped} skipped (already in "
            f"the output), {len(self.parts)} part files written in {self.seconds:.1f} s "
            f"({rate:.1f} images/s)"
        )


# An engine hashes one chunk of readable files into part files named with `prefix` and returns
# (hashed, failed, part paths).
Engine = Callable[[list[Listed], str], tuple[int, int, list[str]]]


def error_table(rows: list[Listed], spec: Spec, model: ModelIdentity) -> pa.Table:
    """Rows for inputs that failed at listing time (never read)."""
    schema = hashes_schema(spec, model)
    cols = {f.name: pa.nulls(len(rows), f.type) for f in schema}
    cols["path"] = pa.array([r.path for r in rows], pa.string())
    cols["size"] = pa.array([r.size for r in rows], pa.int64())
    cols["mtime_ns"] = pa.array([r.mtime_ns for r in rows], pa.int64())
    cols["error"] = pa.array([r.error for r in rows], pa.string())
    return pa.Table.from_arrays([cols[f.name] for f in schema], schema=schema)


def run_chunks(
    listed: Iterable[Listed],
    output: HashesOutput,
    engine: Engine,
    *,
    spec: Spec,
    model: ModelIdentity,
    run_id: str,
    chunk_files: int = DEFAULT_CHUNK_FILES,
    log: TextIO | None = None,
) -> RunSummary:
    """Skip done files, write listing errors as rows, and feed chunks to the engine."""
    from .output import write_part

    log = log if log is not None else sys.stderr
    start = time.monotonic()
    summary = RunSummary()
    output.remove_stale_temporaries()
    done = output.done_keys()

    def is_done(item: Listed) -> bool:
        if done.size == 0:
            return False
        key = np.array([resume_key(item.path, item.size, item.mtime_ns)], dtype="S16")
        i = int(np.searchsorted(done, key[0]))
        return i < done.size and done[i] == key[0]

    chunk_no = 0
    todo: list[Listed] = []
    bad: list[Listed] = []

    def flush() -> None:
        nonlocal chunk_no, todo, bad
        prefix = f"{run_id}-{chunk_no:05d}"
        if bad:
            part = write_part(output.path, f"{prefix}-errors", error_table(bad, spec, model))
            summary.failed += len(bad)
            summary.parts.append(str(part))
        if todo:
            hashed, failed, parts = engine(todo, prefix)
            summary.hashed += hashed
            summary.failed += failed
            summary.parts.extend(parts)
        chunk_no += 1
        todo, bad = [], []
        elapsed = time.monotonic() - start
        print(
            f"nhkit hash: {summary.hashed} hashed, {summary.failed} failed, "
            f"{summary.skipped} skipped, {summary.hashed / max(elapsed, 1e-9):.1f} images/s",
            file=log,
            flush=True,
        )

    for item in listed:
        if is_done(item):
            summary.skipped += 1
            continue
        (bad if item.error else todo).append(item)
        if len(todo) + len(bad) >= chunk_files:
            flush()
    if todo or bad:
        flush()
    summary.seconds = time.monotonic() - start
    return summary
