"""tests/fixture_bundles.py: the bridges' shared fixture-bundle cache is keyed on the working
tree's content, so an uncommitted edit re-exports and a stale bundle is never served."""

from __future__ import annotations

import subprocess
from pathlib import Path

import fixture_bundles as fb
import pytest


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    (r / "runtime").mkdir(parents=True)
    (r / "export").mkdir()
    (r / "tests").mkdir()
    (r / "runtime" / "a.py").write_text("A = 1\n")
    (r / "export" / "testmodels.py").write_text("def tiny_onnx(seed): ...\n")
    (r / "tests" / "fixture_bundles.py").write_text("# the script\n")
    (r / "docs.md").write_text("not a key input\n")
    (r / ".gitignore").write_text("*.log\n")
    _git(r, "init", "-q")
    _git(r, "add", ".")
    _git(r, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    return r


def test_key_follows_uncommitted_content_not_the_commit(repo: Path) -> None:
    base = fb.content_key(repo)
    (repo / "runtime" / "a.py").write_text("A = 2\n")  # uncommitted edit
    edited = fb.content_key(repo)
    assert edited != base
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "edit")
    assert fb.content_key(repo) == edited  # same content, other commit: same key
    (repo / "runtime" / "a.py").write_text("A = 1\n")
    assert fb.content_key(repo) == base  # content, not history or mtimes


def test_key_covers_untracked_files_the_model_source_and_the_script(repo: Path) -> None:
    base = fb.content_key(repo)
    (repo / "export" / "new_op.py").write_text("X = 1\n")  # untracked, not ignored
    assert fb.content_key(repo) != base
    (repo / "export" / "new_op.py").unlink()
    for rel in ("export/testmodels.py", "tests/fixture_bundles.py"):
        before = (repo / rel).read_text()
        (repo / rel).write_text(before + "# edited\n")
        assert fb.content_key(repo) != base, rel
        (repo / rel).write_text(before)
    assert fb.content_key(repo) == base


def test_key_ignores_ignored_files_and_other_folders(repo: Path) -> None:
    base = fb.content_key(repo)
    (repo / "runtime" / "debug.log").write_text("ignored by .gitignore\n")
    (repo / "docs.md").write_text("edited, but bundles do not depend on it\n")
    assert fb.content_key(repo) == base


def test_a_deleted_tracked_file_changes_the_key(repo: Path) -> None:
    base = fb.content_key(repo)
    (repo / "runtime" / "a.py").unlink()
    assert fb.content_key(repo) != base


def test_cache_exports_once_per_key_and_drops_stale_folders(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exports: list[Path] = []

    def fake_export(dest: Path, targets: dict[str, str]) -> None:
        exports.append(dest)
        (dest / "tiny.tflite-fp32").mkdir()
        (dest / "tiny.tflite-fp32" / "manifest.json").write_text("{}")

    monkeypatch.setattr(fb, "export_bundles", fake_export)
    monkeypatch.setattr(fb, "available_targets", lambda: {"tflite": "fp32"})
    cache = tmp_path / "cache"
    first = fb.ensure(cache, repo)
    assert (first / "tiny.tflite-fp32" / "manifest.json").is_file()
    assert fb.ensure(cache, repo) == first and len(exports) == 1  # cached
    (repo / "runtime" / "a.py").write_text("A = 3\n")  # uncommitted edit: re-export
    second = fb.ensure(cache, repo)
    assert second != first and len(exports) == 2
    assert sorted(p.name for p in cache.iterdir()) == [second.name]  # the stale folder is gone


def test_a_failed_export_leaves_no_folder(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_export(dest: Path, targets: dict[str, str]) -> None:
        (dest / "half-written").mkdir()
        raise RuntimeError("nhkit export --target tflite failed")

    monkeypatch.setattr(fb, "export_bundles", failing_export)
    monkeypatch.setattr(fb, "available_targets", lambda: {"tflite": "fp32"})
    cache = tmp_path / "cache"
    with pytest.raises(RuntimeError):
        fb.ensure(cache, repo)
    assert list(cache.iterdir()) == []
