"""Spark adapter (extra `nhkit[spark]`): the same core in `mapInArrow` over Spark's
`binaryFile` source, for users on Databricks or their own Spark.

Two entry points:
- `hash_binary_files(spark, paths, out, ...)`: each Spark task hashes its partition and writes
  it as one atomic part file of docs/parquet-format.md (pyarrow on the executor, so the exact
  Arrow types survive: Spark's own Parquet writer would turn fixed_size_binary(12) into binary
  and the fixed-size list into a plain list). Resumable like the Ray run.
- `hash_dataframe(df, ...)`: a Spark DataFrame of hash rows to keep working in Spark, with
  Spark's nearest types (binary, array<float>); write it yourself if you accept those types.

Executors need nhkit (and the model file, or the default model that ships with it) installed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from nhkit.runtime.digest import ModelIdentity

from .core import HasherConfig, hash_table
from .output import HashesOutput, new_run_id, write_part
from .schema import hashes_schema

# Spark's nearest types to docs/parquet-format.md (for hash_dataframe).
SPARK_SCHEMA = (
    "path string, size long, mtime_ns long, hash string, bits binary, "
    "embedding array<float>, fragile binary, min_margin double, fragile_count int, "
    "error string"
)
WRITE_RESULT = "rows long, errors long, part string"


def _local_path(path: str) -> str:
    """Spark names local files `file:/a/b.jpg`; nhkit's rows (and the resume key) use
    `/a/b.jpg`, as the local and Ray engines do. Other schemes stay as Spark gives them."""
    if path.startswith("file://"):
        return path[len("file://") :]
    if path.startswith("file:"):
        return path[len("file:") :]
    return path


def _to_core_batch(batch: pa.RecordBatch) -> pa.Table:
    """binaryFile columns (path, modificationTime, length, content) -> the core's input."""
    t = pa.Table.from_batches([batch])
    mtime = t.column("modificationTime").cast(pa.timestamp("us")).cast(pa.int64())
    return pa.table(
        {
            "path": pa.array([_local_path(p) for p in t.column("path").to_pylist()], pa.string()),
            "bytes": t.column("content"),
            "size": t.column("length").cast(pa.int64()),
            "mtime_ns": pa.compute.multiply(mtime, 1000),
        }
    )


def _hash_partitions(
    config: HasherConfig, model: ModelIdentity, batch_size: int, workers: int
) -> Any:
    def run(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.Table]:
        hasher = config.build()  # once per partition
        for b in batches:
            if b.num_rows:
                yield hash_table(
                    hasher, _to_core_batch(b), model=model, batch_size=batch_size, workers=workers
                )

    return run


def hash_dataframe(
    df: Any, config: HasherConfig | None = None, *, batch_size: int = 16, workers: int = 1
) -> Any:
    """A `binaryFile` DataFrame -> a DataFrame of hash rows (Spark types: SPARK_SCHEMA)."""
    config = config or HasherConfig()
    model = config.build().identity
    inner = _hash_partitions(config, model, batch_size, workers)

    def to_spark(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for table in inner(batches):
            table = table.cast(
                pa.schema(
                    [
                        (
                            f.name,
                            pa.binary()
                            if pa.types.is_fixed_size_binary(f.type)
                            else pa.list_(pa.float32())
                            if pa.types.is_fixed_size_list(f.type)
                            else f.type,
                        )
                        for f in table.schema
                    ]
                )
            )
            yield from table.to_batches()

    return df.mapInArrow(to_spark, SPARK_SCHEMA)


def hash_binary_files(
    spark: Any,
    paths: str | list[str],
    out: str | os.PathLike[str],
    *,
    config: HasherConfig | None = None,
    batch_size: int = 16,
    workers: int = 1,
    path_glob: str = "*.{jpg,jpeg,png,gif,bmp,tif,tiff,webp}",
    recursive: bool = True,
) -> dict[str, int]:
    """Hash image files with Spark into the resumable Parquet folder `out` (a path every
    executor can write, e.g. a shared filesystem). Returns {"hashed", "failed", "skipped"}."""
    config = config or HasherConfig()
    hasher = config.build()
    model = hasher.identity
    output = HashesOutput(out)
    output.check_compatible(hasher.spec, model)
    output.remove_stale_temporaries()
    schema = hashes_schema(hasher.spec, model)
    folder = os.fspath(output.path)
    run_id = new_run_id()

    from pyspark.sql import functions as F

    reader = spark.read.format("binaryFile").option("pathGlobFilter", path_glob)
    if recursive:
        reader = reader.option("recursiveFileLookup", "true")
    df = reader.load(paths)
    todo_df = df
    if output.parts():
        # Resume in Spark: anti-join the listing with the rows already written, so neither
        # the listing nor the done-set comes to the driver.
        done_df = spark.read.parquet(folder).select(
            F.col("path").alias("_dpath"),
            F.col("size").alias("_dsize"),
            F.col("mtime_ns").alias("_dmtime"),
        )
        keyed = df.withColumn("_path", F.regexp_replace("path", "^file:(//)?", "")).withColumn(
            "_mtime", F.unix_micros("modificationTime") * F.lit(1000)
        )
        todo_df = keyed.join(
            done_df,
            (keyed["_path"] == done_df["_dpath"])
            & (keyed["length"] == done_df["_dsize"])
            & (keyed["_mtime"] == done_df["_dmtime"]),
            "left_anti",
        ).select(*df.columns)
    total = df.select("path").count()
    inner = _hash_partitions(config, model, batch_size, workers)

    def write(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        tables = [t.cast(schema) for t in inner(batches)]
        if not tables:
            return
        table = pa.concat_tables(tables)
        # Named by partition: a retried or speculative task replaces its own part (atomic
        # rename) instead of adding a second copy of the rows.
        from pyspark import TaskContext

        ctx = TaskContext.get()
        name = f"{ctx.partitionId():05d}" if ctx is not None else uuid.uuid4().hex[:8]
        part = write_part(folder, f"{run_id}-spark-{name}", table)
        yield pa.RecordBatch.from_pydict(
            {
                "rows": [table.num_rows],
                "errors": [table.num_rows - table["error"].null_count],
                "part": [str(part)],
            }
        )

    results = todo_df.mapInArrow(write, WRITE_RESULT).collect()
    rows = sum(r["rows"] for r in results)
    errors = sum(r["errors"] for r in results)
    return {"hashed": rows - errors, "failed": errors, "skipped": total - rows}
