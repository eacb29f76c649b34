"""The `nhkit` command finds its subcommands through the `nhkit.commands` entry points."""

from __future__ import annotations

from importlib import metadata

import pytest

from nhkit.runtime import cli


def test_commands_in_help_order() -> None:
    names = [c.name for c in cli.commands()]
    assert names[0] == "hash" and names[1:] == sorted(names[1:])
    assert {"hash", "export", "golden"} <= set(names)
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert list(sub.choices)[:2] == ["hash", "distance"]  # hash registers `distance` too
    assert {"export", "golden", "selftest"} <= set(sub.choices)


def test_a_command_whose_module_is_absent_is_left_out(monkeypatch) -> None:
    real = metadata.entry_points
    ghost = metadata.EntryPoint("ghost", "nhkit.ghost_cli:register", cli.COMMAND_GROUP)
    monkeypatch.setattr(cli.metadata, "entry_points", lambda **kw: [*real(**kw), ghost])
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert "ghost" not in sub.choices and "hash" in sub.choices


def test_no_registered_commands_is_one_line(monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli.metadata, "entry_points", lambda **kw: [])
    assert cli.main(["hash"]) == 2
    assert "no commands are registered" in capsys.readouterr().err


@pytest.mark.parametrize(
    "module, extras, want",
    [
        ("tensorflow", (), "export"),
        ("coremltools.models", (), "export"),
        ("sklearn", ("export",), "export"),
        ("pdqhash", (), "bench"),
        ("not_a_package", ("tflite",), "tflite"),
        ("not_a_package", (), None),
    ],
)
def test_missing_module_names_its_extra(module, extras, want) -> None:
    assert cli.extra_for_module(module, extras) == want


def test_missing_converter_in_a_command_names_the_extra(monkeypatch, capsys, tmp_path) -> None:
    import nhkit.export.cli as export_cli

    def boom(args):
        raise ModuleNotFoundError("No module named 'tensorflow'", name="tensorflow")

    monkeypatch.setattr(export_cli, "run", boom)
    assert cli.main(["export", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "needs the Python package 'tensorflow'" in err and "nhkit[export]" in err
