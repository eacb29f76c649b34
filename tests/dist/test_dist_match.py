"""Matching at scale: a hashes Parquet against a hash list, per batch, with the list broadcast
(Ray), checked against brute-force Hamming distances."""

from __future__ import annotations

from pathlib import Path

import pytest

import nhkit.runtime.hashlist as hl
from nhkit.dist.core import HasherConfig
from nhkit.dist.local import local_engine
from nhkit.dist.match import match_parquet_locally, match_table, match_with_ray
from nhkit.dist.output import HashesOutput, read_hashes
from nhkit.dist.plan import list_inputs, run_chunks
from nhkit.runtime.errors import NhkitError


@pytest.fixture(scope="module")
def hashed(tiny_model, library, tmp_path_factory):
    out = tmp_path_factory.mktemp("q") / "queries.parquet"
    hasher = HasherConfig(model=str(tiny_model[0]), seed=str(tiny_model[1]),
                          fragile_margin=0.05).build()
    ident = hasher.identity
    run_chunks(list_inputs([library], recursive=True), HashesOutput(out),
               local_engine(hasher, ident, folder=out), spec=hasher.spec, model=ident,
               run_id="q")
    table, meta = read_hashes(out)
    ok = [r for r in table.to_pylist() if r["hash"]]
    # The list: the first 5 photos, one listed twice under two ids (a shared hash).
    entries = [hl.Entry(id=f"img{i}", hash=r["hash"], label=f"photo {i}", source=r["path"],
                        fragile=r["fragile"]) for i, r in enumerate(ok[:5])]
    entries.append(hl.Entry(id="dup", hash=ok[0]["hash"], label=None, fragile=ok[0]["fragile"]))
    listdir = tmp_path_factory.mktemp("l") / "known"
    hl.write_hashlist(listdir, entries, spec=meta.spec, model=meta.model,
                      zip_too=False)
    return out, listdir, table, entries


def _brute(table, entries, threshold):
    hits = set()
    for r in table.to_pylist():
        if not r["hash"]:
            continue
        q = int(r["hash"], 16)
        for e in entries:
            d = (q ^ int(e.hash, 16)).bit_count()
            if d <= threshold:
                hits.add((r["path"], e.id, d))
    return hits


@pytest.mark.parametrize("threshold", [0, 30])
def test_local_match_equals_brute_force(hashed, threshold) -> None:
    out, listdir, table, entries = hashed
    hits = match_parquet_locally(out, listdir, threshold)
    got = {(r["query_path"], r["id"], r["distance"]) for r in hits.to_pylist()}
    assert got == _brute(table, entries, threshold)
    assert all(r["nonfragile_distance"] <= r["distance"] for r in hits.to_pylist())
    # Every listed photo finds itself at distance 0 (the shared hash under both ids).
    assert {(e.source, e.id, 0) for e in entries[:5]} <= got
    assert (entries[0].source, "dup", 0) in got


def test_ray_recipe_equals_local(ray_cluster, hashed, tmp_path) -> None:
    out, listdir, table, entries = hashed
    n = match_with_ray(out, listdir, tmp_path / "hits", threshold=30, concurrency=2,
                       batch_size=3)
    import pyarrow.parquet as pq

    got = pq.read_table(tmp_path / "hits")
    assert got.num_rows == n
    assert {(r["query_path"], r["id"], r["distance"]) for r in got.to_pylist()} == \
        _brute(table, entries, 30)


def test_queries_of_another_model_are_refused(hashed, tmp_path) -> None:
    _, listdir, table, _ = hashed
    other = tmp_path / "other.parquet"
    hasher = HasherConfig().build()  # the default model, not the tiny one
    ident = hasher.identity
    import pyarrow as pa
    from nhkit.dist.core import hash_table
    from nhkit.dist.output import write_part

    first = table.slice(0, 1).to_pylist()[0]
    t = hash_table(hasher, pa.table({"path": [first["path"]],
                                     "bytes": [Path(first["path"]).read_bytes()]}), model=ident)
    write_part(other, "x", t)
    with pytest.raises(NhkitError, match="fingerprint"):
        match_parquet_locally(other, listdir, 10)
    assert match_table(hl.HashList.load(listdir), t.slice(0, 0), 10).num_rows == 0


def test_output_folder_is_a_direct_input_of_hashlist_build_and_match(hashed, tmp_path) -> None:
    """`nhkit hash --out OUT` writes a folder of part files: `nhkit hashlist build OUT` and
    `nhkit match ... OUT` read it as one hash file (no -r, no image walk)."""
    import contextlib
    import io

    from nhkit.runtime.cli import main

    out, _, table, _ = hashed
    ok = [r for r in table.to_pylist() if r["hash"]]
    lst = tmp_path / "from-parquet"
    assert main(["hashlist", "build", str(out), "-o", str(lst)]) == 1  # the corrupt rows
    listed = hl.load(lst)
    assert len(listed) == len(ok)
    assert sorted(listed.entry(i).hash for i in range(len(listed))) == sorted(
        r["hash"] for r in ok)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main(["match", "--list", str(lst), "--threshold", "0", "--format", "csv", str(out)])
    matched = {line.split(",")[0] for line in buf.getvalue().splitlines()[1:] if line}
    assert matched >= {r["path"] for r in ok}
