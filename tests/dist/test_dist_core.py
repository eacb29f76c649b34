"""The engine-neutral core: an Arrow batch of (path, bytes) -> the documented hashes table,
bit-identical to `nhkit hash` (Hasher.hash_files), errors as rows."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa
import pytest
from conftest import library_files
from nhkit.dist.core import HasherConfig, hash_table
from nhkit.dist.schema import BASE_SCHEMA, model_json
from nhkit.runtime.errors import NhkitError
from nhkit.runtime.hashing import (
    bits_from_projections,
    bits_to_hex,
    fragile_mask,
    project,
)

# docs/parquet-format.md, written out independently of nhkit.dist.schema.
DOCUMENTED = pa.schema([
    pa.field("path", pa.string(), nullable=False), ("size", pa.int64()),
    ("mtime_ns", pa.int64()), ("hash", pa.string()), ("bits", pa.binary(12)),
    ("embedding", pa.list_(pa.float32(), 128)), ("fragile", pa.binary(12)),
    ("min_margin", pa.float64()), ("fragile_count", pa.int32()), ("error", pa.string())])


def _batch(files: list[str]) -> pa.Table:
    return pa.table({"path": files, "bytes": pa.array([open(f, "rb").read() for f in files],
                                                      pa.binary())})


def test_rows_equal_hash_files_on_the_default_model(library) -> None:
    files = library_files(library)
    hasher = HasherConfig(threads=None).build()
    table = hash_table(hasher, _batch(files), batch_size=4, workers=2)
    assert table.schema.equals(DOCUMENTED) and BASE_SCHEMA.equals(DOCUMENTED)
    assert table.column("path").to_pylist() == files
    rows = table.to_pylist()
    expected = dict(hasher.hash_files(files))
    seed = hasher.seed
    good = 0
    for row in rows:
        want = expected[row["path"]]
        if isinstance(want, NhkitError):
            assert row["hash"] is None and row["bits"] is None and row["embedding"] is None
            assert row["error"] == want.reason
            continue
        good += 1
        assert row["error"] is None and row["hash"] == want.hex
        emb = np.array(row["embedding"], dtype=np.float32)
        assert emb.tobytes() == want.embedding.tobytes()
        # Everything else derives exactly from the float32 embedding and the seed.
        proj = project(seed, emb)
        assert bits_to_hex(bits_from_projections(proj)) == row["hash"]
        assert row["bits"] == bytes.fromhex(row["hash"])
        mask = fragile_mask(proj, hasher.spec.fragile_margin)
        assert row["fragile"] == np.packbits(mask.astype(np.uint8)).tobytes()
        assert row["fragile_count"] == int(mask.sum()) and row["min_margin"] == want.min_margin
        assert row["size"] == os.path.getsize(row["path"]) and row["mtime_ns"] > 0
    assert good == 8 and len(rows) == 11
    errors = {r["path"].rsplit("/", 1)[1]: r["error"] for r in rows if r["error"]}
    assert errors["empty.png"] == "file is empty (0 bytes)"
    assert errors["garbage.jpg"] == "not a recognised image format"
    assert errors["truncated.jpg"].startswith("corrupt or truncated")
    md = table.schema.metadata
    assert md[b"nhkit.schema"] == b"nhkit-hashes-v1"
    assert json.loads(md[b"nhkit.spec"]) == hasher.spec.to_json()
    model = json.loads(md[b"nhkit.model"])
    assert model == model_json(hasher.identity)
    assert len(model["fingerprint"]) == 64 and len(model["seed_sha256"]) == 64


def test_decodes_the_bytes_given_not_the_path(tiny_model, photos) -> None:
    hasher = HasherConfig(model=str(tiny_model[0]), seed=str(tiny_model[1])).build()
    # The path names a file that does not exist: only the bytes are used.
    batch = pa.table({"path": ["s3://bucket/a.jpg", "gone.jpg"],
                      "bytes": pa.array([photos[1].read_bytes(), None], pa.binary()),
                      "size": pa.array([7, None], pa.int64()),
                      "mtime_ns": pa.array([123, None], pa.int64())})
    rows = hash_table(hasher, batch).to_pylist()
    assert rows[0]["hash"] == hasher.hash_file(photos[1]).hex
    assert (rows[0]["size"], rows[0]["mtime_ns"]) == (7, 123)
    assert rows[1]["error"] == "file could not be read" and rows[1]["hash"] is None


def test_a_batch_without_the_columns_is_a_clear_error(tiny_model) -> None:
    hasher = HasherConfig(model=str(tiny_model[0]), seed=str(tiny_model[1])).build()
    with pytest.raises(NhkitError, match="needs columns 'path' and 'bytes'"):
        hash_table(hasher, pa.table({"path": ["a"]}))
