"""On the light install (no `export` extra), commands that need a converter or LiteRT say which
install brings it, instead of a traceback."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from nhkit.runtime.cli import main


def test_export_without_converters_names_the_extra(monkeypatch, tmp_path, capsys) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("tensorflow", "coremltools") else real(name, *a),
    )
    assert main(["export", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "missing: tensorflow-cpu, coremltools" in err and "nhkit[export]" in err
    assert not (tmp_path / "out").exists()


def test_tflite_bundle_without_litert_names_the_extra(monkeypatch, tmp_path) -> None:
    from nhkit.runtime.backends.tflite import TfliteBackend
    from nhkit.runtime.errors import NhkitError

    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(NhkitError, match=r"nhkit\[tflite\]"):
        TfliteBackend(tmp_path / "model.tflite")


def test_missing_module_is_one_line_not_a_traceback(monkeypatch, capsys, photos) -> None:
    import nhkit.runtime.cli_hash as cli_hash

    def boom(args):
        raise ModuleNotFoundError("No module named 'coremltools'", name="coremltools")

    monkeypatch.setattr(cli_hash, "make_hasher", boom)
    assert main(["hash", str(photos[0])]) == 2
    assert "needs the Python package 'coremltools'" in capsys.readouterr().err
