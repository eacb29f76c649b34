"""runtime/cli_model_args.py is the one home of the model-source and batching flags: every
command that hashes images gets them from there, with the same types and defaults."""

from __future__ import annotations

import argparse

import pytest

from nhkit.runtime.cli import build_parser
from nhkit.runtime.cli_calibrate import add_calibrate_arguments
from nhkit.runtime.spec import DEFAULT_MAX_PIXELS


def _sub(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    root = build_parser()
    cal = argparse.ArgumentParser(prog="nhkit match calibrate")
    add_calibrate_arguments(cal)
    return {
        "hash": _sub(root, "hash"),
        "golden create": _sub(root, "golden", "create"),
        "hashlist build": _sub(root, "hashlist", "build"),
        "match": _sub(root, "match"),
        "match calibrate": cal,
    }


@pytest.mark.parametrize(
    "flag, default, type_",
    [
        ("--model", None, None),
        ("--seed", None, None),
        ("--batch", 16, int),
        ("--workers", 2, int),
        ("--threads", None, int),
        ("--max-pixels", DEFAULT_MAX_PIXELS, int),
    ],
)
def test_shared_flags_agree_across_commands(flag: str, default: object, type_: object) -> None:
    for name, parser in _commands().items():
        action = next((a for a in parser._actions if flag in a.option_strings), None)
        assert action is not None, f"{name} lacks {flag}"
        assert (action.default, action.type) == (default, type_), name


def test_model_source_flags_parse_the_same_everywhere() -> None:
    for name, parser in _commands().items():
        if name == "match calibrate":
            continue  # its required --negatives etc. are checked by its own tests
        argv = {"hash": ["x.png"], "golden create": ["x.png", "-o", "g.json"]}.get(name, [])
        if name == "hashlist build":
            argv = ["x.png", "-o", "L"]
        if name == "match":
            argv = ["--list", "L"]
        args = parser.parse_args([*argv, "--model", "m.onnx", "--seed", "s.dat", "--batch", "4"])
        assert (args.model, args.seed, args.batch) == ("m.onnx", "s.dat", 4), name
