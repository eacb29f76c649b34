"""`nhkit hash --out OUT [--engine ray [--address ADDR]]`: hash into a resumable Parquet folder.

Called lazily from nhkit.runtime.cli_hash, so `nhkit hash` without --out never imports pyarrow
or Ray."""

from __future__ import annotations

import argparse
import sys
import time

from nhkit.runtime.errors import NhkitError

from .core import HasherConfig
from .output import HashesOutput, new_run_id
from .plan import DEFAULT_CHUNK_FILES, chunk_files_for, list_inputs, run_chunks


class _Counter:
    """A live 'N files, R/s' line on a terminal (stderr), silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.done, self.start, self.last = enabled, 0, time.monotonic(), 0.0

    def __call__(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self.last > 0.2:
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            sys.stderr.write(f"\rhashing: {self.done} files {rate:6.1f}/s")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            sys.stderr.write("\n")


def run_dist(args: argparse.Namespace) -> int:
    engine_name = args.engine or "local"
    if not args.out:
        raise NhkitError(f"--engine {engine_name} writes Parquet: give --out OUT.parquet")
    if args.address and engine_name != "ray":
        raise NhkitError("--address is the Ray cluster address: use it with --engine ray")
    if args.format != "text":
        raise NhkitError(
            "--format is for standard output; --out always writes Parquet (docs/parquet-format.md)"
        )
    local = engine_name == "local"
    config = HasherConfig(
        model=args.model,
        seed=args.seed,
        bundle=args.bundle,
        orientation=args.orientation,
        fragile_margin=args.margin,
        threads=args.threads if (args.threads or local) else 1,
        max_pixels=args.max_pixels,
    )
    hasher = config.build()
    identity = hasher.identity
    output = HashesOutput(args.out)
    output.check_compatible(hasher.spec, identity)
    counter = _Counter(enabled=not args.no_progress and sys.stderr.isatty())
    chunk_files = DEFAULT_CHUNK_FILES
    if local:
        from .local import local_engine

        engine = local_engine(
            hasher,
            identity,
            folder=output.path,
            batch_size=args.batch,
            workers=args.workers,
            progress=counter,
        )
    else:
        from .ray import cluster_cpus, ray_engine

        engine = ray_engine(
            config,
            identity,
            hasher.spec,
            address=args.address,
            batch_size=args.batch,
            folder=str(output.path),
            progress=not args.no_progress,
        )
        chunk_files = chunk_files_for(cluster_cpus())
    try:
        summary = run_chunks(
            list_inputs(args.paths, recursive=args.recursive),
            output,
            engine,
            spec=hasher.spec,
            model=identity,
            run_id=new_run_id(),
            chunk_files=chunk_files,
            log=sys.stderr,
        )
    finally:
        counter.close()
    print(f"nhkit hash: {summary.line()} -> {output.path}", file=sys.stderr)
    return 1 if summary.failed else 0
