"""Ray Data on a local 2-CPU cluster: the same rows as Hasher.hash_files, errors as rows,
resume through the CLI, and a TFLite bundle hashed inside actors."""

from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from conftest import library_files, restart_cluster
from nhkit.dist.output import read_hashes
from nhkit.dist.schema import BASE_SCHEMA
from nhkit.runtime.cli import main
from nhkit.runtime.errors import NhkitError
from nhkit.runtime.hasher import Hasher

ray = pytest.importorskip("ray")


def _rows_equal_hash_files(table: pa.Table, hasher: Hasher) -> None:
    rows = table.to_pylist()
    expected = dict(hasher.hash_files([r["path"] for r in rows]))
    for r in rows:
        want = expected[r["path"]]
        if isinstance(want, NhkitError):
            assert r["hash"] is None and r["error"] == want.reason
        else:
            assert r["error"] is None and r["hash"] == want.hex
            assert np.array(r["embedding"], np.float32).tobytes() == want.embedding.tobytes()


def test_cli_engine_ray_hashes_and_resumes(ray_cluster, tiny_model, library, tmp_path,
                                           capsys) -> None:
    out = tmp_path / "out.parquet"
    args = ["hash", "--model", str(tiny_model[0]), "--seed", str(tiny_model[1]), "--no-progress",
            "-r", str(library), "--engine", "ray", "--batch", "4", "--out", str(out)]
    assert main(args) == 1  # three bad files
    assert "8 hashed, 3 failed, 0 skipped" in capsys.readouterr().err
    table, _ = read_hashes(out)
    assert table.schema.remove_metadata().equals(BASE_SCHEMA)
    assert sorted(table.column("path").to_pylist()) == library_files(library)
    _rows_equal_hash_files(table, Hasher.from_onnx(*tiny_model))

    # New files appear; the rerun hashes only those and appends a part.
    shutil.copy(library / "garbage.jpg", library / "sub" / "late.jpg")
    try:
        assert main(args) == 1
        assert "0 hashed, 1 failed, 11 skipped" in capsys.readouterr().err
        counts = Counter(read_hashes(out)[0].column("path").to_pylist())
        assert len(counts) == 12 and set(counts.values()) == {1}
    finally:
        (library / "sub" / "late.jpg").unlink()


def test_tflite_bundle_in_actors(ray_cluster, tiny_model, library, tmp_path_factory) -> None:
    pytest.importorskip("tensorflow")
    pytest.importorskip("ai_edge_litert")
    from nhkit.dist.ray import hash_dataset
    from nhkit.export.exporter import ExportOptions, run_export
    from nhkit.runtime.bundle_backend import hasher_for_bundle

    out = tmp_path_factory.mktemp("bundles")
    val = tmp_path_factory.mktemp("val")
    for p in sorted(library.glob("*.jpg"))[:3]:
        if p.stat().st_size > 1000:
            shutil.copy(p, val / p.name)
    run_export(ExportOptions(out=out, model=tiny_model[0], seed=tiny_model[1], name="tiny",
                             targets="tflite", variants=["fp32"], validation=val,
                             validation_limit=2, fragile_margin=0.05, threads=1,
                             validation_views=("full",)), log=lambda m: None)
    bundle = out / "tiny.tflite-fp32.zip"
    files = library_files(library)
    ds = ray.data.read_binary_files(files, include_paths=True, override_num_blocks=4)
    hashed = hash_dataset(ds, bundle=str(bundle), batch_size=4, concurrency=2)
    table = pa.concat_tables(list(hashed.iter_batches(batch_format="pyarrow")))
    # Plain Arrow with the documented schema and metadata, no Ray extension types.
    assert table.schema.remove_metadata().equals(BASE_SCHEMA)
    assert table.schema.metadata[b"nhkit.schema"] == b"nhkit-hashes-v1"
    assert sorted(table.column("path").to_pylist()) == files
    _rows_equal_hash_files(table, hasher_for_bundle(bundle))


def test_a_run_that_dies_keeps_what_it_wrote(ray_cluster, tiny_model, library, tmp_path) -> None:
    from nhkit.dist.core import HasherConfig
    from nhkit.dist.output import HashesOutput
    from nhkit.dist.plan import list_inputs, run_chunks
    from nhkit.dist.ray import HashActor, ray_engine

    class Boom(HashActor):
        """Stands in for a run that dies mid-way (a lost node, a cluster going away): a
        non-nhkit error in the actor on the batch holding zz-boom.jpg."""

        def __call__(self, batch):
            if any("boom" in p for p in batch.column("path").to_pylist()):
                raise RuntimeError("worker lost")
            return super().__call__(batch)

    src = tmp_path / "src"
    shutil.copytree(library, src)
    shutil.copy(src / "garbage.jpg", src / "zz-boom.jpg")  # sorted last: the last chunk
    config = HasherConfig(model=str(tiny_model[0]), seed=str(tiny_model[1]))
    hasher = config.build()
    out = tmp_path / "out.parquet"

    def run(actor, run_id):
        engine = ray_engine(config, hasher.identity, hasher.spec, batch_size=4, concurrency=2,
                            folder=str(out), actor_class=actor)
        return run_chunks(list_inputs([src], recursive=True), HashesOutput(out), engine,
                          spec=hasher.spec, model=hasher.identity, run_id=run_id, chunk_files=6)

    with pytest.raises(NhkitError, match="the Ray run stopped .*rerun the same command"):
        run(Boom, "first")
    written = read_hashes(out)[0].num_rows
    assert 6 <= written < 12  # at least the first chunk, whole; never the failed batch
    # The resume is a new driver, as with the CLI (one process per run): inside one driver,
    # Ray Data may keep a failed pipeline's actors and their CPU claims until the driver exits,
    # and on 2 CPUs the rerun's read tasks would then wait forever (seen on a clean checkout).
    restart_cluster()
    summary = run(HashActor, "second")
    assert (summary.skipped, summary.hashed + summary.failed) == (written, 12 - written)
    counts = Counter(read_hashes(out)[0].column("path").to_pylist())
    assert len(counts) == 12 and set(counts.values()) == {1}
