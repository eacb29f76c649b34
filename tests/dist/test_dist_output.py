"""Resumable, atomic Parquet output (local engine: the same planning and part files as Ray)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import library_files
from nhkit.dist.core import HasherConfig
from nhkit.dist.local import local_engine
from nhkit.dist.output import HashesOutput, read_hashes
from nhkit.dist.plan import list_inputs, run_chunks
from nhkit.runtime.cli import main
from nhkit.runtime.errors import InputFileError


def _tiny(tiny_model) -> list[str]:
    return ["--model", str(tiny_model[0]), "--seed", str(tiny_model[1]), "--no-progress"]


class Interrupted(Exception):
    pass


def test_resume_after_interruption_hashes_each_file_once(tiny_model, library, tmp_path) -> None:
    out = tmp_path / "out.parquet"
    hasher = HasherConfig(model=str(tiny_model[0]), seed=str(tiny_model[1])).build()
    ident = hasher.identity
    output = HashesOutput(out)
    inner = local_engine(hasher, ident, folder=out, batch_size=2, rows_per_file=2)
    calls: list[int] = []

    def dies_on_third_chunk(todo, prefix):
        calls.append(len(todo))
        if len(calls) == 3:
            # The crash leaves a half-written temporary, as a killed writer would.
            (out / ".part-first-00002.parquet.tmp-999").write_bytes(b"PAR1 half")
            raise Interrupted
        return inner(todo, prefix)

    with pytest.raises(Interrupted):
        run_chunks(list_inputs([library], recursive=True), output, dies_on_third_chunk,
                   spec=hasher.spec, model=ident, run_id="first", chunk_files=3)
    first = pq.read_table(out)  # what was written stays a valid dataset
    assert 0 < first.num_rows < 11 and len(first.column("path").unique()) == first.num_rows

    calls.clear()
    summary = run_chunks(list_inputs([library], recursive=True), output, inner,
                         spec=hasher.spec, model=ident, run_id="second", chunk_files=3)
    table, meta = read_hashes(out)
    counts = Counter(table.column("path").to_pylist())
    assert sorted(counts) == library_files(library) and set(counts.values()) == {1}
    assert summary.skipped == first.num_rows and summary.hashed + summary.failed == 11 - \
        first.num_rows
    assert not any(p.name.startswith(".") for p in out.iterdir())
    assert meta.model == ident
    # A third run finds nothing to do; a touched file is hashed again (new mtime).
    again = run_chunks(list_inputs([library], recursive=True), output, inner, spec=hasher.spec,
                       model=ident, run_id="third")
    assert (again.hashed, again.failed, again.skipped) == (0, 0, 11)
    photo = min(library.glob("*.jpg"))
    os.utime(photo, ns=(1, 1))
    touched = run_chunks(list_inputs([library], recursive=True), output, inner,
                         spec=hasher.spec, model=ident, run_id="fourth")
    assert (touched.hashed, touched.skipped) == (1, 10)


def test_cli_out_refuses_another_models_hashes(tiny_model, library, tmp_path, capsys) -> None:
    out = tmp_path / "out.parquet"
    files = library_files(library)
    assert main(["hash", *_tiny(tiny_model), "-r", str(library), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "8 hashed, 3 failed, 0 skipped" in err
    table, meta = read_hashes(out)
    assert sorted(table.column("path").to_pylist()) == files
    # The same photos under the default model must not land in this output.
    assert main(["hash", "--no-progress", "-r", str(library), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    default = HasherConfig().build().identity
    assert meta.model.fingerprint in err and default.fingerprint in err
    assert "Traceback" not in err and len(list(out.iterdir())) == 1


def test_listing_errors_become_rows_and_huge_files_are_not_read(tiny_model, library,
                                                                tmp_path) -> None:
    hasher = HasherConfig(model=str(tiny_model[0]), seed=str(tiny_model[1])).build()
    ident = hasher.identity
    out = tmp_path / "o"
    engine = local_engine(hasher, ident, folder=out)
    listed = list(list_inputs([library, tmp_path / "missing.jpg"], recursive=True,
                              max_bytes=30_000))
    summary = run_chunks(listed, HashesOutput(out), engine, spec=hasher.spec, model=ident,
                         run_id="r")
    rows = {Path(r["path"]).name: r for r in read_hashes(out)[0].to_pylist()}
    assert rows["missing.jpg"]["error"] == "no such file or directory"
    big = [r for r in rows.values() if r["size"] and r["size"] > 30_000]
    assert big and all("over the limit of 30,000" in r["error"] for r in big)
    assert summary.failed == sum(1 for r in rows.values() if r["error"])


def test_read_hashes_rejects_foreign_parquet(tmp_path) -> None:
    import pyarrow as pa

    pq.write_table(pa.table({"path": ["a"]}), tmp_path / "x.parquet")
    with pytest.raises(InputFileError, match="column 'size' is missing"):
        read_hashes(tmp_path / "x.parquet")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputFileError, match="is not a folder"):
        HashesOutput(tmp_path / "file")
