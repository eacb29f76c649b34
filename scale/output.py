"""The output of a distributed hash run: a folder of Parquet part files (docs/parquet-format.md).

Why a folder of parts and not one file: a run of millions of files must be resumable and must
never leave a half-written file behind. Each part is written to a hidden temporary name and
renamed into place (atomic on one filesystem), so an interrupted run leaves only whole parts,
and a rerun appends new parts for the files no part holds yet. Readers (`pyarrow.parquet.
read_table(OUT)`, pandas, Spark, DuckDB, `read_hashes` below) skip the hidden temporaries."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nhkit.runtime.digest import ModelIdentity
from nhkit.runtime.errors import InputFileError, NhkitError
from nhkit.runtime.formats import HASHES_PART_PREFIX as PART_PREFIX
from nhkit.runtime.spec import Spec

from .schema import HashesMeta, check_columns, parse_metadata, same_model

TEMP_PREFIX = "."  # write_bytes_atomic's temporaries: .<name>.tmp-<pid>


class OutputMismatchError(NhkitError):
    """The output folder already holds hashes of another model or spec: appending would mix
    hashes that do not compare."""


def resume_key(path: str, size: int | None, mtime_ns: int | None) -> bytes:
    """16-byte digest of (path, size, mtime_ns): the resume key of one file.

    Why these and not a content sha256: they come from the directory listing, so skipping a done
    file costs one stat and no read; a file rewritten in place gets a new mtime and is hashed
    again. A digest (not the strings) keeps the done-set at 16 bytes per file (80 MB for 5 M)."""
    text = f"{path}\0{size}\0{mtime_ns}".encode("utf-8", "surrogateescape")
    return hashlib.blake2b(text, digest_size=16).digest()


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


class HashesOutput:
    """One output folder: its parts, their metadata, the done-set, and atomic part writes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InputFileError(
                self.path,
                "exists and is not a folder: the output of a "
                "distributed run is a folder of Parquet part files",
            )

    def parts(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(
            p
            for p in self.path.iterdir()
            if p.name.startswith(PART_PREFIX) and p.name.endswith(".parquet")
        )

    def meta(self) -> HashesMeta | None:
        """Metadata shared by every part (None for a new output); parts that disagree are an
        error naming both."""
        first: tuple[Path, HashesMeta] | None = None
        for part in self.parts():
            try:
                schema = pq.read_schema(part)
            except (OSError, pa.ArrowInvalid) as exc:
                raise InputFileError(part, f"not a readable Parquet file: {exc}") from None
            check_columns(schema, str(part))
            meta = parse_metadata(schema.metadata, str(part))
            if first is None:
                first = (part, meta)
            elif not (
                same_model(meta.model, first[1].model) and meta.spec.hash_compatible(first[1].spec)
            ):
                raise OutputMismatchError(
                    f"{part}: made with {meta.model.describe()}, but {first[0]} with "
                    f"{first[1].model.describe()}; one output folder holds one model's hashes"
                )
        return None if first is None else first[1]

    def check_compatible(self, spec: Spec, model: ModelIdentity) -> HashesMeta | None:
        """Refuse to append to an output made with another model, seed or spec."""
        meta = self.meta()
        if meta is None:
            return None
        if not same_model(meta.model, model):
            raise OutputMismatchError(
                f"{self.path}: holds hashes of model fingerprint {meta.model.fingerprint} "
                f"(seed sha256 {meta.model.seed_sha256}); this run uses model fingerprint "
                f"{model.fingerprint} (seed sha256 {model.seed_sha256}). Use another --out."
            )
        if not meta.spec.hash_compatible(spec):
            raise OutputMismatchError(
                f"{self.path}: holds hashes made under spec {meta.spec.to_json()}; this run "
                f"uses {spec.to_json()} (e.g. another orientation policy). Use another --out."
            )
        return meta

    def done_keys(self) -> np.ndarray:
        """Sorted resume keys (numpy 'S16') of every row already written, errors included:
        a file that failed is not retried by a rerun (delete its part to retry)."""
        keys: list[bytes] = []
        for part in self.parts():
            t = pq.read_table(part, columns=["path", "size", "mtime_ns"])
            for p, s, m in zip(
                t.column(0).to_pylist(), t.column(1).to_pylist(), t.column(2).to_pylist()
            ):
                keys.append(resume_key(p, s, m))
        return np.sort(np.array(keys, dtype="S16"))

    def remove_stale_temporaries(self) -> int:
        """Delete temporaries an interrupted run left (never visible to readers anyway).
        One run writes to an output at a time."""
        n = 0
        if self.path.is_dir():
            for p in self.path.iterdir():
                if p.name.startswith(TEMP_PREFIX) and ".tmp-" in p.name:
                    p.unlink(missing_ok=True)
                    n += 1
        return n


def write_part(folder: str | os.PathLike[str], name: str, table: pa.Table) -> Path:
    """Write one part atomically (nhkit.runtime.atomic: a hidden temporary in the same folder,
    then a rename), wherever the engine runs the write (a Ray worker, a Spark executor, the
    driver). The Parquet bytes are made in memory first: a part is a few MB."""
    from nhkit.runtime.atomic import write_bytes_atomic

    final = Path(folder) / f"{PART_PREFIX}{name}.parquet"
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    write_bytes_atomic(final, sink.getvalue().to_pybytes())
    return final


def read_hashes(
    path: str | os.PathLike[str], columns: Iterable[str] | None = None
) -> tuple[pa.Table, HashesMeta]:
    """Read an nhkit hashes Parquet (one file, or an output folder of parts) with its checked
    metadata. This is the reader `nhkit hashlist build` and `nhkit match` can share."""
    p = Path(path)
    cols = list(columns) if columns is not None else None
    if p.is_dir():
        out = HashesOutput(p)
        meta = out.meta()
        if meta is None:
            raise InputFileError(p, "holds no nhkit part files (part-*.parquet)")
        tables = [pq.read_table(part, columns=cols) for part in out.parts()]
        schema = tables[0].schema
        return pa.concat_tables([t.cast(schema) for t in tables]), meta
    try:
        schema = pq.read_schema(p)
    except FileNotFoundError:
        raise InputFileError(p, "no such file or folder") from None
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputFileError(p, f"not a readable Parquet file: {exc}") from None
    check_columns(schema, str(p))
    meta = parse_metadata(schema.metadata, str(p))
    return pq.read_table(p, columns=cols), meta
