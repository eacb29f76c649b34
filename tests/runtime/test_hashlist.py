"""Hash lists: the writer's output is deterministic and verified by the reader; every fault in a
folder or zip is an error naming the file and field; writes are atomic."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nhkit.runtime import hashlist as hlmod
from nhkit.runtime.errors import NhkitError
from nhkit.runtime.hashlist import (
    Entry,
    HashList,
    HashListError,
    load,
    with_threshold,
    write_hashlist,
)
from nhkit.runtime.spec import Spec

MODEL = {"name": "m", "fingerprint": "1" * 64, "seed_sha256": "2" * 64}
SPEC = Spec(fragile_margin=0.1)
THRESHOLD = {
    "recommended": 10,
    "fpr": 0.0,
    "criterion": "zero-fp",
    "negative_pairs": 4950,
    "negative_images": 100,
    "drift_p99": None,
    "source": "nhkit match calibrate",
    "report_sha256": "3" * 64,
}


def _entries(rng: np.random.Generator, n: int = 20) -> list[Entry]:
    codes = rng.integers(0, 256, (n, 12), dtype=np.uint8)
    if n >= 10:
        codes[5] = codes[2]  # a shared hash
        codes[9] = codes[2]
    return [
        Entry(
            f"img-{i:03d}",
            codes[i].tobytes().hex(),
            f"label {i}",
            f"src/{i}.jpg",
            {"i": i} if i % 3 == 0 else None,
            rng.integers(0, 256, 12, np.uint8).tobytes(),
        )
        for i in range(n)
    ]


def test_write_then_load_folder_and_zip_round_trip(tmp_path: Path, rng) -> None:
    ents = _entries(rng)
    rep = write_hashlist(tmp_path / "known", ents, spec=SPEC, model=MODEL, threshold=THRESHOLD)
    assert (rep.entries, rep.hashes) == (20, 18) and rep.fragile
    assert rep.duplicate_groups == [["img-002", "img-005", "img-009"]]
    for path in (tmp_path / "known", tmp_path / "known.zip"):
        hl = HashList.load(path)
        assert hl.list_id == "known" and hl.recommended_threshold == 10
        assert sorted(hl.entries(), key=lambda e: e.id) == sorted(ents, key=lambda e: e.id)
        keys = [(hl.entry(i).hash, hl.ids[i].encode()) for i in range(len(hl))]
        assert keys == sorted(keys)


def test_two_builds_are_byte_identical_whatever_the_input_order(tmp_path: Path, rng) -> None:
    ents = _entries(rng)
    write_hashlist(tmp_path / "a" / "L", ents, spec=SPEC, model=MODEL)
    write_hashlist(tmp_path / "b" / "L", list(reversed(ents)), spec=SPEC, model=MODEL)
    for name in ("manifest.json", "entries.jsonl", "hashes.bin", "offsets.bin", "fragile.bin"):
        assert (tmp_path / "a/L" / name).read_bytes() == (tmp_path / "b/L" / name).read_bytes()
    assert (tmp_path / "a/L.zip").read_bytes() == (tmp_path / "b/L.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a/L.zip") as zf:
        assert [i.filename for i in zf.infolist()] == sorted(
            f"L/{n}"
            for n in ("manifest.json", "entries.jsonl", "hashes.bin", "offsets.bin", "fragile.bin")
        )
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_empty_list_is_valid_and_searchable(tmp_path: Path) -> None:
    write_hashlist(tmp_path / "empty", [], spec=SPEC, model=MODEL)
    hl = load(tmp_path / "empty")
    assert len(hl) == 0 and (tmp_path / "empty/offsets.bin").read_bytes() == b"\0" * 4
    res = hl.search(["0" * 24], 96)
    assert res.lims.tolist() == [0, 0] and res.rows() == []


def test_mixed_fragile_inputs_leave_fragile_out_with_a_note(tmp_path: Path, rng) -> None:
    ents = _entries(rng, 4)
    ents[0] = Entry(ents[0].id, ents[0].hash)
    rep = write_hashlist(tmp_path / "L", ents, spec=SPEC, model=MODEL)
    assert not rep.fragile and "fragile.bin left out" in rep.notes[0]
    assert load(tmp_path / "L").fragile is None


@pytest.mark.parametrize(
    "bad,field",
    [
        (Entry("x", "0" * 24, "y" * 1025), "label"),
        (Entry("", "0" * 24), "id"),
        (Entry("x", "0" * 23 + "G"), "hash"),
        (Entry("x", "ABCDEF" * 4), "hash"),
        (Entry("x", "0" * 24, source="s" * 4097), "source"),
        (Entry("x", "0" * 24, meta={"k": "v" * 20000}), "meta"),
    ],
)
def test_writer_refuses_what_readers_reject(tmp_path: Path, bad: Entry, field: str) -> None:
    with pytest.raises(HashListError) as info:
        write_hashlist(tmp_path / "L", [bad], spec=SPEC, model=MODEL)
    assert info.value.field == field and "entry 0" in str(info.value)
    assert not (tmp_path / "L").exists() and not (tmp_path / "L.zip").exists()


def test_writer_refuses_a_bad_threshold_or_model(tmp_path: Path) -> None:
    with pytest.raises(HashListError) as info:
        write_hashlist(
            tmp_path / "L", [], spec=SPEC, model=MODEL, threshold={**THRESHOLD, "recommended": 97}
        )
    assert "threshold" in info.value.field
    with pytest.raises(HashListError) as info:
        write_hashlist(tmp_path / "L", [], spec=SPEC, model={**MODEL, "fingerprint": "X" * 64})
    assert info.value.field == "model.fingerprint" and not (tmp_path / "L").exists()


def test_writer_refuses_duplicate_ids_and_bad_list_ids(tmp_path: Path) -> None:
    with pytest.raises(HashListError, match="'a' appears twice"):
        write_hashlist(
            tmp_path / "L", [Entry("a", "0" * 24), Entry("a", "1" * 24)], spec=SPEC, model=MODEL
        )
    with pytest.raises(HashListError, match="list_id"):
        write_hashlist(tmp_path / "L", [], spec=SPEC, model=MODEL, list_id="a b")


def test_existing_list_is_replaced_only_with_overwrite_and_atomically(
    tmp_path: Path, rng, monkeypatch
) -> None:
    out = tmp_path / "L"
    write_hashlist(out, _entries(rng, 3), spec=SPEC, model=MODEL)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(NhkitError, match="already exists"):
        write_hashlist(out, _entries(rng, 5), spec=SPEC, model=MODEL)

    def broken_zip(*a, **k):
        raise OSError(28, "No space left on device")

    from nhkit.runtime import ziputil

    monkeypatch.setattr(ziputil.zipfile, "ZipFile", broken_zip)
    with pytest.raises(NhkitError, match="No space left"):
        write_hashlist(out, _entries(rng, 5), spec=SPEC, model=MODEL, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["L", "L.zip"]  # no staging left
    monkeypatch.undo()
    write_hashlist(out, _entries(rng, 5), spec=SPEC, model=MODEL, overwrite=True)
    assert len(load(out)) == 5 and len(load(tmp_path / "L.zip")) == 5


def test_with_threshold_records_a_complete_threshold_only(tmp_path: Path, rng) -> None:
    write_hashlist(tmp_path / "L", _entries(rng, 4), spec=SPEC, model=MODEL)
    with_threshold(tmp_path / "L", THRESHOLD, tmp_path / "L")
    for p in (tmp_path / "L", tmp_path / "L.zip"):
        assert load(p).threshold == THRESHOLD
    with pytest.raises(HashListError) as info:
        with_threshold(tmp_path / "L", {"recommended": 12}, tmp_path / "L")
    assert info.value.field == "threshold"
    with pytest.raises(HashListError) as info:
        with_threshold(tmp_path / "L", {**THRESHOLD, "recommended": 97}, tmp_path / "L2")
    assert "threshold" in info.value.field and not (tmp_path / "L2").exists()
    with_threshold(tmp_path / "L", None, tmp_path / "L3")
    assert load(tmp_path / "L3").threshold is None and load(tmp_path / "L").threshold


def test_identity_mismatch_names_both_fingerprints(tmp_path: Path, rng) -> None:
    write_hashlist(tmp_path / "L", _entries(rng, 2), spec=SPEC, model=MODEL)
    hl = load(tmp_path / "L")
    other = {**MODEL, "fingerprint": "9" * 64}
    with pytest.raises(HashListError) as info:
        hl.check_identity(other, "--model x.onnx")
    assert "1" * 64 in str(info.value) and "9" * 64 in str(info.value)
    assert info.value.field == "model.fingerprint"
    with pytest.raises(HashListError, match="seed sha256"):
        hl.check_identity({**MODEL, "seed_sha256": "8" * 64}, "--seed s.dat")
    with pytest.raises(HashListError, match="spec"):
        hl.check_spec(Spec(orientation="ignore"), "the hasher")
    assert "hash with --model" not in str(info.value)  # no shipped model has that fingerprint


def test_a_list_of_an_older_shipped_model_names_the_model_to_use(tmp_path: Path, rng) -> None:
    """After the default changed (v1 -> v2), matching a v1 list with the new default fails
    and says how to read it."""
    from nhkit.runtime.models import DEFAULT_MODEL_NAME, installed_models, shipped_model

    older = [n for n in installed_models() if n != DEFAULT_MODEL_NAME]
    if not older:
        pytest.skip("this install carries one model")
    old, new = shipped_model(older[0]), shipped_model()
    ident = {"name": old.name, "fingerprint": old.meta.fingerprint, "seed_sha256": "2" * 64}
    write_hashlist(tmp_path / "L", _entries(rng, 2), spec=SPEC, model=ident)
    current = {**ident, "name": new.name, "fingerprint": new.meta.fingerprint}
    with pytest.raises(HashListError, match=f"hash with --model {old.name} "):
        load(tmp_path / "L").check_identity(current, "the default model")


# ----- zips -------------------------------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.fixture()
def good_zip(tmp_path: Path, rng) -> Path:
    write_hashlist(tmp_path / "L", _entries(rng, 6), spec=SPEC, model=MODEL)
    return tmp_path / "L.zip"


def _members(z: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(z) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_truncated_zip(good_zip: Path, tmp_path: Path) -> None:
    bad = tmp_path / "cut.zip"
    bad.write_bytes(good_zip.read_bytes()[:-200])
    with pytest.raises(HashListError) as info:
        load(bad)
    assert "cut.zip" in str(info.value) and info.value.field == "zip"


def test_tampered_zip_member(good_zip: Path, tmp_path: Path) -> None:
    m = _members(good_zip)
    m["L/hashes.bin"] = bytes([m["L/hashes.bin"][0] ^ 0x80]) + m["L/hashes.bin"][1:]
    with pytest.raises(HashListError) as info:
        load(_zip(tmp_path / "t.zip", m))
    assert info.value.field == "hashes.bin" and "sha256" in str(info.value)


@pytest.mark.parametrize(
    "rename,field",
    [
        (lambda n: n.replace("L/", "other/"), "list_id"),
        (lambda n: n.replace("L/", "../"), ".."),
        (lambda n: n if "hashes" not in n else "M/hashes.bin", "zip"),
    ],
)
def test_zip_layout_faults(good_zip: Path, tmp_path: Path, rename, field: str) -> None:
    m = {rename(k): v for k, v in _members(good_zip).items()}
    with pytest.raises(HashListError) as info:
        load(_zip(tmp_path / "bad.zip", m))
    assert field in str(info.value)


def test_not_a_list(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(HashListError, match="not a hash list"):
        load(tmp_path / "x.txt")
    with pytest.raises(HashListError, match="no such hash list"):
        load(tmp_path / "missing")
    (tmp_path / "d").mkdir()
    with pytest.raises(HashListError) as info:
        load(tmp_path / "d")
    assert info.value.field == "manifest.json"


def test_manifest_changes_are_caught(tmp_path: Path, rng) -> None:
    write_hashlist(tmp_path / "L", _entries(rng, 3), spec=SPEC, model=MODEL)
    mpath = tmp_path / "L/manifest.json"
    m = json.loads(mpath.read_text())
    m["counts"]["entries"] = 4
    mpath.write_text(json.dumps(m))
    with pytest.raises(HashListError) as info:
        load(tmp_path / "L")
    assert info.value.field == "fragile.bin" and "counts" in str(info.value)
    m["counts"]["entries"] = 3
    m["spec"]["size"] = 299
    mpath.write_text(json.dumps(m))
    with pytest.raises(HashListError) as info:
        load(tmp_path / "L")
    assert info.value.field == "spec.size"


def test_search_api_rows_and_threshold_default(tmp_path: Path) -> None:
    h0, h1 = "0" * 24, "0" * 23 + "3"
    write_hashlist(
        tmp_path / "L", [Entry("a", h0, "A"), Entry("b", h1, "B")], spec=SPEC, model=MODEL
    )
    hl = load(tmp_path / "L")
    with pytest.raises(NhkitError, match="--threshold"):
        hl.search([h0])
    lims, ids, dist = hl.search([h0, "f" * 24], 2)
    assert lims.tolist() == [0, 2, 2] and ids.tolist() == [0, 1] and dist.tolist() == [0, 2]
    assert lims.dtype == np.int64 and ids.dtype == np.int64 and dist.dtype == np.int32
    rows = hl.search(h1, 2).rows()
    assert [(r.id, r.label, r.distance) for r in rows] == [("b", "B", 0), ("a", "A", 2)]
    with_threshold(tmp_path / "L", {**THRESHOLD, "recommended": 1}, tmp_path / "L")
    assert [r.id for r in load(tmp_path / "L").search(h1).rows()] == ["b"]
    with pytest.raises(NhkitError, match="queries\\[0\\]"):
        hl.search(["xyz"], 2)
    assert hl.search([], 2).lims.tolist() == [0]


def test_loading_verifies_each_entry_line(tmp_path: Path) -> None:
    write_hashlist(tmp_path / "L", [Entry("a", "0" * 24)], spec=SPEC, model=MODEL)
    p = tmp_path / "L/entries.jsonl"
    p.write_bytes(p.read_bytes().replace(b'"label": null', b'"label": 1'))
    m = json.loads((tmp_path / "L/manifest.json").read_text())
    for f in m["files"]:
        if f["path"] == "entries.jsonl":
            f["sha256"] = hashlib.sha256(p.read_bytes()).hexdigest()
            f["size"] = p.stat().st_size
    (tmp_path / "L/manifest.json").write_text(json.dumps(m))
    with pytest.raises(HashListError) as info:
        load(tmp_path / "L")
    assert "entries.jsonl" in str(info.value) and "line 1: label" in str(info.value)


def test_entry_lines_are_what_json_dumps_writes(tmp_path: Path) -> None:
    ents = [
        Entry('é\u2028"q"\\/\x01', "0" * 24, "tab\there", None, {"k": [1, "ü"]}),
        Entry("\U0001f600", "1" * 24, None, "a/b.jpg", None),
    ]
    write_hashlist(tmp_path / "L", ents, spec=SPEC, model=MODEL)
    lines = (tmp_path / "L/entries.jsonl").read_text(encoding="utf-8").split("\n")[:-1]
    assert lines == [json.dumps(e.to_json(), ensure_ascii=False) for e in ents]
    assert lines == [hlmod.entry_line(e) for e in ents]
    with pytest.raises(HashListError, match="not valid Unicode"):
        write_hashlist(tmp_path / "S", [Entry("\ud800", "0" * 24)], spec=SPEC, model=MODEL)
