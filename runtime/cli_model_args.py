"""The command-line flags that choose the model images are hashed with (`--model`, `--seed`,
`--bundle`) and how a batch of images runs through it (`--batch`, `--workers`, `--threads`,
`--max-pixels`, `--no-progress`): one home for the flags `nhkit hash`, `golden create`,
`hashlist build`, `match` and `match calibrate` share, so a flag's name, type and default cannot
drift between commands. Each command keeps its own group title, help wording and option order
(its `--help` is part of its interface and stays as it was); the commands' code turns the parsed
flags into a Hasher (`cli_hash.make_hasher`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TypeAlias

from .spec import DEFAULT_MAX_PIXELS

# argparse's group type is private; both a parser and a group take add_argument.
Target: TypeAlias = "argparse.ArgumentParser | argparse._ArgumentGroup"

MODEL_TITLE = "model (default: the model shipped with nhkit)"
SEED_HELP = "seed file (.dat or seed.f32) for --model"
BUNDLE_HELP = "an nhkit device bundle folder or zip"


def add_model_source(
    parser: argparse.ArgumentParser,
    *,
    title: str = MODEL_TITLE,
    seed_help: str = SEED_HELP,
    bundle_help: str | None = BUNDLE_HELP,
) -> argparse._ArgumentGroup:
    """`--model`, `--seed` and (unless `bundle_help` is None) `--bundle`, in a group `title`."""
    group = parser.add_argument_group(title)
    group.add_argument(
        "--model",
        help="NeuralHash-format ONNX model, or the name of a model shipped with nhkit "
        "(e.g. nhkit-mnv3s-v1: its own seed, no --seed)",
    )
    group.add_argument("--seed", help=seed_help)
    if bundle_help is not None:
        group.add_argument("--bundle", help=bundle_help)
    return group


def add_batch_options(
    target: Target,
    *,
    order: Sequence[str] = ("batch", "workers", "threads"),
    workers_help: str = "decode/resize threads",
) -> None:
    """`--batch`, `--workers`, `--threads` in the command's `order`."""
    for name in order:
        if name == "batch":
            target.add_argument("--batch", type=int, default=16, help="images per inference batch")
        elif name == "workers":
            target.add_argument("--workers", type=int, default=2, help=workers_help)
        elif name == "threads":
            target.add_argument("--threads", type=int, default=None, help="inference threads")
        else:
            raise ValueError(f"unknown batch option {name!r}")


def add_max_pixels(target: Target, *, show_default: bool = True) -> None:
    """`--max-pixels` (the decode bomb limit), its default shown in the help unless told not to."""
    suffix = f" (default {DEFAULT_MAX_PIXELS:,})" if show_default else ""
    target.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help=f"reject images with more pixels{suffix}",
    )


def add_no_progress(target: Target) -> None:
    target.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def add_image_model_arguments(p: argparse.ArgumentParser) -> None:
    """The one group of `nhkit hashlist build` and `nhkit match`: model, spec policy, batching."""
    src = add_model_source(p, title="model for images (default: the model shipped with nhkit)")
    src.add_argument(
        "--orientation",
        choices=("apply", "ignore"),
        default=None,
        help="EXIF orientation policy (default: apply / the list's)",
    )
    src.add_argument(
        "--margin",
        type=float,
        default=None,
        help="fragile-bit margin (default: the model's / the list's)",
    )
    add_batch_options(src)
    add_max_pixels(src)
    add_no_progress(src)


def add_image_model_arguments_suppressed(p: argparse.ArgumentParser) -> None:
    """The same flags without defaults (argparse.SUPPRESS): `nhkit match` re-parses the options
    that follow its INPUTs with them, so only flags actually given override the first parse."""
    for a in ("--model", "--seed", "--bundle", "--orientation"):
        p.add_argument(a, default=argparse.SUPPRESS)
    p.add_argument("--margin", type=float, default=argparse.SUPPRESS)
    for a in ("--batch", "--workers", "--threads", "--max-pixels"):
        p.add_argument(a, type=int, default=argparse.SUPPRESS)
    p.add_argument("--no-progress", action="store_true", default=argparse.SUPPRESS)
