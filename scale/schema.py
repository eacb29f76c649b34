"""The Parquet contract of nhkit.dist (docs/parquet-format.md): columns, key-value metadata, and
the identity of the model that made the hashes.

One home for the schema: the Ray and Spark adapters, the resume logic and the readers of
`nhkit hashlist build` / `nhkit match` all take it from here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from nhkit.runtime.digest import ModelIdentity
from nhkit.runtime.errors import InputFileError
from nhkit.runtime.spec import EMBEDDING_DIM, HASH_BITS, Spec

from . import SCHEMA_ID

HASH_BYTES = HASH_BITS // 8

# Column order is part of the contract: readers may rely on it; new columns go at the end.
COLUMNS: tuple[pa.Field, ...] = (
    pa.field("path", pa.string(), nullable=False),
    pa.field("size", pa.int64()),
    pa.field("mtime_ns", pa.int64()),
    pa.field("hash", pa.string()),
    pa.field("bits", pa.binary(HASH_BYTES)),
    pa.field("embedding", pa.list_(pa.float32(), EMBEDDING_DIM)),
    pa.field("fragile", pa.binary(HASH_BYTES)),
    pa.field("min_margin", pa.float64()),
    pa.field("fragile_count", pa.int32()),
    pa.field("error", pa.string()),
)
BASE_SCHEMA = pa.schema(list(COLUMNS))

META_SCHEMA = b"nhkit.schema"
META_SPEC = b"nhkit.spec"
META_MODEL = b"nhkit.model"
META_VERSION = b"nhkit.version"


def model_json(model: ModelIdentity) -> dict[str, Any]:
    """The `nhkit.model` metadata object (the same three keys as a hash list's `model`)."""
    return {"name": model.name, "fingerprint": model.fingerprint, "seed_sha256": model.seed_sha256}


def same_model(a: ModelIdentity, b: ModelIdentity) -> bool:
    """Hashes compare only under equal weights and seed; the name is a label."""
    return a.fingerprint == b.fingerprint and a.seed_sha256 == b.seed_sha256


def hashes_schema(spec: Spec, model: ModelIdentity) -> pa.Schema:
    """The table schema with the file metadata every part file carries."""
    from nhkit.runtime import __version__

    return BASE_SCHEMA.with_metadata(
        {
            META_SCHEMA: SCHEMA_ID.encode(),
            META_SPEC: json.dumps(spec.to_json()).encode(),
            META_MODEL: json.dumps(model_json(model)).encode(),
            META_VERSION: __version__.encode(),
        }
    )


@dataclass(frozen=True)
class HashesMeta:
    """The parsed metadata of one nhkit hashes Parquet file."""

    spec: Spec
    model: ModelIdentity
    version: str


def parse_metadata(metadata: dict[bytes, bytes] | None, source: str) -> HashesMeta:
    """Check and parse a part file's key-value metadata; errors name the file and the key."""
    md = metadata or {}
    schema_id = md.get(META_SCHEMA, b"").decode("utf-8", "replace")
    if schema_id != SCHEMA_ID:
        raise InputFileError(
            source,
            f"not an nhkit hashes file: metadata nhkit.schema is "
            f"{schema_id or 'missing'!r}, expected {SCHEMA_ID!r}",
        )
    try:
        spec = Spec.from_json(json.loads(md[META_SPEC]), source=f"{source}: nhkit.spec")
        m = json.loads(md[META_MODEL])
        model = ModelIdentity(m.get("name"), str(m["fingerprint"]), str(m["seed_sha256"]))
        version = md.get(META_VERSION, b"").decode()
    except KeyError as exc:
        raise InputFileError(source, f"metadata {exc.args[0]!r} is missing") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise InputFileError(source, f"unreadable nhkit metadata: {exc}") from None
    return HashesMeta(spec=spec, model=model, version=version)


def check_columns(schema: pa.Schema, source: str) -> None:
    """Every contract column present with its exact type (extra columns are allowed)."""
    for f in COLUMNS:
        idx = schema.get_field_index(f.name)
        if idx < 0:
            raise InputFileError(source, f"column {f.name!r} is missing")
        if schema.field(idx).type != f.type:
            raise InputFileError(
                source, f"column {f.name!r} is {schema.field(idx).type}, expected {f.type}"
            )
