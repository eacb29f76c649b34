"""The fresh evaluation set (training/split_fresh.json, rebuilt from training/fresh_eval/) is
what its rebuild list says, and shares no package with anything nhkit trained, calibrated or
chose models on (issue 12 §1's rules for an evaluation set)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPLIT = ROOT / "training" / "split_fresh.json"
FRESH = ROOT / "training" / "fresh_eval"


def _tsv(name: str) -> list[dict[str, str]]:
    with (FRESH / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_split_lists_manifest_photos_with_their_hashes_and_enough_pairs() -> None:
    split = json.loads(SPLIT.read_text(encoding="utf-8"))
    manifest = {r["file"]: r for r in _tsv("MANIFEST.tsv")}
    for e in split["eval"]:
        rel = e["file"].removeprefix("fresh_eval/")
        assert manifest[rel]["out_sha256"] == e["sha256"], e
    assert split["eval_count"] == len(split["eval"]) >= 250
    assert split["eval_distinct_pairs"] == len(split["eval"]) * (len(split["eval"]) - 1) // 2
    assert split["eval_distinct_pairs"] >= 30_000
    assert split["train"] == []


def test_rebuild_list_pins_every_photo_and_names_its_licence() -> None:
    rows = _tsv("fresh_eval_list.tsv")
    manifest = _tsv("MANIFEST.tsv")
    assert [r["file"] for r in rows] == [m["file"] for m in manifest]
    for r, m in zip(rows, manifest):
        assert r["source"] in ("deb", "pypi"), r
        assert all(r[k].strip() for k in ("package", "version", "original_path", "licence")), r
        assert len(r["original_sha256"]) == 64 and r["original_sha256"] == m["original_sha256"]
        assert (r["package"], r["version"]) == (m["source_package"], m["version"])
        assert r["file"].startswith(r["package"] + "/"), r


def test_no_package_nhkit_has_used_and_no_gcompris() -> None:
    split = json.loads(SPLIT.read_text(encoding="utf-8"))
    v2 = json.loads((ROOT / "training" / "split_v2.json").read_text(encoding="utf-8"))
    fresh = {r["package"] for r in _tsv("fresh_eval_list.tsv")}
    assert sorted(fresh) == split["eval_packages"]
    assert not fresh & (set(v2["train_packages"]) | set(v2["eval_packages"]))
    assert not any("gcompris" in p for p in fresh)  # reserved for the independent evaluation
    counts: dict[str, int] = {}
    for e in split["eval"]:
        pkg = e["file"].split("/")[1]
        counts[pkg] = counts.get(pkg, 0) + 1
    assert max(counts.values()) <= 0.15 * len(split["eval"])  # no package dominates
