"""`nhkit hashlist ...` and `nhkit match` as a user runs them: build from photos or hash files,
match edited copies, and every bad input is one clear line (no traceback)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nhkit.runtime.cli import main
from nhkit.runtime.hashlist import load


def model_args(tiny_model) -> list[str]:
    return ["--model", str(tiny_model[0]), "--seed", str(tiny_model[1]), "--no-progress"]


@pytest.fixture(scope="module")
def built(tiny_model, photos, tmp_path_factory) -> dict:
    """A list built from 8 committed photos, and the same photos' `nhkit hash` outputs."""
    d = tmp_path_factory.mktemp("built")
    folder = d / "photos"
    folder.mkdir()
    for p in photos[:8]:
        (folder / p.name).write_bytes(p.read_bytes())
    assert (
        main(
            [
                "hashlist",
                "build",
                "-r",
                str(folder),
                "-o",
                str(d / "known"),
                "--label",
                "known",
                *model_args(tiny_model),
            ]
        )
        == 0
    )
    return {"dir": d, "folder": folder, "list": d / "known"}


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_build_from_a_folder(built) -> None:
    hl = load(built["list"])
    assert len(hl) == 8 and set(hl.labels) == {"known"} and hl.fragile is not None
    assert sorted(hl.ids) == sorted(p.name for p in built["folder"].iterdir())
    assert load(str(built["list"]) + ".zip").ids == hl.ids


def test_match_edited_copies_finds_the_originals(built, tiny_model, tmp_path, capsys) -> None:
    src = sorted(built["folder"].iterdir())[:3]
    edited = []
    for p in src:
        im = Image.open(p).convert("RGB")
        im = im.resize((im.width * 3 // 4, im.height * 3 // 4))
        out = tmp_path / f"{p.stem}-small.jpg"
        im.save(out, quality=80)
        edited.append(out)
    rc, out, err = _run(
        capsys,
        [
            "match",
            "--list",
            str(built["list"]),
            "-t",
            "10",
            "--format",
            "json",
            *model_args(tiny_model),
            *map(str, edited),
        ],
    )
    assert rc == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    for p, e in zip(src, edited):
        mine = [r for r in rows if r["query"] == str(e)]
        assert p.name in [r["id"] for r in mine]
        assert all(r["nonfragile_distance"] <= r["distance"] <= 10 for r in mine)


def test_formats_agree_and_all_lists_queries_without_hits(
    built, tiny_model, tmp_path, capsys
) -> None:
    q = sorted(built["folder"].iterdir())[0]
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)).save(noise)
    base = [
        "match",
        "--list",
        str(built["list"]),
        "-t",
        "0",
        *model_args(tiny_model),
        str(q),
        str(noise),
    ]
    rc, out_json, _ = _run(capsys, base + ["--format", "json", "--all"])
    rc2, out_csv, _ = _run(capsys, base + ["--format", "csv", "--all"])
    rc3, out_text, _ = _run(capsys, base)
    assert rc == rc2 == rc3 == 0
    rows = [json.loads(line) for line in out_json.splitlines()]
    crow = list(csv.DictReader(io.StringIO(out_csv)))
    assert [r["id"] for r in rows] == [r["id"] or None for r in crow]
    assert rows[-1]["query"] == str(noise) and rows[-1]["id"] is None
    assert any(r["id"] == q.name and r["distance"] == 0 for r in rows)
    assert str(noise) not in out_text  # without --all, queries with no hit are silent


def test_hash_files_as_inputs_give_the_same_list(built, tiny_model, capsys, tmp_path) -> None:
    files = [str(p) for p in sorted(built["folder"].iterdir())]
    for fmt in ("csv", "json"):
        rc, out, _ = _run(capsys, ["hash", "--format", fmt, *model_args(tiny_model), *files])
        assert rc == 0
        hf = tmp_path / f"hashes.{fmt}"
        hf.write_text(out)
        rc, _, err = _run(
            capsys,
            [
                "hashlist",
                "build",
                str(hf),
                "-o",
                str(tmp_path / fmt),
                "--id-from",
                "name",
                *model_args(tiny_model),
            ],
        )
        assert rc == 0, err
    a, b, c = (load(p) for p in (built["list"], tmp_path / "csv", tmp_path / "json"))
    assert a.ids == b.ids == c.ids and (a.hashes == b.hashes).all() and (a.hashes == c.hashes).all()
    assert b.fragile is None  # CSV carries no projections
    assert (c.fragile == a.fragile).all()  # JSON projections give the listed images' masks


def test_bad_rows_are_reported_and_skipped(built, tiny_model, capsys, tmp_path) -> None:
    hl = load(built["list"])
    good = hl.entry(0).hash
    bad = tmp_path / "q.csv"
    bad.write_text(f"path,hash\na.jpg,{good}\nb.jpg,xyz{good[3:]}\nc.jpg,{good[:-1]}\n")
    rc, out, err = _run(
        capsys,
        [
            "match",
            "--list",
            str(built["list"]),
            "-t",
            "0",
            "--format",
            "csv",
            str(bad),
            str(tmp_path / "missing.jpg"),
        ],
    )
    assert rc == 1
    assert f"{bad}:3: hash: expected 24 hex digits" in err and f"{bad}:4: hash" in err
    assert "missing.jpg: no such file" in err and "Traceback" not in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["query"] for r in rows] == ["a.jpg"] * len(rows) and rows


@pytest.mark.parametrize(
    "argv_tail,needle",
    [
        (["-t", "97"], "threshold: must be an integer in 0..96"),
        (["-t", "-1"], "threshold"),
        ([], "--threshold"),
    ],
)
def test_threshold_errors(built, capsys, tmp_path, argv_tail, needle) -> None:
    q = tmp_path / "q.csv"
    q.write_text("path,hash\na," + "0" * 24 + "\n")
    rc, out, err = _run(capsys, ["match", "--list", str(built["list"]), *argv_tail, str(q)])
    assert rc == 2 and needle in err and "Traceback" not in err and out == ""


def test_broken_lists_are_one_line_errors(built, capsys, tmp_path) -> None:
    import shutil

    broken = tmp_path / "known"
    shutil.copytree(built["list"], broken)
    p = broken / "offsets.bin"
    p.write_bytes(p.read_bytes()[:-4])
    q = tmp_path / "q.csv"
    q.write_text("path,hash\na," + "0" * 24 + "\n")
    rc, _, err = _run(capsys, ["match", "--list", str(broken), "-t", "3", str(q)])
    assert rc == 2 and "offsets.bin" in err and "size" in err
    assert len(err.strip().splitlines()) == 1
    cut = tmp_path / "cut.zip"
    cut.write_bytes((Path(str(built["list"]) + ".zip")).read_bytes()[:100])
    rc, _, err = _run(capsys, ["hashlist", "info", str(cut)])
    assert rc == 2 and "cut.zip" in err and "zip" in err


def test_images_hashed_with_another_model_are_refused(built, capsys) -> None:
    q = sorted(built["folder"].iterdir())[0]
    rc, _, err = _run(
        capsys, ["match", "--list", str(built["list"]), "-t", "3", "--no-progress", str(q)]
    )  # the default model, not the list's
    hl = load(built["list"])
    assert rc == 2 and hl.model["fingerprint"] in err and "model.fingerprint" in err


def test_zero_queries_and_huge_label(built, tiny_model, capsys, tmp_path) -> None:
    q = tmp_path / "empty.csv"
    q.write_text("path,hash,fragile_bits,min_margin,error\n")
    rc, out, err = _run(capsys, ["match", "--list", str(built["list"]), "-t", "3", str(q)])
    assert rc == 0 and out == ""
    rc, _, err = _run(capsys, ["match", "--list", str(built["list"]), "-t", "3"])
    assert rc == 2 and "no inputs" in err
    rc, _, err = _run(
        capsys,
        [
            "hashlist",
            "build",
            str(built["folder"]),
            "-r",
            "-o",
            str(tmp_path / "L"),
            "--label",
            "x" * 1025,
            *model_args(tiny_model),
        ],
    )
    assert rc == 2 and "label" in err and "1024" in err and not (tmp_path / "L").exists()


def _parquet(path: Path, rows: list[dict], model: dict, spec: dict) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("path", pa.string()),
            ("size", pa.int64()),
            ("mtime_ns", pa.int64()),
            ("hash", pa.string()),
            ("bits", pa.binary(12)),
            ("embedding", pa.list_(pa.float32(), 128)),
            ("fragile", pa.binary(12)),
            ("min_margin", pa.float64()),
            ("fragile_count", pa.int32()),
            ("error", pa.string()),
        ],
        metadata={
            "nhkit.schema": "nhkit-hashes-v1",
            "nhkit.spec": json.dumps(spec),
            "nhkit.model": json.dumps(model),
            "nhkit.version": "0.1.0",
        },
    )
    cols = {name: [r.get(name) for r in rows] for name in schema.names}
    pq.write_table(pa.table(cols, schema=schema), path)


def test_parquet_input_contract(built, capsys, tmp_path) -> None:
    hl = load(built["list"])
    rows = []
    for i in range(4):
        h = hl.entry(i).hash
        fr = hl.fragile[i].tobytes()
        rows.append(
            {
                "path": f"scan/{hl.ids[i]}",
                "size": 1,
                "mtime_ns": 2,
                "hash": h,
                "bits": bytes.fromhex(h),
                "embedding": [0.0] * 128,
                "fragile": fr,
                "min_margin": 0.5,
                "fragile_count": 0,
                "error": None,
            }
        )
    rows.append(
        {
            "path": "scan/broken.jpg",
            "size": 3,
            "mtime_ns": 4,
            "hash": None,
            "bits": None,
            "embedding": None,
            "fragile": None,
            "min_margin": None,
            "fragile_count": None,
            "error": "cannot decode",
        }
    )
    pq_file = tmp_path / "scan.parquet"
    _parquet(pq_file, rows, hl.model, hl.spec.to_json())
    rc, out, err = _run(
        capsys, ["match", "--list", str(built["list"]), "-t", "0", "--format", "json", str(pq_file)]
    )
    assert rc == 1 and "scan/broken.jpg" not in out and "cannot decode" in err
    got = {(json.loads(line)["query"], json.loads(line)["id"]) for line in out.splitlines()}
    assert {(f"scan/{hl.ids[i]}", hl.ids[i]) for i in range(4)} <= got
    # A list built from the Parquet file records the file's model, spec and fragile masks.
    rc, _, err = _run(capsys, ["hashlist", "build", str(pq_file), "-o", str(tmp_path / "P")])
    assert rc == 1 and "cannot decode" in err
    p = load(tmp_path / "P")
    assert p.model == hl.model and len(p) == 4 and p.fragile is not None
    # Another model's Parquet file is refused, naming both fingerprints.
    other = {**hl.model, "fingerprint": "e" * 64}
    _parquet(tmp_path / "other.parquet", rows[:2], other, hl.spec.to_json())
    rc, out, err = _run(
        capsys, ["match", "--list", str(built["list"]), "-t", "0", str(tmp_path / "other.parquet")]
    )
    assert rc == 1 and "e" * 64 in err and hl.model["fingerprint"] in err and out == ""


def test_info_merge_diff_set_threshold(built, capsys, tmp_path) -> None:
    from nhkit.runtime.hashlist import Entry, write_hashlist

    hl = load(built["list"])
    rc, out, _ = _run(capsys, ["hashlist", "info", str(built["list"])])
    assert rc == 0 and "8 " in out and hl.model["fingerprint"] in out and "none recorded" in out
    extra = [Entry("new-1", "f" * 24, "new"), Entry(hl.ids[0], "e" * 24, "changed")]
    write_hashlist(tmp_path / "upd", extra, spec=hl.spec, model=hl.model)
    rc, _, err = _run(
        capsys,
        ["hashlist", "merge", str(built["list"]), str(tmp_path / "upd"), "-o", str(tmp_path / "m")],
    )
    assert rc == 2 and "--prefix-ids" in err
    rc, _, err = _run(
        capsys,
        [
            "hashlist",
            "merge",
            str(built["list"]),
            str(tmp_path / "upd"),
            "-o",
            str(tmp_path / "m"),
            "--prefix-ids",
        ],
    )
    assert rc == 0, err
    assert len(load(tmp_path / "m")) == 10
    rc, out, _ = _run(
        capsys, ["hashlist", "diff", str(built["list"]), str(tmp_path / "upd"), "--json"]
    )
    d = json.loads(out)
    assert [e["id"] for e in d["added"]] == ["new-1"]
    assert len(d["removed"]) == 7 and d["changed"][0]["fields"][0] == "hash"
    th = {
        "recommended": 6,
        "fpr": 0.0,
        "criterion": "zero-fp",
        "negative_pairs": 10,
        "negative_images": 5,
        "drift_p99": 2,
        "source": "nhkit match calibrate",
        "report_sha256": "4" * 64,
    }
    (tmp_path / "threshold.json").write_text(json.dumps(th))
    rc, _, err = _run(
        capsys,
        [
            "hashlist",
            "set-threshold",
            str(built["list"]),
            str(tmp_path / "threshold.json"),
            "-o",
            str(tmp_path / "T"),
        ],
    )
    assert rc == 0, err
    assert load(tmp_path / "T").threshold == th and load(built["list"]).threshold is None
    rc, out, _ = _run(capsys, ["hashlist", "info", str(tmp_path / "T")])
    assert "T = 6 (zero-fp" in out


def test_calibrate_dispatch(capsys) -> None:
    import importlib.util

    if importlib.util.find_spec("nhkit.runtime.cli_calibrate") is None:
        rc, _, err = _run(capsys, ["match", "calibrate", "--negatives", "x"])
        assert rc == 2 and "not installed" in err
    else:
        with pytest.raises(SystemExit) as info:
            main(["match", "calibrate", "--help"])
        assert info.value.code == 0 and "calibrate" in capsys.readouterr().out
