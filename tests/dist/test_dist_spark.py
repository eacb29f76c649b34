"""The Spark adapter for real, on a local Spark (Java 17). Runs only where pyspark is installed
(`pip install 'nhkit[spark]'`, ~450 MB): `python3 -m pytest -m spark tests/dist`; the default
run skips it when pyspark is absent."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from conftest import library_files
from nhkit.dist.core import HasherConfig
from nhkit.dist.output import read_hashes
from nhkit.dist.schema import BASE_SCHEMA
from nhkit.runtime.errors import NhkitError
from nhkit.runtime.hasher import Hasher

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("nhkit-test")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "4")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_rows_equal_hash_files_and_resume(spark, tiny_model, library, tmp_path) -> None:
    from nhkit.dist.spark import hash_binary_files, hash_dataframe

    config = HasherConfig(model=str(tiny_model[0]), seed=str(tiny_model[1]))
    out = tmp_path / "out.parquet"
    first = hash_binary_files(spark, str(library), out, config=config, batch_size=4)
    # Spark never lists 0-byte files (its file scan drops them): empty.png has no row.
    assert first == {"hashed": 8, "failed": 2, "skipped": 0}
    table, meta = read_hashes(out)
    assert table.schema.remove_metadata().equals(BASE_SCHEMA)
    assert meta.model == Hasher.from_onnx(*tiny_model).identity
    assert sorted(table.column("path").to_pylist()) == [
        p for p in library_files(library) if not p.endswith("empty.png")]
    expected = dict(Hasher.from_onnx(*tiny_model).hash_files(library_files(library)))
    for r in table.to_pylist():
        want = expected[r["path"]]
        if isinstance(want, NhkitError):
            assert r["hash"] is None and r["error"] == want.reason
        else:
            assert r["hash"] == want.hex
            assert np.array(r["embedding"], np.float32).tobytes() == want.embedding.tobytes()

    again = hash_binary_files(spark, str(library), out, config=config)
    assert again == {"hashed": 0, "failed": 0, "skipped": 10}
    assert set(Counter(read_hashes(out)[0].column("path").to_pylist()).values()) == {1}

    df = hash_dataframe(spark.read.format("binaryFile").load(str(library / "*.jpg")), config)
    rows = {r["path"]: r["hash"] for r in df.collect()}
    assert all(rows[p] == (expected[p].hex if not isinstance(expected[p], NhkitError) else None)
               for p in rows) and len(rows) == 8  # 6 photos, garbage.jpg, truncated.jpg
