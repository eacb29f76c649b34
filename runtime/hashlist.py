"""Hash lists (docs/hashlist-format.md): write, read, verify, search.

A hash list is what a matcher trusts: if a file was cut short, edited by hand, or built with
another model, every answer it gives is wrong without a sound. So a list is only handed out
after its manifest passes the schema, every listed file matches its size and sha256, no
unlisted file is present, counts agree with the file sizes, the hashes are strictly ascending,
the offsets are consistent and every entry line is an object of the entry schema whose hash is
its group's. Every failure is a `HashListError` naming the file and the field.

The writer is the only producer of the format: it sorts, de-duplicates and seals, so two builds
of the same entries give byte-identical folders and zips.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import numpy as np

from .digest import ModelIdentity
from .errors import InputFileError, NhkitError
from .formats import HASHLIST_FORMAT, HASHLIST_VERSION, KNOWN_FORMATS
from .jsonfile import (
    check_format_header,
    json_bytes,
    parse_json_bytes,
    parse_json_text,
    schema_problems,
)
from .match import Hit, SearchResult, check_threshold, query_codes, search_entries
from .spec import Spec, SpecMismatchError
from .ziputil import write_deterministic_zip

__all__ = [
    "Entry",
    "HashList",
    "HashListError",
    "Hit",
    "SearchResult",
    "check_threshold",
    "load",
    "seal",
    "with_threshold",
    "write_hashlist",
]

_encode_str = json.encoder.encode_basestring  # json's own (C) string quoting

FORMAT = HASHLIST_FORMAT
FORMAT_VERSION = HASHLIST_VERSION
MANIFEST_SCHEMA = "hashlist-manifest.v1.schema.json"
ENTRY_SCHEMA = "hashlist-entry.v1.schema.json"
CODE_BYTES = 12
HASH_BITS = 96
MAX_ID_CHARS = 256
MAX_LABEL_CHARS = 1024
MAX_SOURCE_CHARS = 4096
MAX_META_BYTES = 16 * 1024
MAX_LINE_BYTES = 64 * 1024
MAX_ZIP_BYTES = 8 * 1024**3  # zip-bomb guard: far above any real list (10^7 entries ~ 1.5 GB)
ENTRIES, HASHES, OFFSETS, FRAGILE = "entries.jsonl", "hashes.bin", "offsets.bin", "fragile.bin"
REQUIRED_FILES = (ENTRIES, HASHES, OFFSETS)
KNOWN_FILES = (ENTRIES, FRAGILE, HASHES, OFFSETS)
LIST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_HEX24 = re.compile(r"^[0-9a-f]{24}$")
_LOWHEX = re.compile(r"[0-9a-f]*")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
THRESHOLD_KEYS = (
    "recommended",
    "fpr",
    "criterion",
    "negative_pairs",
    "negative_images",
    "drift_p99",
    "source",
    "report_sha256",
)


class HashListError(InputFileError):
    """A hash list is missing, malformed, tampered with, or made with another model.

    `field` names the file or manifest field at fault (also part of the message)."""

    def __init__(self, path: str | os.PathLike[str] | None, field_name: str, reason: str) -> None:
        self.field = field_name
        super().__init__(path, f"{field_name}: {reason}" if field_name else reason)


# ----- identity ----------------------------------------------------------------------------------


def _identity_json(model: ModelIdentity | Mapping[str, Any]) -> dict[str, str]:
    """The manifest's `model` object from a ModelIdentity (Hasher.identity) or a mapping."""
    if isinstance(model, Mapping):
        return {
            "name": str(model.get("name") or "unnamed"),
            "fingerprint": str(model["fingerprint"]),
            "seed_sha256": str(model["seed_sha256"]),
        }
    return {
        "name": model.name or "unnamed",
        "fingerprint": model.fingerprint,
        "seed_sha256": model.seed_sha256,
    }


# ----- entries --------------------------------------------------------------------------------


class Entry(NamedTuple):
    """One listed image. `fragile`: its 12-byte fragile mask (hash bit order), if known.

    A NamedTuple, not a dataclass: building 10^6 of them is part of a list build's time."""

    id: str
    hash: str
    label: str | None = None
    source: str | None = None
    meta: dict[str, Any] | None = None
    fragile: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "hash": self.hash,
            "label": self.label,
            "source": self.source,
            "meta": self.meta,
        }


def _q(v: str | None) -> str:
    return "null" if v is None else _encode_str(v)


def _q_meta(meta: dict[str, Any] | None) -> str:
    return "null" if meta is None else json.dumps(meta, ensure_ascii=False, allow_nan=False)


def entry_line(e: Entry) -> str:
    """The entries.jsonl line (without the newline): keys in the documented order.

    Byte for byte what json.dumps(e.to_json(), ensure_ascii=False) gives, written out because
    dumping a dict per entry was half of the build time of a 10^6-entry list."""
    meta = "null" if e.meta is None else json.dumps(e.meta, ensure_ascii=False, allow_nan=False)
    return (
        f'{{"id": {_encode_str(e.id)}, "hash": "{e.hash}", "label": {_q(e.label)}, '
        f'"source": {_q(e.source)}, "meta": {meta}}}'
    )


def _all_fields_ok(ents: list[Entry]) -> bool:
    """Whole-column version of _check_entry_fields for the common case (no meta): a few C-speed
    passes instead of a Python call per entry. False means 'check entry by entry'."""
    if not ents:
        return True
    ids, hashes, labels, sources, metas, frags = zip(*ents)

    def strs(col: tuple[Any, ...], lo: int, hi: int, nullable: bool) -> bool:
        if not set(map(type, col)) <= ({str, type(None)} if nullable else {str}):
            return False
        lens = list(map(len, filter(None, col) if nullable else col))
        return not lens or (lo <= min(lens) and max(lens) <= hi)

    return (
        metas.count(None) == len(ents)
        and strs(ids, 1, MAX_ID_CHARS, False)
        and strs(hashes, 24, 24, False)
        and _LOWHEX.fullmatch("".join(hashes)) is not None
        and strs(labels, 0, MAX_LABEL_CHARS, True)
        and strs(sources, 0, MAX_SOURCE_CHARS, True)
        and {len(f) for f in frags if f is not None} <= {CODE_BYTES}
    )


def _check_entry_fields(e: Entry, where: str) -> None:
    """The writer refuses what a reader would reject, naming the entry and the field."""

    def bad(name: str, reason: str) -> HashListError:
        return HashListError(where, name, reason)

    if not isinstance(e.id, str) or not 1 <= len(e.id) <= MAX_ID_CHARS:
        raise bad("id", f"must be 1..{MAX_ID_CHARS} characters, got {_describe_len(e.id)}")
    if not isinstance(e.hash, str) or not _HEX24.match(e.hash):
        raise bad("hash", f"expected 24 lowercase hex digits, got {e.hash!r:.40}")
    if e.label is not None and (not isinstance(e.label, str) or len(e.label) > MAX_LABEL_CHARS):
        raise bad(
            "label", f"must be at most {MAX_LABEL_CHARS} characters, got {_describe_len(e.label)}"
        )
    if e.source is not None and (not isinstance(e.source, str) or len(e.source) > MAX_SOURCE_CHARS):
        raise bad(
            "source",
            f"must be at most {MAX_SOURCE_CHARS} characters, got {_describe_len(e.source)}",
        )
    if e.meta is not None:
        if not isinstance(e.meta, dict):
            raise bad("meta", f"must be a JSON object or null, got {type(e.meta).__name__}")
        try:
            size = len(json.dumps(e.meta, ensure_ascii=False, allow_nan=False).encode("utf-8"))
        except (TypeError, ValueError) as exc:
            raise bad("meta", f"not JSON-serialisable: {exc}") from None
        if size > MAX_META_BYTES:
            raise bad("meta", f"is {size} bytes as written; the limit is {MAX_META_BYTES}")
    if e.fragile is not None and len(e.fragile) != CODE_BYTES:
        raise bad("fragile", f"must be {CODE_BYTES} bytes, got {len(e.fragile)}")


def _describe_len(v: Any) -> str:
    return f"{len(v)} characters" if isinstance(v, str) else type(v).__name__


# ----- writing --------------------------------------------------------------------------------


@dataclass
class BuildReport:
    """What a build found: exact duplicates share a hash; near-duplicates are close hashes."""

    entries: int = 0
    hashes: int = 0
    duplicate_groups: list[list[str]] = field(default_factory=list)  # ids sharing one hash
    fragile: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Sealed:
    files: dict[str, bytes]
    manifest: dict[str, Any]
    report: BuildReport


def _threshold_json(threshold: Mapping[str, Any] | None, source: str) -> dict[str, Any] | None:
    if threshold is None:
        return None
    missing = [k for k in THRESHOLD_KEYS if k not in threshold]
    extra = sorted(set(threshold) - set(THRESHOLD_KEYS))
    if missing or extra:
        raise HashListError(
            source,
            "threshold",
            f"missing {missing} / unknown {extra}; a "
            "threshold is written only with the figures it was measured on",
        )
    out = {k: threshold[k] for k in THRESHOLD_KEYS}
    return out


def seal(
    entries: Iterable[Entry],
    *,
    list_id: str,
    spec: Spec,
    model: Any,
    threshold: Mapping[str, Any] | None = None,
    tools: Mapping[str, str] | None = None,
    source: str = "hash list",
) -> _Sealed:
    """Sort, de-duplicate and serialise entries into the list's files and manifest (in memory).

    Raises HashListError (naming the entry and field) for anything a reader would reject."""
    from . import __version__

    if not isinstance(list_id, str) or not LIST_ID_RE.match(list_id) or list_id in (".", ".."):
        raise HashListError(
            source,
            "list_id",
            f"{list_id!r} must match [A-Za-z0-9._-]{{1,128}} and not be '.' or '..'",
        )
    ents = [e if isinstance(e, Entry) else Entry(*e) for e in entries]
    n = len(ents)
    if not _all_fields_ok(ents):
        for i, e in enumerate(ents):
            _check_entry_fields(e, f"{source}: entry {i} ({str(e.id)[:80]!r})")
    if len({e.id for e in ents}) != n:
        seen: dict[str, int] = {}
        for i, e in enumerate(ents):
            if e.id in seen:
                raise HashListError(
                    source,
                    "id",
                    f"{e.id!r} appears twice (inputs {seen[e.id]} "
                    f"and {i}); ids must be unique (see --id-from)",
                )
            seen[e.id] = i
    report = BuildReport(entries=n)
    codes = np.frombuffer(bytes.fromhex("".join(e.hash for e in ents)), np.uint8).reshape(
        n, CODE_BYTES
    )
    hi = codes[:, :8].copy().view(">u8").ravel()
    lo = codes[:, 8:].copy().view(">u4").ravel()
    order = np.lexsort((lo, hi))  # by hash bytes (big-endian words compare like the bytes)
    hs, ls = hi[order], lo[order]
    first = np.ones(n, bool)
    first[1:] = (hs[1:] != hs[:-1]) | (ls[1:] != ls[:-1])
    starts = np.flatnonzero(first)
    offsets = np.append(starts, n).astype("<u4")
    idx = order.tolist()
    for k in np.flatnonzero(np.diff(offsets) > 1).tolist():
        a, b = int(offsets[k]), int(offsets[k + 1])
        # Entries sharing a hash: ordered by id as UTF-8 bytes (= code points).
        idx[a:b] = sorted(idx[a:b], key=lambda j: ents[j].id.encode("utf-8", "surrogatepass"))
        report.duplicate_groups.append([ents[j].id for j in idx[a:b]])
    ents = [ents[j] for j in idx]
    report.hashes = len(starts)
    hashes_bin = codes[order[starts]].tobytes() if n else b""
    offsets_bin = offsets.tobytes()
    lines = [
        f'{{"id": {_encode_str(e.id)}, "hash": "{e.hash}", "label": {_q(e.label)}, '
        f'"source": {_q(e.source)}, "meta": {_q_meta(e.meta)}}}'
        for e in ents
    ]
    for e, line in zip(ents, lines):
        if (
            len(line) * 4 > MAX_LINE_BYTES
            and len(line.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES
        ):
            raise HashListError(
                source, "entries.jsonl", f"entry {e.id!r} is longer than {MAX_LINE_BYTES} bytes"
            )
    try:
        entries_bin = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    except UnicodeEncodeError as exc:
        raise HashListError(
            source,
            "entries.jsonl",
            f"text that is not valid Unicode (a lone "
            f"surrogate at character {exc.start}) in an id, label or source",
        ) from None
    files = {ENTRIES: entries_bin, HASHES: hashes_bin, OFFSETS: offsets_bin}
    with_fragile = [e.fragile is not None for e in ents]
    if ents and all(with_fragile):
        files[FRAGILE] = b"".join(e.fragile for e in ents if e.fragile is not None)  # all are
        report.fragile = True
    elif any(with_fragile):
        report.notes.append(
            f"fragile.bin left out: {with_fragile.count(False)} of {n} entries "
            "came without projections (hash files without them, e.g. CSV)"
        )
    manifest = _manifest(
        list_id=list_id,
        spec=spec,
        model=model,
        n=n,
        h=report.hashes,
        threshold=_threshold_json(threshold, source),
        files=files,
        tools=dict(tools or {"nhkit": __version__}),
    )
    problems = schema_problems(manifest, MANIFEST_SCHEMA)  # e.g. a threshold of 97, a bad digest
    if problems:
        raise _field_error(source, problems[0])
    return _Sealed(files=files, manifest=manifest, report=report)


def _manifest(
    *,
    list_id: str,
    spec: Spec,
    model: Any,
    n: int,
    h: int,
    threshold: dict[str, Any] | None,
    files: Mapping[str, bytes],
    tools: dict[str, str],
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "list_id": list_id,
        "spec": spec.to_json(),
        "model": _identity_json(model),
        "counts": {"entries": n, "hashes": h},
        "threshold": threshold,
        "files": [
            {"path": p, "sha256": hashlib.sha256(files[p]).hexdigest(), "size": len(files[p])}
            for p in sorted(files)
        ],
        "tools": tools,
    }


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """manifest.json as written: nhkit's canonical JSON (two-space indent, UTF-8, trailing
    newline); no timestamps, so two builds of the same entries are byte-identical."""
    return json_bytes(manifest)


def list_files(sealed: _Sealed) -> dict[str, bytes]:
    """Every file of the list folder, manifest included, by relative path."""
    out = dict(sealed.files)
    out["manifest.json"] = manifest_bytes(sealed.manifest)
    return out


def write_sealed(
    sealed: _Sealed, out: str | os.PathLike[str], *, zip_too: bool = True, overwrite: bool = False
) -> Path:
    """Write the folder OUT (and OUT.zip) atomically: a staging folder next to OUT is renamed
    into place only when complete, so a crash leaves the old list or none, never half a list."""
    out_dir = Path(out)
    if out_dir.suffix == ".zip":
        out_dir = out_dir.with_suffix("")
    if out_dir.exists() and not overwrite:
        raise InputFileError(out_dir, "already exists (pass --force to replace it)")
    if out_dir.exists() and not (out_dir / "manifest.json").is_file():
        raise InputFileError(out_dir, "exists and is not a hash list; refusing to replace it")
    files = list_files(sealed)
    parent = out_dir.parent
    stage = parent / f".{out_dir.name}.staging-{os.getpid()}"
    old = parent / f".{out_dir.name}.old-{os.getpid()}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
        for rel, data in files.items():
            (stage / rel).write_bytes(data)
        if zip_too:
            # .bin files STORED (random bits; a reader can memory-map them), the rest DEFLATE 1.
            write_deterministic_zip(
                stage,
                out_dir.with_name(out_dir.name + ".zip"),
                sealed.manifest["list_id"],
                stored=lambda rel: rel.endswith(".bin"),
                compresslevel=1,
            )
        if out_dir.exists():
            os.replace(out_dir, old)
        os.replace(stage, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise InputFileError(out_dir, f"cannot write hash list: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return out_dir


def write_hashlist(
    out: str | os.PathLike[str],
    entries: Iterable[Entry],
    *,
    spec: Spec,
    model: Any,
    list_id: str | None = None,
    threshold: Mapping[str, Any] | None = None,
    zip_too: bool = True,
    overwrite: bool = False,
) -> BuildReport:
    """Build a list folder OUT (+ OUT.zip) from entries. `list_id` defaults to OUT's name."""
    out_dir = Path(out)
    if out_dir.suffix == ".zip":
        out_dir = out_dir.with_suffix("")
    sealed = seal(
        entries,
        list_id=list_id or out_dir.name,
        spec=spec,
        model=model,
        threshold=threshold,
        source=str(out_dir),
    )
    write_sealed(sealed, out_dir, zip_too=zip_too, overwrite=overwrite)
    return sealed.report


def with_threshold(
    list_path: str | os.PathLike[str],
    threshold: Mapping[str, Any] | None,
    out_path: str | os.PathLike[str],
    *,
    overwrite: bool = True,
) -> Path:
    """Copy a list with its manifest's `threshold` replaced (None clears it).

    This is how `nhkit match calibrate` records what it measured: the list is read and verified
    first, the threshold is checked against the manifest schema, and the result is written
    atomically (folder + zip). `out_path` may be the list itself."""
    hl = load(list_path)
    th = _threshold_json(threshold, str(out_path))
    manifest = dict(hl.manifest)
    manifest["threshold"] = th
    problems = schema_problems(manifest, MANIFEST_SCHEMA)
    if problems:
        raise _field_error(str(out_path), problems[0])
    sealed = _Sealed(files=dict(hl.raw_files), manifest=manifest, report=BuildReport())
    return write_sealed(sealed, out_path, overwrite=overwrite)


# ----- reading --------------------------------------------------------------------------------


def _read_folder(root: Path) -> dict[str, bytes]:
    """Every regular file under root by relative POSIX path (subfolders included, so an
    unlisted file anywhere is found); symlinks and special files are refused."""
    out: dict[str, bytes] = {}
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(names + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]):
            full = Path(dirpath) / n
            rel = full.relative_to(root).as_posix()
            if full.is_symlink() or not full.is_file():
                raise HashListError(
                    root,
                    rel,
                    "not a regular file (symlinks and special files "
                    "are not allowed in a hash list)",
                )
            try:
                out[rel] = full.read_bytes()
            except OSError as exc:
                raise HashListError(root, rel, f"cannot read: {exc.strerror or exc}") from None
    return out


def _read_zip(path: Path) -> tuple[str, dict[str, bytes]]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise HashListError(path, "zip", f"not a readable zip file: {exc}") from None
    out: dict[str, bytes] = {}
    with zf:
        infos = zf.infolist()
        if not infos:
            raise HashListError(path, "zip", "zip is empty")
        tops: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            pp = PurePosixPath(name)
            if (
                name.startswith("/")
                or "\\" in name
                or any(p in ("..", ".", "") for p in name.rstrip("/").split("/"))
            ):
                raise HashListError(path, name, "zip entry has an unsafe path")
            mode = (info.external_attr >> 16) & 0o170000
            if mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise HashListError(path, name, "zip entry is not a regular file")
            tops.add(pp.parts[0])
            total += info.file_size
        if len(tops) != 1 or any(
            len(PurePosixPath(i.filename).parts) < 2 and not i.is_dir() for i in infos
        ):
            raise HashListError(
                path, "zip", f"must hold one top folder <list_id>/, found {sorted(tops)[:5]}"
            )
        if total > MAX_ZIP_BYTES:
            raise HashListError(path, "zip", f"expands to {total} bytes (limit {MAX_ZIP_BYTES})")
        top = tops.pop()
        try:
            for info in infos:
                if info.is_dir():
                    continue
                rel = info.filename[len(top) + 1 :]
                out[rel] = zf.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, zlib_error()) as exc:
            raise HashListError(path, "zip", f"corrupt zip: {exc}") from None
    return top, out


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


@dataclass
class HashList:
    """A verified hash list, in memory. Entry `i` is line `i` of entries.jsonl."""

    list_id: str
    spec: Spec
    model: dict[str, str]
    threshold: dict[str, Any] | None
    hashes: np.ndarray  # uint8 [H, 12], strictly ascending
    offsets: np.ndarray  # int64 [H + 1]
    ids: list[str]
    labels: list[str | None]
    sources: list[str | None]
    metas: list[dict[str, Any] | None]
    fragile: np.ndarray | None  # uint8 [N, 12] or None
    manifest: dict[str, Any]
    path: str
    raw_files: dict[str, bytes] = field(repr=False, default_factory=dict)
    _index_cache: dict[tuple[str, tuple[int, ...]], Any] = field(repr=False, default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> HashList:
        return load(path)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def recommended_threshold(self) -> int | None:
        return None if self.threshold is None else int(self.threshold["recommended"])

    def entry(self, i: int) -> Entry:
        k = int(np.searchsorted(self.offsets, i, side="right")) - 1
        return Entry(
            id=self.ids[i],
            hash=self.hashes[k].tobytes().hex(),
            label=self.labels[i],
            source=self.sources[i],
            meta=self.metas[i],
            fragile=None if self.fragile is None else self.fragile[i].tobytes(),
        )

    def entries(self) -> list[Entry]:
        return [self.entry(i) for i in range(len(self.ids))]

    def check_identity(self, model: Any, source: str) -> None:
        """A hash is meaningless under another model or seed: say which two differ."""
        from .models import shipped_model_with_fingerprint

        other = _identity_json(model)
        for key, what in (("fingerprint", "model fingerprint"), ("seed_sha256", "seed sha256")):
            if other[key] != self.model[key]:
                shipped = shipped_model_with_fingerprint(self.model["fingerprint"])
                hint = f"; hash with --model {shipped} (shipped with nhkit)" if shipped else ""
                raise HashListError(
                    self.path,
                    f"model.{key}",
                    f"the list was made with {what} {self.model[key]} ({self.model['name']}), "
                    f"but {source} uses {other[key]} ({other['name']}); hashes of different "
                    f"models or seeds do not compare{hint}",
                )

    def check_spec(self, spec: Spec, source: str) -> None:
        if not self.spec.hash_compatible(spec):
            raise HashListError(
                self.path,
                "spec",
                f"the list's spec {self.spec.to_json()} and "
                f"{source}'s {spec.to_json()} differ; the hashes do not compare",
            )

    def search(
        self,
        queries: Any,
        threshold: int | None = None,
        *,
        backend: str = "auto",
        fragile: Any = None,
    ) -> SearchResult:
        """Every entry within `threshold` bits of each query (docs/hashlist-format.md).

        `queries`: hex strings, HashResults (their fragile masks are used), a uint8 [Q, 12]
        array, or one hex string. `threshold` defaults to the manifest's recommended one."""
        t = self._resolve_threshold(threshold)
        codes, fq, names = query_codes(queries, fragile)
        return search_entries(self, codes, fq, t, backend=backend, names=names)

    def _resolve_threshold(self, threshold: int | None) -> int:
        if threshold is None:
            if self.threshold is None:
                raise NhkitError(
                    f"{self.path}: the list has no recommended threshold; pass "
                    "--threshold T (or record one with `nhkit match calibrate`)"
                )
            threshold = int(self.threshold["recommended"])
        return check_threshold(threshold)


def load(path: str | os.PathLike[str]) -> HashList:
    """Open a list folder or zip and verify it completely (see the module docstring)."""
    src = Path(path)
    if src.is_dir():
        files = _read_folder(src)
        label = str(src)
        zip_top = None
    elif src.is_file():
        if src.suffix.lower() != ".zip" and not zipfile.is_zipfile(src):
            if src.name == "manifest.json":
                return load(src.parent)
            raise HashListError(
                src, "", "not a hash list: expected a folder with manifest.json or its .zip"
            )
        zip_top, files = _read_zip(src)
        label = f"{src}:{zip_top}"
    else:
        raise HashListError(src, "", "no such hash list (folder or .zip)")
    hl = parse_files(files, label)
    if zip_top is not None and zip_top != hl.list_id:
        raise HashListError(
            src, "list_id", f"zip top folder {zip_top!r} is not the list id {hl.list_id!r}"
        )
    hl.path = str(src)
    return hl


def parse_files(files: Mapping[str, bytes], label: str) -> HashList:
    """Verify and parse a list given as {relative path: bytes}; `label` prefixes file names in
    errors (the folder, or 'LIST.zip:top')."""

    def err(fname: str, fieldname: str, reason: str) -> HashListError:
        return HashListError(f"{label}/{fname}", fieldname, reason)

    if "manifest.json" not in files:
        raise HashListError(label, "manifest.json", "missing (not a hash list?)")
    mlabel = f"{label}/manifest.json"
    manifest = _parse_manifest(files["manifest.json"], mlabel)

    # Integrity: exactly the listed files, each with its size and sha256.
    listed = [f["path"] for f in manifest["files"]]
    if listed != sorted(listed) or len(set(listed)) != len(listed):
        raise HashListError(mlabel, "files", "paths must be unique and sorted")
    for req in REQUIRED_FILES:
        if req not in listed:
            raise HashListError(mlabel, "files", f"{req} is not listed (required)")
    for f in manifest["files"]:
        data = files.get(f["path"])
        if data is None:
            raise err(f["path"], f["path"], "missing (listed in manifest.json files)")
        if len(data) != f["size"]:
            raise err(
                f["path"],
                f["path"],
                f"size {len(data)} bytes, manifest says {f['size']} (truncated or altered)",
            )
        if hashlib.sha256(data).hexdigest() != f["sha256"]:
            raise err(
                f["path"], f["path"], "sha256 does not match the manifest (file altered or corrupt)"
            )
    unlisted = sorted(set(files) - set(listed) - {"manifest.json"})
    if unlisted:
        raise err(unlisted[0], unlisted[0], "file is not listed in manifest.json files")

    n, h = manifest["counts"]["entries"], manifest["counts"]["hashes"]
    sizes = {HASHES: CODE_BYTES * h, OFFSETS: 4 * (h + 1), FRAGILE: CODE_BYTES * n}
    for fname, want in sizes.items():
        if fname in files and len(files[fname]) != want:
            raise err(
                fname,
                fname,
                f"{len(files[fname])} bytes, but counts say {want} "
                f"(counts.entries={n}, counts.hashes={h})",
            )

    hashes = np.frombuffer(files[HASHES], np.uint8).reshape(h, CODE_BYTES)
    if h > 1:
        hi = hashes[:, :8].copy().view(">u8").ravel()
        lo = hashes[:, 8:].copy().view(">u4").ravel()
        ok = (hi[1:] > hi[:-1]) | ((hi[1:] == hi[:-1]) & (lo[1:] > lo[:-1]))
        if not ok.all():
            k = int(np.flatnonzero(~ok)[0]) + 1
            raise err(HASHES, HASHES, f"hashes are not strictly ascending at index {k}")
    offsets = np.frombuffer(files[OFFSETS], "<u4").astype(np.int64)
    if offsets[0] != 0:
        raise err(OFFSETS, OFFSETS, f"offsets[0] is {offsets[0]}, must be 0")
    if h and not (np.diff(offsets) > 0).all():
        k = int(np.flatnonzero(np.diff(offsets) <= 0)[0])
        raise err(OFFSETS, OFFSETS, f"offsets are not strictly increasing at index {k + 1}")
    if offsets[-1] != n:
        raise err(OFFSETS, OFFSETS, f"offsets[{h}] is {offsets[-1]}, must be counts.entries={n}")

    ids, labels, sources, metas = _parse_entries(
        files[ENTRIES], n, hashes, offsets, f"{label}/{ENTRIES}"
    )
    fragile = None
    if FRAGILE in files:
        fragile = np.frombuffer(files[FRAGILE], np.uint8).reshape(n, CODE_BYTES)
    try:
        spec = Spec.from_json(manifest["spec"], source=mlabel)
    except SpecMismatchError as exc:
        raise HashListError(mlabel, "spec", str(exc)) from None
    return HashList(
        list_id=manifest["list_id"],
        spec=spec,
        model=dict(manifest["model"]),
        threshold=manifest["threshold"],
        hashes=hashes,
        offsets=offsets,
        ids=ids,
        labels=labels,
        sources=sources,
        metas=metas,
        fragile=fragile,
        manifest=manifest,
        path=label,
        raw_files={k: v for k, v in files.items() if k != "manifest.json"},
    )


def _field_error(label: str, reason: str) -> HashListError:
    """Turn 'field: message' (how jsonfile words problems) into an error with that field."""
    name, sep, msg = reason.partition(": ")
    if not sep or " " in name:
        return HashListError(label, "manifest.json", reason)
    return HashListError(label, name, msg)


def _parse_manifest(data: bytes, mlabel: str) -> dict[str, Any]:
    try:
        obj = parse_json_bytes(data, mlabel, what="hash list manifest")
        check_format_header(obj, mlabel, fmt=FORMAT, version=FORMAT_VERSION, others=KNOWN_FORMATS)
    except InputFileError as exc:
        raise _field_error(mlabel, exc.reason) from None
    problems = schema_problems(obj, MANIFEST_SCHEMA)
    if problems:
        err = _field_error(mlabel, problems[0])
        if len(problems) > 1:
            err.args = (f"{err.args[0]} (and {len(problems) - 1} more problems)",)
        raise err
    return obj


_ENTRY_KEYS = {"id", "hash", "label", "source", "meta"}


def _entry_ok(obj: Any) -> bool:
    """Fast path of the entry schema (jsonschema per line would make loading 10^6 entries take
    a minute); on failure the schema itself words the message."""
    if type(obj) is not dict or obj.keys() != _ENTRY_KEYS:
        return False
    i, h, lab, s, m = obj["id"], obj["hash"], obj["label"], obj["source"], obj["meta"]
    return (
        type(i) is str
        and 1 <= len(i) <= MAX_ID_CHARS
        and type(h) is str
        and _HEX24.match(h) is not None
        and (lab is None or (type(lab) is str and len(lab) <= MAX_LABEL_CHARS))
        and (s is None or (type(s) is str and len(s) <= MAX_SOURCE_CHARS))
        and (m is None or type(m) is dict)
    )


class _Reject(Exception):
    pass


def _strict_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _Reject("duplicate key")
    return d


def _no_constant(text: str) -> Any:
    raise _Reject(text)


_Columns = tuple[list[str], list["str | None"], list["str | None"], list["dict[str, Any] | None"]]


def _parse_entries_fast(
    data: bytes, raw: list[bytes], hashes: np.ndarray, offsets: np.ndarray
) -> _Columns | None:
    """All lines parsed by one json.loads call and checked with whole-list operations: about
    ten times faster than line by line. Returns None at the first doubt (the slow path then
    finds and words the fault), so it never accepts what the slow path would reject."""
    n = len(raw)
    if max(map(len, raw)) > MAX_LINE_BYTES or not all(raw):
        return None
    try:
        objs = json.loads(
            b"[" + b",".join(raw) + b"]",
            object_pairs_hook=_strict_pairs,
            parse_constant=_no_constant,
        )
    except (ValueError, _Reject, RecursionError):
        return None
    if len(objs) != n or not all(map(_entry_ok, objs)):
        return None
    counts = np.diff(offsets)
    if "".join([o["hash"] for o in objs]) != np.repeat(hashes, counts, axis=0).tobytes().hex():
        return None
    ids = [o["id"] for o in objs]
    if len(set(ids)) != n:
        return None
    for k in np.flatnonzero(counts > 1).tolist():
        group = [i.encode("utf-8", "surrogatepass") for i in ids[offsets[k] : offsets[k + 1]]]
        if any(a >= b for a, b in zip(group, group[1:])):
            return None
    return (ids, [o["label"] for o in objs], [o["source"] for o in objs], [o["meta"] for o in objs])


def _parse_entries(
    data: bytes, n: int, hashes: np.ndarray, offsets: np.ndarray, elabel: str
) -> tuple[list[str], list[str | None], list[str | None], list[dict[str, Any] | None]]:
    def bad(line: int, fieldname: str, reason: str) -> HashListError:
        where = f"line {line + 1}" + (f": {fieldname}" if fieldname else "")
        return HashListError(elabel, where, reason)

    if n == 0:
        if data:
            raise HashListError(elabel, ENTRIES, "must be empty when counts.entries is 0")
        return [], [], [], []
    if not data.endswith(b"\n"):
        raise HashListError(elabel, ENTRIES, "last line does not end in a newline (truncated?)")
    raw = data[:-1].split(b"\n")
    if len(raw) != n:
        raise HashListError(elabel, ENTRIES, f"{len(raw)} lines, counts.entries says {n}")
    fast = _parse_entries_fast(data, raw, hashes, offsets)
    if fast is not None:
        return fast
    # Something is wrong: the line-by-line reading below finds the first fault and words it.
    group_hex = [hashes[k].tobytes().hex() for k in range(len(hashes))]
    group_of = np.repeat(np.arange(len(hashes)), np.diff(offsets))
    ids: list[str] = []
    labels: list[str | None] = []
    sources: list[str | None] = []
    metas: list[dict[str, Any] | None] = []
    seen: set[str] = set()
    prev_key: bytes | None = None
    prev_group = -1
    for i, line in enumerate(raw):
        if len(line) > MAX_LINE_BYTES:
            raise bad(i, "", f"{len(line)} bytes; a line is at most {MAX_LINE_BYTES}")
        if not line.strip():
            raise bad(i, "", "blank line")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise bad(i, "", f"not UTF-8 (bad byte at offset {exc.start})") from None
        try:
            obj = parse_json_text(text, "")
        except InputFileError as exc:
            raise bad(i, "", exc.reason) from None
        if not _entry_ok(obj):
            problems = schema_problems(obj, ENTRY_SCHEMA) or ["(top level): not an entry"]
            fieldname, _, msg = problems[0].partition(": ")
            raise bad(i, fieldname, msg)
        g = int(group_of[i])
        if obj["hash"] != group_hex[g]:
            raise bad(
                i,
                "hash",
                f"{obj['hash']} is not its group's hash {group_hex[g]} "
                "(entries must follow hashes.bin through offsets.bin)",
            )
        key = obj["id"].encode("utf-8")
        if obj["id"] in seen:
            raise bad(i, "id", f"{obj['id']!r} appears twice")
        if g == prev_group and prev_key is not None and key <= prev_key:
            raise bad(i, "id", "entries sharing a hash must be sorted by id (UTF-8 bytes)")
        seen.add(obj["id"])
        prev_key, prev_group = key, g
        ids.append(obj["id"])
        labels.append(obj["label"])
        sources.append(obj["source"])
        metas.append(obj["meta"])
    return ids, labels, sources, metas
