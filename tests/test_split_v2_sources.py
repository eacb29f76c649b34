"""The evaluation set's provenance file agrees with the split it documents (issue 12 §1): every
evaluation photo, and only those, with its Debian package, version, path and licence."""

from __future__ import annotations

import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPLIT = ROOT / "training" / "split_v2.json"
SOURCES = ROOT / "training" / "split_v2_eval_sources.tsv"


def _rows() -> list[dict[str, str]]:
    with SOURCES.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_sources_list_exactly_the_evaluation_photos_with_their_hashes() -> None:
    split = json.loads(SPLIT.read_text(encoding="utf-8"))
    rows = _rows()
    assert [(r["file"], r["sha256"]) for r in rows] == [
        (e["file"], e["sha256"]) for e in split["eval"]
    ]
    assert len(rows) == split["eval_count"] >= 250


def test_every_photo_names_package_version_path_and_licence() -> None:
    split = json.loads(SPLIT.read_text(encoding="utf-8"))
    rows = _rows()
    for r in rows:
        assert all(r[k].strip() for k in ("package", "version", "original_path", "licence")), r
        assert r["source"] in ("deb", "pypi"), r
        folder = r["package"] if r["source"] == "deb" else f"pypi-{r['package']}"
        assert r["file"].startswith(f"photos_extra/{folder}/"), r
        assert "gcompris" not in r["package"]  # reserved for the independent evaluation
    assert sorted({r["package"] for r in rows}) == split["eval_packages"]
    assert not {r["package"] for r in rows} & set(split["train_packages"])
    assert len({r["package"]: r["version"] for r in rows}) == len(split["eval_packages"])
