"""`nhkit hash` and `nhkit distance`."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from .cli_model_args import add_batch_options, add_max_pixels, add_model_source, add_no_progress
from .errors import NhkitError
from .hashing import hamming
from .spec import DEFAULT_MAX_PIXELS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "hash",
        help="hash images (default model unless --model/--bundle)",
        description="Hash images under nh-spec-v1. Bad files are reported with "
        "their reason while the others are still hashed; the exit code is 1 if "
        "any input failed.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (with -r)")
    p.add_argument("-r", "--recursive", action="store_true", help="hash images inside folders")
    add_model_source(p, bundle_help="an nhkit device bundle folder or zip (TFLite or Core ML)")
    p.add_argument(
        "--orientation",
        choices=("apply", "ignore"),
        default=None,
        help="EXIF orientation policy (default: apply, or the bundle's own policy with "
        "--bundle; nnhash.py ignores it)",
    )
    p.add_argument(
        "--format",
        choices=("text", "json", "csv"),
        default="text",
        help="text: 'HASH  PATH'; json: one JSON object per line with projections; csv",
    )
    p.add_argument(
        "--margin",
        type=float,
        default=None,
        help="fragile-bit margin in projection units (default: the model's)",
    )
    add_batch_options(p)
    add_max_pixels(p)
    add_no_progress(p)
    dist = p.add_argument_group("many files: resumable Parquet output (docs/parquet-format.md)")
    dist.add_argument(
        "--out",
        help="write hashes to this Parquet folder (reruns skip files already in it and append)",
    )
    dist.add_argument(
        "--engine",
        choices=("local", "ray"),
        default=None,
        help="local: this process (default); ray: a Ray cluster (nhkit[ray])",
    )
    dist.add_argument("--address", help="Ray cluster address (default: a local cluster)")
    p.set_defaults(func=run_hash)

    d = sub.add_parser("distance", help="Hamming distance between two hashes")
    d.add_argument("a", metavar="HEX")
    d.add_argument("b", metavar="HEX")
    d.set_defaults(func=run_distance)


def make_hasher(args: argparse.Namespace) -> Any:
    """Build the Hasher the flags ask for (shared by hash, golden create and selftest)."""
    from .hasher import Hasher

    common = dict(
        orientation=args.orientation,
        fragile_margin=args.margin,
        threads=getattr(args, "threads", None),
    )
    max_pixels = getattr(args, "max_pixels", DEFAULT_MAX_PIXELS)
    if getattr(args, "bundle", None):
        if args.model or args.seed:
            raise NhkitError("--bundle carries its own model and seed; drop --model/--seed")
        from .bundle_backend import hasher_for_bundle

        return hasher_for_bundle(args.bundle, max_pixels=max_pixels, **common)
    if args.seed and not args.model:
        raise NhkitError("--seed goes with --model (the default model has its own seed)")
    common["orientation"] = common["orientation"] or "apply"
    return Hasher.from_onnx(args.model, args.seed, max_pixels=max_pixels, **common)


def run_hash(args: argparse.Namespace) -> int:
    from .hasher import collect_images
    from .progress import Progress

    if args.batch < 1 or args.workers < 1:
        raise NhkitError("--batch and --workers must be at least 1")
    if args.out or args.engine or args.address:
        from nhkit.dist.cli import run_dist  # pyarrow (and Ray) only when asked for

        return run_dist(args)
    hasher = make_hasher(args)
    files, problems = collect_images(args.paths, recursive=args.recursive)
    out = sys.stdout
    writer = csv.writer(out) if args.format == "csv" else None
    if writer:
        writer.writerow(["path", "hash", "fragile_bits", "min_margin", "error"])
    failures = 0

    def report_error(path: str, reason: str) -> None:
        nonlocal failures
        failures += 1
        print(f"nhkit hash: {path}: {reason}", file=sys.stderr)
        if args.format == "json":
            print(json.dumps({"path": path, "error": reason}), file=out)
        elif writer:
            writer.writerow([path, "", "", "", reason])

    for path, reason in problems:
        report_error(path, reason)
    bar = Progress(len(files), "hashing", enabled=False if args.no_progress else None)
    try:
        for path, result in hasher.hash_files(
            files, batch_size=args.batch, workers=args.workers, progress=bar.update
        ):
            if isinstance(result, NhkitError):
                reason = getattr(result, "reason", None) or str(result)
                report_error(path, reason)
                continue
            if args.format == "text":
                print(f"{result.hex}  {path}", file=out)
            elif args.format == "json":
                print(json.dumps(result.to_json()), file=out)
            else:
                assert writer is not None
                writer.writerow(
                    [path, result.hex, result.fragile_count, f"{result.min_margin:.6g}", ""]
                )
    finally:
        bar.close()
    if failures:
        print(
            f"nhkit hash: {len(files) + len(problems) - failures} hashed, {failures} failed",
            file=sys.stderr,
        )
    return 1 if failures else 0


def run_distance(args: argparse.Namespace) -> int:
    try:
        print(hamming(args.a, args.b))
    except ValueError as exc:
        raise NhkitError(str(exc)) from None
    return 0
