"""`nhkit export --selftest separate`: the self-test cases travel as <bundle_id>.selftest.zip,
pinned by the manifest; the bundle alone verifies and hashes, the cases are found beside it or
unpacked into it, and any tampering with either is caught."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import onnx
import pytest
from nh_models import make_seed

from nhkit.export import testmodels as tm
from nhkit.runtime.seed import seed_to_f32_bytes

pytest.importorskip("tensorflow")

from nhkit.export import exporter as E
from nhkit.runtime.bundle import BundleError, load_bundle

BID = "tiny.tflite-fp32"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sep")
    onnx.save(tm.tiny_onnx(seed=4), str(d / "tiny.onnx"))
    (d / "tiny.f32").write_bytes(seed_to_f32_bytes(make_seed(3)))
    o = d / "out"
    E.run_export(
        E.ExportOptions(
            out=o,
            model=d / "tiny.onnx",
            seed=d / "tiny.f32",
            targets="tflite",
            variants=["fp32"],
            validation_limit=2,
            threads=1,
            fragile_margin=0.05,
            selftest="separate",
        ),
        log=lambda m: None,
    )
    return o


def _copy(out: Path, dst: Path, *, archive: bool) -> Path:
    dst.mkdir()
    shutil.copytree(out / BID, dst / BID)
    if archive:
        shutil.copyfile(out / f"{BID}.selftest.zip", dst / f"{BID}.selftest.zip")
    return dst / BID


def test_layout_and_manifest(out: Path) -> None:
    assert sorted(p.name for p in out.iterdir()) == [
        "tiny.report",
        BID,
        f"{BID}.selftest.zip",
        f"{BID}.zip",
    ]
    assert not (out / BID / "selftest").exists()
    m = json.loads((out / BID / "manifest.json").read_text())
    assert [f["path"] for f in m["files"]] == ["model.tflite", "seed.f32"]
    archive = out / f"{BID}.selftest.zip"
    assert m["selftest"]["archive"] == {
        "file": archive.name,
        "size": archive.stat().st_size,
        "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
    }
    with zipfile.ZipFile(archive) as zf:
        names = sorted(zf.namelist())
    assert names == [f"{BID}/{f['path']}" for f in m["selftest"]["files"]]
    assert f"{BID}/selftest/cases.json" in names
    with zipfile.ZipFile(out / f"{BID}.zip") as zf:
        assert not [n for n in zf.namelist() if "/selftest/" in n]


def test_cases_found_beside_folder_and_zip(out: Path) -> None:
    for src in (out / BID, out / f"{BID}.zip"):
        with load_bundle(src) as b:
            assert len(b.cases["cases"]) == 6
            assert b.case_path(b.cases["cases"][0]).is_file()


def test_bundle_alone_verifies_but_has_no_cases(out: Path, tmp_path: Path) -> None:
    with load_bundle(_copy(out, tmp_path / "alone", archive=False)) as b:
        assert b.seed.shape == (96, 128)
        with pytest.raises(
            BundleError, match=r"ship separately \(tiny\.tflite-fp32\.selftest\.zip\)"
        ):
            _ = b.cases


def test_cases_unpacked_into_the_folder(out: Path, tmp_path: Path) -> None:
    folder = _copy(out, tmp_path / "unpacked", archive=False)
    with zipfile.ZipFile(out / f"{BID}.selftest.zip") as zf:
        zf.extractall(folder.parent)
    with load_bundle(folder) as b:
        assert len(b.cases["cases"]) == 6
    (folder / "selftest" / "s01-png.png").write_bytes(b"\x89PNG tampered")
    with pytest.raises(BundleError, match="s01-png.png: size"):
        load_bundle(folder)


def test_archive_of_another_export_is_refused(out: Path, tmp_path: Path) -> None:
    folder = _copy(out, tmp_path / "other", archive=True)
    archive = folder.parent / f"{BID}.selftest.zip"
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(f"{BID}/selftest/extra.txt", "not listed")
    with pytest.raises(BundleError, match="differs from the manifest's selftest.archive"):
        load_bundle(folder)


def test_unlisted_file_still_refused(out: Path, tmp_path: Path) -> None:
    folder = _copy(out, tmp_path / "unlisted", archive=False)
    (folder / "selftest").mkdir()
    (folder / "selftest" / "cases.json").write_text("{}")
    (folder / "notes.txt").write_text("x")
    with pytest.raises(BundleError, match="notes.txt: file is not listed"):
        load_bundle(folder)
