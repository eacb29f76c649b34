"""Reading and checking the JSON files users and devices hand to nhkit (golden sets, device
reports, self-test cases).

Why a module of its own: these files come from other programs (Swift, Java, hand edits, a CI
artefact cut short), and every problem must come back as one clear line naming the file and the
field (`report.json: cases[3].hash: ...`), never a traceback, never a silent pass. Python's
`json` module alone accepts `NaN`, keeps the last of two duplicate keys without a word, and
jsonschema's default messages print whole 96-element arrays; this module fixes all three.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .atomic import write_bytes_atomic
from .errors import InputFileError

MAX_LISTED_PROBLEMS = 10


class _NonFinite:
    """Stands in for a `NaN`/`Infinity` literal while parsing, so we can report where it was."""

    def __init__(self, text: str) -> None:
        self.text = text


class _DuplicateKeyDict(dict[str, Any]):
    """A JSON object that had a key twice; `duplicate` names the key."""

    duplicate: str = ""


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            dup = _DuplicateKeyDict(out)
            dup.update(pairs)
            dup.duplicate = key
            return dup
        out[key] = value
    return out


def field_path(parts: Iterable[str | int]) -> str:
    """['cases', 3, 'hash'] -> 'cases[3].hash'; [] -> '(top level)'."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out or "(top level)"


FieldPath = tuple[str | int, ...]


def _walk(obj: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Any]]:
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, path + (i,))


def _unclosed(text: str) -> bool:
    """True when the text ends inside a string or with brackets still open: the signature of
    a file cut short (an interrupted copy, a full disk, a killed writer)."""
    depth, in_str, esc = 0, False, False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return in_str or depth > 0


def parse_json_text(text: str, source: str) -> Any:
    """Parse JSON strictly: no NaN/Infinity literals, no duplicate keys. Errors name `source`."""
    try:
        obj = json.loads(text, parse_constant=_NonFinite, object_pairs_hook=_pairs_hook)
    except json.JSONDecodeError as exc:
        hint = ""
        if exc.pos >= len(text.rstrip()) or _unclosed(text):
            hint = "; the file ends before the JSON is complete (truncated?)"
        raise InputFileError(
            source, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}){hint}"
        ) from None
    except RecursionError:
        raise InputFileError(source, "not valid JSON: nested too deeply") from None
    for path, value in _walk(obj):
        if isinstance(value, _NonFinite):
            raise InputFileError(
                source,
                f"{field_path(path)}: {value.text} is not a JSON number "
                "(numbers must be finite; floats in nhkit files are hex bit "
                "patterns)",
            )
        if isinstance(value, _DuplicateKeyDict):
            raise InputFileError(
                source,
                f"{field_path(path + (value.duplicate,))}: key appears twice in the same object",
            )
    return obj


def read_json(path: str | os.PathLike[str], *, what: str = "JSON file") -> Any:
    """Read and strictly parse a JSON file; every failure is an InputFileError naming it."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputFileError(p, f"{what} not found") from None
    except IsADirectoryError:
        raise InputFileError(p, f"is a directory, expected a {what}") from None
    except OSError as exc:
        raise InputFileError(p, f"cannot read {what}: {exc.strerror or exc}") from None
    return parse_json_bytes(data, str(p), what=what)


def parse_json_bytes(data: bytes, source: str, *, what: str = "JSON file") -> Any:
    """Decode UTF-8 (a BOM is tolerated: some Windows and Java writers add one) and parse."""
    if not data.strip():
        raise InputFileError(source, f"file is empty (expected a {what})")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(source, f"not UTF-8 text (bad byte at offset {exc.start})") from None
    return parse_json_text(text, source)


def json_bytes(obj: Any) -> bytes:
    """Canonical JSON text of every nhkit file: two-space indent, keys in insertion order, no
    NaN/Infinity, non-ASCII kept as UTF-8, final newline. One definition, so a file written by
    the runtime and one written by the exporter differ only where their contents do."""
    return (json.dumps(obj, indent=2, allow_nan=False, ensure_ascii=False) + "\n").encode("utf-8")


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """Write canonical JSON atomically (temp file + rename, see atomic.py).

    Atomic because golden files are rewritten in place by calibrate and --golden-update; a
    crash must leave the old file, not half a new one."""
    write_bytes_atomic(path, json_bytes(obj))


# ----- JSON Schema -----------------------------------------------------------------------------


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A schema shipped in nhkit.runtime/schemas (package data, so it works installed too)."""
    text = (
        resources.files("nhkit.runtime")
        .joinpath("schemas")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


# What the patterns in our schemas mean, for messages a person can act on.
_PATTERN_WORDS = {
    "^[0-9a-fA-F]{24}$": "a 96-bit hash: exactly 24 hex digits",
    "^[0-9a-f]{8}$": "a float32 bit pattern: exactly 8 lowercase hex digits",
    "^[0-9a-f]{16}$": "a float64 bit pattern: exactly 16 lowercase hex digits",
    "^[0-9a-f]{64}$": "a sha256: exactly 64 lowercase hex digits",
    "^[^\\u0000-\\u001f]+$": "text without control characters",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def short(value: Any, limit: int = 60) -> str:
    """A value for an error message, cut so a 128-element array does not flood the terminal."""
    if isinstance(value, list):
        text = f"an array of {len(value)} items"
    elif isinstance(value, dict):
        text = f"an object with keys {sorted(value)[:6]}"
    else:
        text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(err: Any) -> tuple[list[str | int], str]:
    """(field path, message) for one jsonschema ValidationError."""
    path: list[str | int] = list(err.absolute_path)
    v, inst, val = err.validator, err.instance, err.validator_value
    if v == "required":
        missing = [k for k in val if isinstance(inst, dict) and k not in inst]
        name = missing[0] if missing else "?"
        return path + [name], "missing (required field)"
    if v == "additionalProperties" and isinstance(inst, dict):
        known = set(err.schema.get("properties", {}))
        extra = sorted(k for k in inst if k not in known)
        name = extra[0] if extra else "?"
        hint = " (put free-form data under 'extra')" if "extra" in known else ""
        return path + [name], f"unknown field{hint}"
    if v == "type":
        want = val if isinstance(val, str) else " or ".join(val)
        return path, f"expected {want}, got {_json_type(inst)} {short(inst)}"
    if v == "pattern":
        return (
            path,
            f"expected {_PATTERN_WORDS.get(val, 'text matching ' + val)}, got "
            f"{short(inst)}" + (f" ({len(inst)} characters)" if isinstance(inst, str) else ""),
        )
    if v in ("minItems", "maxItems") and isinstance(inst, list):
        lo = err.schema.get("minItems")
        hi = err.schema.get("maxItems")
        want = (
            f"exactly {lo}"
            if lo == hi
            else (f"at least {lo}" if v == "minItems" else f"at most {hi}")
        )
        return path, f"has {len(inst)} items, expected {want}"
    if v == "const":
        return path, f"must be {json.dumps(val)}, got {short(inst)}"
    if v == "enum":
        return path, f"must be one of {', '.join(json.dumps(x) for x in val)}, got {short(inst)}"
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {
            "minimum": ">=",
            "maximum": "<=",
            "exclusiveMinimum": ">",
            "exclusiveMaximum": "<",
        }[v]
        return path, f"must be {words} {val}, got {short(inst)}"
    if v == "minLength":
        return path, "must not be empty" if val == 1 else f"must have at least {val} characters"
    msg = err.message
    return path, msg if len(msg) <= 200 else msg[:197] + "..."


def schema_problems(obj: Any, schema_name: str) -> list[str]:
    """All schema violations of `obj`, each 'field: message', in document order."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(load_schema(schema_name))
    found: list[tuple[list[str | int], str]] = []
    for err in validator.iter_errors(obj):
        # if/then/else and allOf wrap the real errors; report those, not the wrapper.
        leaves = [err]
        while leaves and any(e.context for e in leaves):
            leaves = [c for e in leaves for c in (e.context or [e])]
        for leaf in leaves:
            found.append(_describe(leaf))

    def key(item: tuple[list[str | int], str]) -> list[tuple[int, str]]:
        return [(0, f"{p:09d}") if isinstance(p, int) else (1, p) for p in item[0]]

    # One problem per field: a second complaint about the same value adds nothing.
    seen: set[str] = set()
    out: list[str] = []
    for path, msg in sorted(found, key=key):
        name = field_path(path)
        if name not in seen:
            seen.add(name)
            out.append(f"{name}: {msg}")
    return out


def raise_problems(source: str, problems: list[str]) -> None:
    """One problem: one line. Several: a count, then one indented line each (capped)."""
    if not problems:
        return
    if len(problems) == 1:
        raise InputFileError(source, problems[0])
    shown = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    body = "\n  ".join(shown) + (f"\n  ... and {more} more" if more else "")
    raise InputFileError(source, f"{len(problems)} problems:\n  {body}")


def check_format_header(
    obj: Any, source: str, *, fmt: str, version: int, others: dict[str, str] | None = None
) -> None:
    """The first thing to say about a wrong file: what it is, or which version it is.

    A golden file handed to `--report` or a v2 report to this nhkit should say so plainly
    instead of listing every field the schema does not know."""
    if not isinstance(obj, dict):
        raise InputFileError(source, f"(top level): expected a JSON object, got {_json_type(obj)}")
    got = obj.get("format")
    if got != fmt:
        what = (others or {}).get(got) if isinstance(got, str) else None
        hint = f" (this looks like {what})" if what else ""
        raise InputFileError(source, f"format: expected {fmt!r}, got {short(got)}{hint}")
    ver = obj.get("format_version")
    if ver != version:
        if isinstance(ver, int) and not isinstance(ver, bool):
            raise InputFileError(
                source,
                f"format_version: {ver} is not supported; this nhkit reads {fmt} version {version}",
            )
        raise InputFileError(
            source, f"format_version: expected the integer {version}, got {short(ver)}"
        )


def utc_now_iso() -> str:
    """The `created` timestamp format used by every nhkit file (UTC, seconds)."""
    import datetime as _dt

    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
