"""Hashes from anywhere, as one kind of record: images (hashed here), `nhkit hash --format csv`
and `--format json` outputs, and the scale-out Parquet files (contract in
docs/hashlist-format.md, 'Inputs'). `nhkit hashlist build` and `nhkit match` both read their
INPUTs through this module, so a CSV row and a photo become the same `HashRecord`.

A bad row or file is a record with `error` set (reported and skipped by the caller), never an
exception that stops the batch; a file that cannot be read at all yields one such record.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputFileError, NhkitError
from .formats import HASHES_PARQUET_SCHEMA, HASHES_PART_PREFIX

HASH_FILE_SUFFIXES = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".parquet": "parquet",
}
PARQUET_SCHEMA_ID = HASHES_PARQUET_SCHEMA
_HEX = re.compile(r"^[0-9a-fA-F]{24}$")


@dataclass
class HashRecord:
    """One hash with where it came from. `fragile`: 12-byte mask in hash bit order, or None
    when the input carried no projections/mask; `projections` when the input had them (the
    mask can then be recomputed at any margin)."""

    name: str  # what the user calls it: image path or the file's path
    origin: str  # file it came from, with line/row for hash files
    hex: str | None = None
    fragile: bytes | None = None
    projections: np.ndarray | None = None
    error: str | None = None
    id: str | None = None
    label: str | None = None
    rel: str | None = None  # image path relative to the folder given

    @property
    def ok(self) -> bool:
        return self.error is None and self.hex is not None

    def fragile_at(self, margin: float | None) -> bytes | None:
        """The fragile mask at `margin` (from projections when known), else the stored one."""
        if self.projections is not None and margin is not None:
            return np.packbits(np.abs(self.projections) < margin).tobytes()
        return self.fragile


@dataclass(frozen=True)
class FileIdentity:
    """What a hash file says about how its hashes were made (Parquet only, today)."""

    model: dict[str, str] | None
    spec: dict[str, Any] | None


def kind_of(path: str) -> str:
    """'image', 'dir', or the hash-file kind by suffix."""
    if os.path.isdir(path):
        return "dir"
    return HASH_FILE_SUFFIXES.get(Path(path).suffix.lower(), "image")


def _mask_from_bits(bits: Iterable[int]) -> bytes:
    m = np.zeros(96, bool)
    for b in bits:
        m[int(b)] = True
    return np.packbits(m).tobytes()


def _check_hex(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and _HEX.match(value) else None


# ----- nhkit hash --format csv ----------------------------------------------------------------


def read_csv(path: str) -> Iterator[HashRecord]:
    """Columns: `hash` (required), `path` or `id`, optional `label`, `fragile` (24 hex: mask),
    `error` (non-empty: the row was a failure in `nhkit hash`)."""
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        yield HashRecord(name=path, origin=path, error=f"cannot read: {exc.strerror or exc}")
        return
    with f:
        try:
            reader = csv.DictReader(f)
            fields = reader.fieldnames or []
            if "hash" not in fields or not ({"path", "id"} & set(fields)):
                yield HashRecord(
                    name=path,
                    origin=path,
                    error=f"not an nhkit hash CSV: needs a "
                    f"'hash' column and a 'path' or 'id' column, found {fields}",
                )
                return
            for row in reader:
                line = reader.line_num
                yield _record(
                    path,
                    f"{path}:{line}",
                    row.get("path") or row.get("id") or "",
                    row.get("hash"),
                    row.get("error"),
                    row.get("id"),
                    row.get("label"),
                    fragile_hex=row.get("fragile"),
                )
        except (csv.Error, UnicodeDecodeError) as exc:
            yield HashRecord(name=path, origin=path, error=f"not readable as CSV: {exc}")


def _record(
    path: str,
    origin: str,
    name: str,
    hx: Any,
    error: Any,
    rid: Any,
    label: Any,
    *,
    fragile_hex: Any = None,
    fragile: bytes | None = None,
    projections: np.ndarray | None = None,
) -> HashRecord:
    name = str(name or origin)
    if error:
        return HashRecord(name=name, origin=origin, error=f"failed when hashed: {error}")
    h = _check_hex(hx)
    if h is None:
        return HashRecord(
            name=name, origin=origin, error=f"hash: expected 24 hex digits, got {str(hx)[:40]!r}"
        )
    if fragile_hex:
        fragile = bytes.fromhex(fragile_hex) if _check_hex(fragile_hex) else None
        if fragile is None:
            return HashRecord(
                name=name,
                origin=origin,
                error=f"fragile: expected 24 hex digits, got {str(fragile_hex)[:40]!r}",
            )
    return HashRecord(
        name=name,
        origin=origin,
        hex=h,
        fragile=fragile,
        projections=projections,
        id=str(rid) if rid else None,
        label=str(label) if label else None,
    )


# ----- nhkit hash --format json ---------------------------------------------------------------


def read_jsonl(path: str) -> Iterator[HashRecord]:
    """One object per line: `path` or `id`, `hash`, optional `projections` (float64 hex) or
    `fragile_bits` (indices), `label`, `error`."""
    from .floathex import hex_to_f64
    from .jsonfile import parse_json_text

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        yield HashRecord(name=path, origin=path, error=f"cannot read: {exc.strerror or exc}")
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield HashRecord(name=path, origin=path, error=f"not UTF-8 (byte {exc.start})")
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        origin = f"{path}:{n}"
        try:
            obj = parse_json_text(line, origin)
        except InputFileError as exc:
            yield HashRecord(name=origin, origin=origin, error=exc.reason)
            continue
        if not isinstance(obj, dict):
            yield HashRecord(name=origin, origin=origin, error="not a JSON object")
            continue
        proj = None
        fragile = None
        try:
            if isinstance(obj.get("projections"), list):
                proj = np.asarray(hex_to_f64(obj["projections"]), np.float64)
                if proj.shape != (96,):
                    raise ValueError(f"{proj.size} projections, expected 96")
            elif isinstance(obj.get("fragile_bits"), list):
                bits = obj["fragile_bits"]
                if not all(isinstance(b, int) and 0 <= b < 96 for b in bits):
                    raise ValueError("fragile_bits must be bit indices 0..95")
                fragile = _mask_from_bits(bits)
        except (ValueError, TypeError) as exc:
            yield HashRecord(
                name=str(obj.get("path") or origin),
                origin=origin,
                error=f"projections/fragile_bits: {exc}",
            )
            continue
        yield _record(
            path,
            origin,
            obj.get("path") or obj.get("id") or "",
            obj.get("hash"),
            obj.get("error"),
            obj.get("id"),
            obj.get("label"),
            fragile=fragile,
            projections=proj,
        )


# ----- Parquet (scale-out) --------------------------------------------------------------------


def parquet_identity(path: str) -> FileIdentity:
    """The model and spec a Parquet hash file declares in its key-value metadata."""
    pq = _pyarrow_parquet()
    try:
        meta = pq.read_schema(path).metadata or {}
    except Exception as exc:  # pyarrow raises its own hierarchy (ArrowInvalid, OSError...)
        raise InputFileError(path, f"not a readable Parquet file: {exc}") from None
    kv = {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in meta.items()}
    if kv.get("nhkit.schema") != PARQUET_SCHEMA_ID:
        raise InputFileError(
            path,
            f"nhkit.schema: expected {PARQUET_SCHEMA_ID!r} in the file "
            f"metadata, got {kv.get('nhkit.schema')!r}",
        )
    out: dict[str, Any] = {}
    for key in ("nhkit.model", "nhkit.spec"):
        try:
            out[key] = json.loads(kv[key]) if key in kv else None
        except json.JSONDecodeError:
            raise InputFileError(path, f"{key}: not valid JSON") from None
    model = out["nhkit.model"]
    if model is not None and not (
        isinstance(model, dict) and {"name", "fingerprint", "seed_sha256"} <= set(model)
    ):
        raise InputFileError(path, "nhkit.model: expected {name, fingerprint, seed_sha256}")
    return FileIdentity(model=model, spec=out["nhkit.spec"])


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise NhkitError("reading Parquet needs pyarrow: pip install 'nhkit[parquet]'") from None
    return pq


def read_parquet(path: str) -> Iterator[HashRecord]:
    """Rows of the scale-out contract: path, hash (null on error), fragile
    (fixed_size_binary(12)), error; other columns are not needed here."""
    pq = _pyarrow_parquet()
    try:
        parquet_identity(path)
        pf = pq.ParquetFile(path)
        names = set(pf.schema_arrow.names)
        missing = {"path", "hash", "error"} - names
        if missing:
            raise InputFileError(path, f"columns {sorted(missing)} missing (nhkit-hashes-v1)")
        cols = ["path", "hash", "error"] + (["fragile"] if "fragile" in names else [])
        row = 0
        for batch in pf.iter_batches(columns=cols, batch_size=65536):
            d = batch.to_pydict()
            for i in range(batch.num_rows):
                row += 1
                fr = d["fragile"][i] if "fragile" in d else None
                origin = f"{path}:row {row}"
                if fr is not None and len(fr) != 12:
                    yield HashRecord(
                        name=d["path"][i] or origin,
                        origin=origin,
                        error=f"fragile: {len(fr)} bytes, expected 12",
                    )
                    continue
                yield _record(
                    path,
                    origin,
                    d["path"][i] or "",
                    d["hash"][i],
                    d["error"][i],
                    None,
                    None,
                    fragile=fr,
                )
    except InputFileError as exc:
        yield HashRecord(name=path, origin=path, error=exc.reason)
    except Exception as exc:  # pyarrow's own errors: a truncated or foreign file
        yield HashRecord(name=path, origin=path, error=f"not a readable Parquet file: {exc}")


# ----- dispatch -------------------------------------------------------------------------------


def read_hash_file(path: str) -> Iterator[HashRecord]:
    kind = kind_of(path)
    if kind == "csv":
        return read_csv(path)
    if kind == "json":
        return read_jsonl(path)
    if kind == "parquet":
        return read_parquet(path)
    raise ValueError(f"{path}: not a hash file")


def parquet_parts(folder: str | os.PathLike[str]) -> list[str]:
    """The part files of a scale-out output folder (`nhkit hash --out OUT`), in name order;
    hidden (`.`) and `_`-prefixed names are in-progress or engine bookkeeping and are skipped
    (docs/parquet-format.md). Empty for any other folder."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [
        os.path.join(folder, n)
        for n in names
        if n.startswith(HASHES_PART_PREFIX)
        and n.endswith(".parquet")
        and os.path.isfile(os.path.join(folder, n))
    ]


def split_inputs(
    inputs: Iterable[str], *, recursive: bool
) -> tuple[list[tuple[str, str | None]], list[str], list[tuple[str, str]]]:
    """INPUT arguments -> (images as (path, folder given or None), hash files, problems)."""
    from .decode import SUPPORTED_SUFFIXES

    images: list[tuple[str, str | None]] = []
    hash_files: list[str] = []
    problems: list[tuple[str, str]] = []
    for raw in inputs:
        kind = kind_of(raw)
        parts = parquet_parts(raw) if kind == "dir" else []
        if parts:  # a scale-out output folder is one hash file in several parts
            hash_files.extend(parts)
        elif kind == "dir":
            if not recursive:
                problems.append((raw, "is a directory (use -r to read the images in it)"))
                continue

            def onerror(exc: OSError, top: str = raw) -> None:
                problems.append((exc.filename or top, f"cannot list directory: {exc.strerror}"))

            for root, dirs, names in os.walk(raw, onerror=onerror):
                dirs.sort()
                for n in sorted(names):
                    if Path(n).suffix.lower() in SUPPORTED_SUFFIXES:
                        images.append((os.path.join(root, n), raw))
        elif not os.path.exists(raw):
            problems.append((raw, "no such file or directory"))
        elif kind == "image":
            images.append((raw, None))
        else:
            hash_files.append(raw)
    return images, hash_files, problems


def hash_images(
    hasher: Any,
    images: list[tuple[str, str | None]],
    *,
    batch_size: int = 16,
    workers: int = 2,
    progress: Any = None,
) -> Iterator[HashRecord]:
    """Hash images with the runtime; failures become records with `error`."""
    folder_of = dict(images)
    for path, outcome in hasher.hash_files(
        [p for p, _ in images], batch_size=batch_size, workers=workers, progress=progress
    ):
        folder = folder_of.get(path)
        rel = os.path.relpath(path, folder) if folder else os.path.basename(path)
        if isinstance(outcome, NhkitError):
            yield HashRecord(
                name=path,
                origin=path,
                rel=rel,
                error=getattr(outcome, "reason", None) or str(outcome),
            )
            continue
        yield HashRecord(
            name=path,
            origin=path,
            hex=outcome.hex,
            rel=rel,
            fragile=np.packbits(outcome.fragile).tobytes(),
            projections=np.asarray(outcome.projections, np.float64),
        )
