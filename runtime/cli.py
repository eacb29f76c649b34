"""The `nhkit` command. Each subcommand lives in its own module with `register(subparsers)`;
modules that need heavy packages (TensorFlow, coremltools) import them inside their handlers,
so `nhkit hash` starts fast on the light runtime install."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .errors import NhkitError

# Order here is the order in `nhkit --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "nhkit.runtime.cli_hash",
    "nhkit.export.cli",
    "nhkit.runtime.cli_golden",
    "nhkit.runtime.cli_hashlist",
    "nhkit.runtime.cli_match",
)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="nhkit",
        description="Perceptual image hashes that agree across server, iOS and Android.")
    parser.add_argument("--version", action="version", version=f"nhkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # the module itself is absent (e.g. a partial install)
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except NhkitError as exc:
        print(f"nhkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        # An optional converter or runtime is missing: say which install brings it.
        print(f"nhkit {args.command}: error: this needs the Python package {exc.name!r}, which "
              "the light install leaves out: pip install 'nhkit[export]'", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
