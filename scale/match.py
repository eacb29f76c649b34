"""Matching at scale: a large Parquet of query hashes (docs/parquet-format.md) against one hash
list (docs/hashlist-format.md), the list broadcast once to every worker, matched per batch.

`match_table` is the engine-neutral step (an Arrow batch of query rows -> hit rows) on
`nhkit.runtime.hashlist.HashList.search`; `match_with_ray` and `match_with_spark` are the
recipes. The list is small next to the queries (a million entries is ~12 MB of hashes plus the
entry text), so broadcasting it beats any join: Ray ships it once through the object store to
each actor, Spark as a broadcast variable to each executor."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pyarrow as pa

from nhkit.runtime.errors import NhkitError

from .output import HashesOutput, read_hashes
from .schema import HashesMeta

HITS_SCHEMA = pa.schema(
    [
        pa.field("query_path", pa.string(), nullable=False),
        pa.field("query_hash", pa.string(), nullable=False),
        pa.field("entry", pa.int64(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("label", pa.string()),
        pa.field("distance", pa.int32(), nullable=False),
        pa.field("nonfragile_distance", pa.int32(), nullable=False),
    ]
)
QUERY_COLUMNS = ["path", "hash", "bits", "fragile"]


def load_hashlist(path: str | os.PathLike[str]) -> Any:
    """HashList.load, with a clear error where this nhkit has no hash-list module yet."""
    try:
        from nhkit.runtime.hashlist import HashList
    except ModuleNotFoundError as exc:
        if exc.name != "nhkit.runtime.hashlist":
            raise
        raise NhkitError(
            "matching needs nhkit.runtime.hashlist (nhkit hashlist), which this "
            "install does not have"
        ) from None
    return HashList.load(path)


def check_queries(hashlist: Any, meta: HashesMeta, source: str) -> None:
    """Queries made with another model, seed or spec do not compare with the list: refuse."""
    hashlist.check_identity(meta.model, source)
    hashlist.check_spec(meta.spec, source)


def match_table(
    hashlist: Any, batch: pa.Table | pa.RecordBatch, threshold: int | None = None
) -> pa.Table:
    """Hit rows for one batch of query rows (error rows have no hash and are skipped).

    One row per (query, hit), in the list's order: by distance, then entry index."""
    t = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    ok = t.filter(pa.compute.is_valid(t.column("hash")))
    if ok.num_rows == 0:
        return HITS_SCHEMA.empty_table()
    codes = np.frombuffer(
        ok.column("bits").combine_chunks().buffers()[1],
        np.uint8,
        count=12 * ok.num_rows,
        offset=12 * ok.column("bits").combine_chunks().offset,
    ).reshape(-1, 12)
    frag_col = ok.column("fragile").combine_chunks()
    fragile = np.frombuffer(
        frag_col.buffers()[1], np.uint8, count=12 * ok.num_rows, offset=12 * frag_col.offset
    ).reshape(-1, 12)
    result = hashlist.search(
        np.ascontiguousarray(codes), threshold, fragile=np.ascontiguousarray(fragile)
    )
    lims = np.asarray(result.lims, dtype=np.int64)
    qidx = np.repeat(np.arange(ok.num_rows), np.diff(lims))
    ids = np.asarray(result.ids, dtype=np.int64)
    paths = ok.column("path").take(pa.array(qidx))
    hashes = ok.column("hash").take(pa.array(qidx))
    return pa.Table.from_arrays(
        [
            paths.combine_chunks(),
            hashes.combine_chunks(),
            pa.array(ids, pa.int64()),
            pa.array([hashlist.ids[i] for i in ids], pa.string()),
            pa.array([hashlist.labels[i] for i in ids], pa.string()),
            pa.array(np.asarray(result.distances, np.int32)),
            pa.array(np.asarray(result.nonfragile, np.int32)),
        ],
        schema=HITS_SCHEMA,
    )


class _MatchActor:
    """Holds the broadcast list (resolved from the object store once per actor)."""

    def __init__(self, hashlist: Any, threshold: int | None) -> None:
        import ray

        if isinstance(hashlist, ray.ObjectRef):  # constructor kwargs are not resolved for us
            hashlist = ray.get(hashlist)
        self.hashlist, self.threshold = hashlist, threshold

    def __call__(self, batch: pa.Table) -> pa.Table:
        return match_table(self.hashlist, batch, self.threshold)


def match_with_ray(
    queries: str | os.PathLike[str],
    hashlist_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    threshold: int | None = None,
    concurrency: int | None = None,
    num_cpus: float = 0.5,
    batch_size: int = 65536,
) -> int:
    """Match a hashes Parquet (file or output folder) against a list with Ray Data; hits go to
    atomic part files in `out` (HITS_SCHEMA). Returns the number of hits."""
    from .ray import _ray, _sink_class, cluster_cpus

    ray = _ray()
    hashlist = load_hashlist(hashlist_path)
    threshold = hashlist._resolve_threshold(threshold)
    parts = _query_parts(queries, hashlist)
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    list_ref = ray.put(hashlist)  # the broadcast: one copy in the object store per node
    ds = ray.data.read_parquet(parts, columns=QUERY_COLUMNS)
    hits = ds.map_batches(
        _MatchActor,
        batch_format="pyarrow",
        batch_size=batch_size,
        num_cpus=num_cpus,
        compute=ray.data.ActorPoolStrategy(size=concurrency or cluster_cpus()),
        fn_constructor_kwargs={"hashlist": list_ref, "threshold": threshold},
    )
    sink = _sink_class()(os.fspath(out), "hits", HITS_SCHEMA, 100_000)
    hits.write_datasink(sink)
    return sum(r["rows"] for r in sink.results)


def match_with_spark(
    spark: Any,
    queries: str | os.PathLike[str],
    hashlist_path: str | os.PathLike[str],
    *,
    threshold: int | None = None,
) -> Any:
    """The same with Spark: a DataFrame of hit rows (query_path, query_hash, entry, id, label,
    distance, nonfragile_distance); the list travels as a broadcast variable."""
    hashlist = load_hashlist(hashlist_path)
    threshold = hashlist._resolve_threshold(threshold)
    parts = _query_parts(queries, hashlist)
    bc = spark.sparkContext.broadcast(hashlist)

    def run(batches: Any) -> Any:
        hl = bc.value
        for b in batches:
            yield from match_table(hl, b, threshold).to_batches()

    df = spark.read.parquet(*parts).select(*QUERY_COLUMNS)
    return df.mapInArrow(
        run,
        "query_path string, query_hash string, entry long, id string, "
        "label string, distance int, nonfragile_distance int",
    )


def _query_parts(queries: str | os.PathLike[str], hashlist: Any) -> list[str]:
    """The Parquet files of a query set, after checking that they all carry one identity and
    that it is the list's."""
    p = os.fspath(queries)
    if os.path.isdir(p):
        out = HashesOutput(p)
        meta = out.meta()
        if meta is None:
            raise NhkitError(f"{p}: holds no nhkit part files (part-*.parquet)")
        parts = [str(x) for x in out.parts()]
    else:
        meta = read_hashes(p, columns=["path"])[1]  # checks the schema and metadata
        parts = [p]
    check_queries(hashlist, meta, p)
    return parts


def match_parquet_locally(
    queries: str | os.PathLike[str],
    hashlist_path: str | os.PathLike[str],
    threshold: int | None = None,
) -> pa.Table:
    """All hits in one process (the reference the distributed recipes are checked against)."""
    hashlist = load_hashlist(hashlist_path)
    table, meta = read_hashes(queries, columns=QUERY_COLUMNS)
    check_queries(hashlist, meta, os.fspath(queries))
    return match_table(hashlist, table, threshold)
