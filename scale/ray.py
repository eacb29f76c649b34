"""Ray Data adapter (extra `nhkit[ray]`): `read_binary_files` in, the core in actors, atomic
Parquet part files out.

- Each actor is a callable class that loads the model once (`HasherConfig.build`) and turns
  Arrow batches into hash tables (`core.hash_table`); batches stay Arrow end to end, with the
  explicit schema, so the Parquet is plain Arrow that reads without Ray (numpy-dict batches
  would come back with Ray's tensor extension types).
- Safe resources on small machines: an actor asks for `num_cpus=0.5` by default. With one CPU
  per actor and as many actors as CPUs, the read task never gets a CPU and the pipeline waits
  forever (seen on 2 cores: `backpressured:tasks(ResourceBudget)`, no progress in 90 s).
  The reservation is a scheduling claim, not a limit: each actor still runs one inference thread
  and one decode thread at full speed.
- Streaming with backpressure is Ray Data's own executor; the driver never holds more than one
  chunk of paths (plan.run_chunks).
"""

from __future__ import annotations

import gc
import os
from typing import Any

import pyarrow as pa

from nhkit.runtime.digest import ModelIdentity
from nhkit.runtime.errors import NhkitError

from .core import HasherConfig, hash_table
from .output import write_part
from .schema import hashes_schema

DEFAULT_BATCH_SIZE = 16
DEFAULT_ACTOR_CPUS = 0.5


def _ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError as exc:
        if exc.name != "ray":
            raise
        raise NhkitError("--engine ray needs Ray: pip install 'nhkit[ray]'") from None
    return ray


class HashActor:
    """One model per actor; called per batch of (path, bytes)."""

    def __init__(
        self,
        config: HasherConfig,
        model: ModelIdentity,
        workers: int = 1,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.hasher = config.build()
        self.model = model
        self.workers = workers
        self.batch_size = batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        return hash_table(
            self.hasher, batch, model=self.model, batch_size=self.batch_size, workers=self.workers
        )


def _check_reachable(address: str) -> None:
    """Fail in seconds on a head that does not answer: ray.init retries a dead GCS address for
    minutes. Only plain host:port addresses are probed (ray://, auto: Ray's own handling)."""
    import socket

    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except OSError as exc:
        raise NhkitError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}"
        ) from None


def cluster_cpus() -> int:
    ray = _ray()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def hash_dataset(
    ds: Any,
    model: str | None = None,
    seed: str | None = None,
    bundle: str | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    concurrency: int | None = None,
    num_cpus: float = DEFAULT_ACTOR_CPUS,
    workers: int = 1,
    threads: int = 1,
    orientation: str | None = None,
    fragile_margin: float | None = None,
    max_pixels: int | None = None,
    config: HasherConfig | None = None,
    identity: ModelIdentity | None = None,
    actor_class: type = HashActor,
) -> Any:
    """A Ray Dataset of (path, bytes) rows -> a Dataset of hash rows (docs/parquet-format.md).

    `ds` is typically `ray.data.read_binary_files(paths, include_paths=True)`. `concurrency` is
    the number of hashing actors (default: the cluster's CPU count), each with `num_cpus`
    reserved, `threads` inference threads and `workers` decode threads. The model is loaded once
    on the driver too, to fail early on a bad model and to record its identity. `actor_class`
    (a HashActor subclass) lets a caller instrument the actors (benchmarks/scale.py)."""
    ray = _ray()
    if config is None:
        kw: dict[str, Any] = {}
        if max_pixels is not None:
            kw["max_pixels"] = max_pixels
        config = HasherConfig(
            model=model,
            seed=seed,
            bundle=bundle,
            orientation=orientation,
            fragile_margin=fragile_margin,
            threads=threads,
            **kw,
        )
    if identity is None:
        identity = config.build().identity
    size = concurrency or cluster_cpus()
    return ds.map_batches(
        actor_class,
        batch_format="pyarrow",
        batch_size=batch_size,
        num_cpus=num_cpus,
        compute=ray.data.ActorPoolStrategy(size=size),
        fn_constructor_kwargs={
            "config": config,
            "model": identity,
            "workers": workers,
            "batch_size": batch_size,
        },
    )


def _sink_class() -> Any:
    from ray.data.datasource import Datasink

    class PartSink(Datasink):
        """Each write task writes its blocks as one part file, atomically (output.write_part);
        the counts come back to the driver for the summary."""

        def __init__(self, folder: str, prefix: str, schema: pa.Schema, rows_per_file: int) -> None:
            self.folder, self.prefix, self.schema = folder, prefix, schema
            self.rows_per_file = rows_per_file
            self.results: list[dict[str, Any]] = []

        @property
        def min_rows_per_write(self) -> int:
            return self.rows_per_file

        def write(self, blocks: Any, ctx: Any) -> dict[str, Any]:
            tables = [pa.table(b) if not isinstance(b, pa.Table) else b for b in blocks]
            tables = [t for t in tables if t.num_rows]
            if not tables:
                return {"rows": 0, "errors": 0, "part": None}
            table = pa.concat_tables(
                [t.select(self.schema.names).cast(self.schema) for t in tables]
            )
            part = write_part(self.folder, f"{self.prefix}-{ctx.task_idx:05d}", table)
            errors = (
                table.num_rows - table["error"].null_count if "error" in table.column_names else 0
            )
            return {"rows": table.num_rows, "errors": errors, "part": str(part)}

        def on_write_complete(self, write_result: Any) -> None:
            self.results = [r for r in write_result.write_returns if r and r.get("part")]

    return PartSink


def ray_engine(
    config: HasherConfig,
    identity: ModelIdentity,
    spec: Any,
    *,
    address: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    concurrency: int | None = None,
    num_cpus: float = DEFAULT_ACTOR_CPUS,
    workers: int = 1,
    rows_per_file: int = 10_000,
    folder: str,
    actor_class: type = HashActor,
    progress: bool = True,
) -> Any:
    """An Engine for plan.run_chunks that runs each chunk as one Ray Data pipeline."""
    ray = _ray()
    if not ray.is_initialized():
        if address:
            _check_reachable(address)
        try:
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=True,
                logging_level="warning",
            )
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise NhkitError(
                f"cannot connect to the Ray cluster at {address or 'local'}: {exc}"
            ) from None
    # Ray Data's own progress bars are the live count and rate on a terminal.
    ray.data.DataContext.get_current().enable_progress_bars = progress
    schema = hashes_schema(spec, identity)
    sink_class = _sink_class()

    def engine(todo: list[Any], prefix: str) -> tuple[int, int, list[str]]:
        paths = [item.path for item in todo]
        # About one batch per read block, and at least two blocks per actor so none idles.
        actors = concurrency or cluster_cpus()
        blocks = min(len(paths), max(len(paths) // batch_size, 2 * actors))
        ds = ray.data.read_binary_files(
            paths, include_paths=True, ignore_missing_paths=True, override_num_blocks=max(1, blocks)
        )
        hashed = hash_dataset(
            ds,
            config=config,
            identity=identity,
            batch_size=batch_size,
            concurrency=concurrency,
            num_cpus=num_cpus,
            workers=workers,
            actor_class=actor_class,
        )
        sink = sink_class(os.fspath(folder), prefix, schema, rows_per_file)
        failure: str | None = None
        try:
            hashed.write_datasink(sink)
        except ray.exceptions.RayError as exc:
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc)
            failure = f"{type(exc).__name__}: {first}"
        if failure is not None:
            # Raised outside the except block and after dropping the pipeline: an exception
            # chained to Ray's keeps its frames, hence the dataset and its actor pool, alive,
            # and leaked actors hold CPU claims that starve the read tasks of the next run in
            # the same driver (seen: a rerun after a failed run waited forever on 2 CPUs).
            del ds, hashed
            gc.collect()
            raise NhkitError(
                f"the Ray run stopped ({failure}); the part files already in {folder} are "
                "complete and valid: rerun the same command to resume"
            )
        rows = sum(r["rows"] for r in sink.results)
        errors = sum(r["errors"] for r in sink.results)
        return rows - errors, errors, [r["part"] for r in sink.results]

    return engine
