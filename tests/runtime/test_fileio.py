"""Atomic writes, canonical JSON and deterministic zips: the runtime's one home for each."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from nhkit.runtime.atomic import write_bytes_atomic
from nhkit.runtime.errors import InputFileError
from nhkit.runtime.jsonfile import json_bytes, read_json, write_json_atomic
from nhkit.runtime.ziputil import (
    ZIP_DATE,
    ZipContentError,
    list_files,
    write_deterministic_zip,
)


def test_atomic_write_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    p = tmp_path / "sub" / "f.bin"
    write_bytes_atomic(p, b"one")
    write_bytes_atomic(p, b"two")
    assert p.read_bytes() == b"two" and sorted(os.listdir(p.parent)) == ["f.bin"]


def test_failed_atomic_write_keeps_nothing_half_written(tmp_path: Path) -> None:
    target = tmp_path / "dir"
    (target / "x").mkdir(parents=True)  # a non-empty folder cannot be replaced by a file
    with pytest.raises(InputFileError, match="dir: cannot write file"):
        write_bytes_atomic(target, b"data")
    assert sorted(os.listdir(tmp_path)) == ["dir"]


def test_canonical_json(tmp_path: Path) -> None:
    obj = {"b": 1, "a": ["é", 2.5]}
    assert json_bytes(obj) == '{\n  "b": 1,\n  "a": [\n    "é",\n    2.5\n  ]\n}\n'.encode()
    with pytest.raises(ValueError):
        json_bytes({"x": float("nan")})
    write_json_atomic(tmp_path / "o.json", obj)
    assert read_json(tmp_path / "o.json") == obj
    assert (tmp_path / "o.json").read_bytes() == json_bytes(obj)


def _folder(root: Path) -> Path:
    (root / "d" / "e").mkdir(parents=True)
    (root / "b.txt").write_text("b" * 1000)
    (root / "d" / "e" / "m.bin").write_bytes(bytes(range(256)) * 10)
    (root / "a.txt").write_text("a")
    return root


def test_list_files_sorted_posix(tmp_path: Path) -> None:
    assert list_files(_folder(tmp_path / "f")) == ["a.txt", "b.txt", "d/e/m.bin"]


def test_zip_is_byte_identical_and_follows_the_rules(tmp_path: Path) -> None:
    src = _folder(tmp_path / "f")
    write_deterministic_zip(src, tmp_path / "1.zip", "top", stored=lambda r: r.endswith(".bin"))
    os.utime(src / "a.txt", (1e9, 1e9))  # timestamps must not matter
    write_deterministic_zip(src, tmp_path / "2.zip", "top", stored=lambda r: r.endswith(".bin"))
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "1.zip") as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == ["top/a.txt", "top/b.txt", "top/d/e/m.bin"]
    assert all(i.date_time == ZIP_DATE and i.external_attr >> 16 == 0o100644 for i in infos)
    assert [i.compress_type for i in infos] == [
        zipfile.ZIP_DEFLATED,
        zipfile.ZIP_DEFLATED,
        zipfile.ZIP_STORED,
    ]
    assert sorted(os.listdir(tmp_path)) == ["1.zip", "2.zip", "f"]


def test_zip_refuses_symlinks(tmp_path: Path) -> None:
    src = _folder(tmp_path / "f")
    (src / "link").symlink_to(src / "a.txt")
    assert "link" in list_files(src)  # a checker sees it, and reports it as unexpected
    with pytest.raises(ZipContentError, match="link: only regular files"):
        write_deterministic_zip(src, tmp_path / "z.zip", "top", stored=lambda r: False)
    assert not (tmp_path / "z.zip").exists()


@pytest.mark.parametrize("name", [".", "./"])
def test_bundle_zip_entry_naming_nothing_is_unsafe(tmp_path: Path, name: str) -> None:
    """A zip entry named "." (no path parts at all) is refused like "..", not an IndexError
    (found by benchmarks/fuzz.py)."""
    from nhkit.runtime.bundle import BundleError, load_bundle

    z = tmp_path / "b.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("b/manifest.json", b"{}")
        zf.writestr(zipfile.ZipInfo(name), b"x")
    with pytest.raises(BundleError, match="has an unsafe path"):
        load_bundle(z)
