"""The `nhkit` command.

Each subcommand lives in its own module with a `register(subparsers)` function, found through
the entry-point group `nhkit.commands` in pyproject.toml, so the light runtime never names the
modules of heavier installs (the exporter registers itself the same way). Modules that need
heavy packages (TensorFlow, coremltools) import them inside their handlers, so `nhkit hash`
starts fast on the light install.

Adding a command:

1. write `nhkit/<package>/cli_<name>.py` with `register(subparsers)`, which adds the subparser
   and sets `func=<handler>` (the handler takes the parsed args and returns an exit status;
   errors the user can cause are NhkitErrors, printed as one line);
2. add `<name> = "nhkit.<package>.cli_<name>:register"` under
   `[project.entry-points."nhkit.commands"]` in pyproject.toml; if the command needs an extra,
   say so: `"nhkit.export.cli:register [export]"`, and a missing package then names it;
3. reinstall (`pip install -e .`): entry points live in the installed package's metadata.

`nhkit --help` lists `hash` first (the command most people want), then the others by name.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata

from .errors import NhkitError

COMMAND_GROUP = "nhkit.commands"
DISTRIBUTION = "nhkit"
FIRST_COMMANDS: tuple[str, ...] = ("hash",)


@dataclass(frozen=True)
class Command:
    """A registered subcommand: its name, its entry point and the extras it needs."""

    name: str
    entry_point: metadata.EntryPoint

    @property
    def extras(self) -> list[str]:
        return list(self.entry_point.extras)


def commands() -> list[Command]:
    """The installed commands in help order: FIRST_COMMANDS, then the rest by name."""
    found = {ep.name: Command(ep.name, ep) for ep in metadata.entry_points(group=COMMAND_GROUP)}
    first = [found.pop(n) for n in FIRST_COMMANDS if n in found]
    return first + [found[n] for n in sorted(found)]


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="nhkit",
        description="Perceptual image hashes that agree across server, iOS and Android.",
    )
    parser.add_argument("--version", action="version", version=f"nhkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    found = commands()
    if not found:
        raise NhkitError(
            f"no commands are registered (entry-point group {COMMAND_GROUP!r}): "
            "is nhkit installed? pip install -e ."
        )
    for cmd in found:
        try:
            register = cmd.entry_point.load()
        except ModuleNotFoundError as exc:
            if exc.name and cmd.entry_point.module.startswith(exc.name):
                continue  # the module itself is absent (a partial install): no such command
            raise
        register(sub)
    return parser


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extra_for_module(module: str, command_extras: Sequence[str] = ()) -> str | None:
    """The extra of this distribution that installs `module`'s package, else the command's
    own extra, else None. Read from the installed metadata, so pyproject.toml stays the one
    place that says which extra brings which package."""
    top = _normalise(module.split(".")[0])
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        requirements = []
    for req in requirements:
        m = re.match(
            r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)[^;]*;.*extra\s*==\s*['\"]([^'\"]+)['\"]", req
        )
        if m:
            dist = _normalise(m.group(1))
            if (
                dist == top
                or dist.startswith(top + "-")
                or dist.replace("-", "") == top.replace("-", "")
            ):
                return m.group(2)
    return command_extras[0] if command_extras else None


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
    except NhkitError as exc:
        print(f"nhkit: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except NhkitError as exc:
        print(f"nhkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        # An optional converter or runtime is missing: say which install brings it.
        command = next((c for c in commands() if c.name == args.command), None)
        extra = extra_for_module(exc.name or "", command.extras if command else ())
        how = f"pip install 'nhkit[{extra}]'" if extra else f"pip install {exc.name}"
        print(
            f"nhkit {args.command}: error: this needs the Python package {exc.name!r}, which "
            f"the light install leaves out: {how}",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
