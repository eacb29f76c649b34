"""`nhkit match --list LIST INPUT...` (find every listed image within T bits of each input) and
`nhkit match calibrate ...` (dispatched to nhkit.runtime.cli_calibrate when installed).

One output row per (query, hit): query path, query hash, entry id, label, distance, and the
distance counted on bits neither side marks fragile. Bad inputs are reported and skipped as in
`nhkit hash` (exit code 1); a broken list, another model, or a threshold outside 0..96 is an
error (exit code 2)."""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import sys
from typing import Any

from .errors import NhkitError

CALIBRATE_MODULE = "nhkit.runtime.cli_calibrate"


def _add_match_options(p: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """The options of `nhkit match` (added twice: for --help, and to re-parse options that
    follow the INPUTs, which argparse.REMAINDER leaves unparsed)."""
    from .cli_model_args import add_image_model_arguments, add_image_model_arguments_suppressed
    from .match import BACKENDS

    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    p.add_argument(
        "--list", "-l", dest="list", default=d(None), metavar="LIST", help="hash list folder or zip"
    )
    p.add_argument(
        "--threshold",
        "-t",
        type=int,
        default=d(None),
        metavar="T",
        help="hits are entries within T bits (0..96; default: the list's recommended threshold)",
    )
    p.add_argument("--format", choices=("text", "json", "csv"), default=d("text"))
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=d("auto"),
        help="search backend; all are exact (default: auto)",
    )
    p.add_argument(
        "--all", action="store_true", default=d(False), help="also list queries with no hit"
    )
    p.add_argument(
        "-r",
        "--recursive",
        action="store_true",
        default=d(False),
        help="read images inside folders",
    )
    if suppress:
        add_image_model_arguments_suppressed(p)
    else:
        add_image_model_arguments(p)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "match",
        help="find listed images within T bits of new images or hashes",
        description="Match images or hash files against a hash list. One row per (query, hit): "
        "query, query hash, entry id, label, distance, non-fragile distance. "
        "`nhkit match calibrate ...` measures the threshold a list should recommend.",
        usage="nhkit match --list LIST [--threshold T] [--format text|json|csv] "
        "[--backend auto|numpy|mih|faiss] [--all] [-r] INPUT...\n"
        "       nhkit match calibrate ...",
    )
    _add_match_options(p)
    p.add_argument(
        "inputs",
        nargs=argparse.REMAINDER,
        metavar="INPUT",
        help="images, folders (with -r), .csv/.json/.jsonl/.parquet hash files; or "
        "'calibrate' followed by its options",
    )
    p.set_defaults(func=run_match)


def _run_calibrate(argv: list[str]) -> int:
    try:
        mod = importlib.import_module(CALIBRATE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != CALIBRATE_MODULE:
            raise
        raise NhkitError(
            "`nhkit match calibrate` is not installed in this build of nhkit "
            f"(module {CALIBRATE_MODULE} is missing)"
        ) from None
    parser = argparse.ArgumentParser(
        prog="nhkit match calibrate",
        description="Measure the threshold a hash list should "
        "recommend, with its false-positive rate.",
    )
    mod.add_calibrate_arguments(parser)
    return int(mod.run_calibrate(parser.parse_args(argv)) or 0)


def run_match(args: argparse.Namespace) -> int:
    rest = list(args.inputs)
    if rest and rest[0] == "calibrate":
        return _run_calibrate(rest[1:])
    late = argparse.ArgumentParser(prog="nhkit match", add_help=False)
    _add_match_options(late, suppress=True)
    late.add_argument("inputs", nargs="*")
    late.parse_args(rest, namespace=args)
    if not args.list:
        raise NhkitError("--list LIST is required (the hash list to match against)")
    if not args.inputs:
        raise NhkitError("no inputs: give images, folders (with -r) or hash files to match")
    return match_inputs(args)


def _hasher_for_list(args: argparse.Namespace, hl: Any) -> Any:
    """Hash images with the list's model: the flags' model, checked against the list."""
    from .cli_hash import make_hasher
    from .cli_hashlist import flags_given, hasher_identity

    if args.orientation is None and not args.bundle:
        args.orientation = hl.spec.orientation
    if args.margin is None:
        args.margin = hl.spec.fragile_margin
    hasher = make_hasher(args)
    ident = hasher_identity(hasher, args.model)
    what = (
        "--bundle"
        if args.bundle
        else (
            "--model/--seed"
            if flags_given(args)
            else "the default model (pass --model/--seed or --bundle)"
        )
    )
    hl.check_identity(ident, what)
    hl.check_spec(hasher.spec, what)
    return hasher


def match_inputs(args: argparse.Namespace) -> int:
    from .hashinput import hash_images, parquet_identity, read_hash_file, split_inputs
    from .hashlist import check_threshold, load
    from .progress import Progress

    hl = load(args.list)
    threshold = (
        check_threshold(args.threshold)
        if args.threshold is not None
        else hl._resolve_threshold(None)
    )
    images, hash_files, problems = split_inputs(args.inputs, recursive=args.recursive)
    failures = 0

    def fail(name: str, reason: str) -> None:
        nonlocal failures
        failures += 1
        print(f"nhkit match: {name}: {reason}", file=sys.stderr)

    for name, reason in problems:
        fail(name, reason)
    out = sys.stdout
    writer = csv.writer(out) if args.format == "csv" else None
    if writer:
        writer.writerow(["query", "query_hash", "id", "label", "distance", "nonfragile_distance"])

    def emit(batch: list[Any]) -> None:
        if not batch:
            return
        res = hl.search(batch, threshold, backend=args.backend)
        for q, rec in enumerate(batch):
            hits = res.hits(q)
            if not hits and args.all:
                _print_row(out, writer, args.format, rec.name, rec.hex, None, threshold)
            for h in hits:
                _print_row(out, writer, args.format, rec.name, rec.hex, h, threshold)

    class _Q:  # what HashList.search reads from a query: hex, fragile mask, name
        __slots__ = ("hex", "fragile", "name")

        def __init__(self, rec: Any) -> None:
            self.hex, self.name = rec.hex, rec.name
            self.fragile = rec.fragile_at(hl.spec.fragile_margin)

    for hf in hash_files:
        if hf.lower().endswith(".parquet"):
            try:
                ident = parquet_identity(hf)
                if ident.model is not None:
                    hl.check_identity(ident.model, hf)
            except NhkitError as exc:
                fail(hf, getattr(exc, "reason", str(exc)))
                continue
        batch = []
        for rec in read_hash_file(hf):
            if not rec.ok:
                fail(rec.origin, rec.error or "no hash")
                continue
            batch.append(_Q(rec))
            if len(batch) >= 4096:
                emit(batch)
                batch = []
        emit(batch)
    if images:
        hasher = _hasher_for_list(args, hl)
        bar = Progress(len(images), "hashing", enabled=False if args.no_progress else None)
        try:
            batch = []
            for rec in hash_images(
                hasher, images, batch_size=args.batch, workers=args.workers, progress=bar.update
            ):
                if not rec.ok:
                    fail(rec.origin, rec.error or "no hash")
                    continue
                batch.append(_Q(rec))
                if len(batch) >= 256:
                    emit(batch)
                    batch = []
            emit(batch)
        finally:
            bar.close()
    if failures:
        print(f"nhkit match: {failures} inputs failed (skipped)", file=sys.stderr)
    return 1 if failures else 0


def _print_row(
    out: Any, writer: Any, fmt: str, name: str, qhex: str, hit: Any, threshold: int
) -> None:
    if fmt == "json":
        row = {
            "query": name,
            "query_hash": qhex,
            "id": hit.id if hit else None,
            "label": hit.label if hit else None,
            "distance": hit.distance if hit else None,
            "nonfragile_distance": hit.nonfragile_distance if hit else None,
        }
        print(json.dumps(row, ensure_ascii=False), file=out)
    elif writer is not None:
        writer.writerow(
            [
                name,
                qhex,
                hit.id if hit else "",
                (hit.label or "") if hit else "",
                hit.distance if hit else "",
                hit.nonfragile_distance if hit else "",
            ]
        )
    elif hit is None:
        print(f"{name}\t{qhex}\t(no match within {threshold} bits)", file=out)
    else:
        label = f" [{hit.label}]" if hit.label else ""
        print(
            f"{name}\t{qhex}\t{hit.id}{label}\tdistance {hit.distance} (non-fragile "
            f"{hit.nonfragile_distance})",
            file=out,
        )
