"""The shared hash-list vectors (tests/vectors/match_*.json): valid by their JSON Schemas, every
flag explained in `notes`, and the Python reader and matcher reach every expected verdict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from nhkit.runtime.errors import NhkitError
from nhkit.runtime.hashlist import HashListError, load

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
FILES = ("match_lists.json", "match_search.json")


def _doc(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def _materialise(tmp: Path, list_id: str, files: dict) -> Path:
    root = tmp / list_id
    root.mkdir(parents=True)
    for name, spec in files.items():
        (root / name).write_bytes(bytes.fromhex(spec["hex"]))
    return root


@pytest.mark.parametrize("name", FILES)
def test_vector_file_is_valid_by_its_schema_and_explains_every_flag(name: str) -> None:
    doc = _doc(name)
    schema = json.loads((VECTORS / "schemas" / name.replace(".json", ".schema.json")).read_text())
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(doc)]
    assert errors == []
    flags = {f for g in doc["testGroups"] for t in g["tests"] for f in t["flags"]}
    assert flags == set(doc["notes"])
    ids = [t["tcId"] for g in doc["testGroups"] for t in g["tests"]]
    assert ids == list(range(1, len(ids) + 1)) == list(range(1, doc["numberOfTests"] + 1))


def _list_cases() -> list:
    return [
        pytest.param(t, id=f"{t['tcId']}-{t['comment'][:40]}")
        for g in _doc("match_lists.json")["testGroups"]
        for t in g["tests"]
    ]


@pytest.mark.parametrize("case", _list_cases())
def test_list_vectors(case: dict, tmp_path: Path) -> None:
    root = _materialise(tmp_path, case["input"]["list_id"], case["input"]["files"])
    if case["result"] == "valid":
        hl = load(root)
        exp = case["expected"]
        assert (len(hl.ids), len(hl.hashes), hl.list_id) == (
            exp["entries"],
            exp["hashes"],
            exp["list_id"],
        )
        assert (hl.model["fingerprint"], hl.model["seed_sha256"]) == (
            exp["fingerprint"],
            exp["seed_sha256"],
        )
        assert hl.ids == exp["ids"]
    else:
        with pytest.raises(HashListError) as info:
            load(root)
        assert case["expected"]["field"] in str(info.value)


def _search_cases() -> list:
    return [
        pytest.param(g, t, id=f"{t['tcId']}-{t['comment'][:40]}")
        for g in _doc("match_search.json")["testGroups"]
        for t in g["tests"]
    ]


@pytest.mark.parametrize("backend", ["numpy", "mih", "faiss"])
@pytest.mark.parametrize("group,case", _search_cases())
def test_search_vectors(group: dict, case: dict, backend: str, tmp_path: Path) -> None:
    if backend == "faiss":
        pytest.importorskip("faiss")
    hl = load(_materialise(tmp_path, group["params"]["list_id"], group["params"]["files"]))
    inp = case["input"]
    fq = None if inp["fragile"] is None else np.frombuffer(bytes.fromhex(inp["fragile"]), np.uint8)

    def run() -> list:
        if "model" in inp:
            hl.check_identity({"name": "query", **inp["model"]}, "the query")
        res = hl.search([inp["query"]], inp["threshold"], backend=backend, fragile=fq)
        return [
            {
                "entry": h.entry,
                "id": h.id,
                "label": h.label,
                "distance": h.distance,
                "nonfragile_distance": h.nonfragile_distance,
            }
            for h in res.hits(0)
        ]

    if case["result"] == "valid":
        assert run() == case["expected"]["hits"]
    else:
        with pytest.raises(NhkitError) as info:
            run()
        assert case["expected"]["field"] in str(info.value)
