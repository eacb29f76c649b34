"""`nhkit golden create|check|calibrate` and `nhkit selftest`.

Exit codes (all four): 0 success / every case passed, 1 at least one case failed (check) or
some self-test case errored (selftest), 2 bad input (malformed report or golden file, report for
another bundle, unreadable image), printed as one message naming the file and the field.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cli_model_args import add_batch_options, add_max_pixels, add_model_source
from .errors import NhkitError

if TYPE_CHECKING:
    from .check import CheckResult


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    g = sub.add_parser(
        "golden",
        help="golden hashes: create, check device reports, calibrate",
        description="Golden-hash regression: reference hashes with their "
        "projections and fragile bits, device self-test reports judged stage by "
        "stage, tolerances calibrated from real devices.",
    )
    gsub = g.add_subparsers(dest="golden_command", metavar="SUBCOMMAND")
    gsub.required = True

    c = gsub.add_parser(
        "create",
        help="hash images into a golden file",
        description="Hash IMAGES (with stage digests) into a golden file. Every "
        "image must hash: a bad file is an error, not a gap in the set.",
    )
    c.add_argument("paths", nargs="+", metavar="IMAGE", help="image files or folders (with -r)")
    c.add_argument("-o", "--output", required=True, help="golden file to write")
    c.add_argument("-r", "--recursive", action="store_true", help="take images inside folders")
    c.add_argument("--force", action="store_true", help="overwrite an existing golden file")
    add_model_source(c)
    c.add_argument(
        "--orientation",
        choices=("apply", "ignore"),
        default=None,
        help="EXIF orientation policy (default: the bundle's, else apply)",
    )
    c.add_argument(
        "--margin",
        type=float,
        default=None,
        help="fragile-bit margin in projection units (default: the model's)",
    )
    c.add_argument(
        "--id",
        dest="id_scheme",
        choices=("stem", "name", "path"),
        default="stem",
        help="image ids: file stem (default; matches bundle case ids), file name, "
        "or the path as given",
    )
    c.add_argument(
        "--tolerance",
        type=int,
        default=None,
        help="default lossless Hamming tolerance to record (default 2, or the bundle manifest's)",
    )
    c.add_argument(
        "--lossy-tolerance",
        type=int,
        default=None,
        help="default lossy Hamming tolerance to record (default 6, or the bundle manifest's)",
    )
    add_batch_options(c, order=("threads", "batch", "workers"))
    add_max_pixels(c, show_default=False)
    c.set_defaults(func=run_create)

    k = gsub.add_parser(
        "check",
        help="judge a device report stage by stage",
        description="Judge a device self-test report against a golden file or "
        "a bundle's self-test expectations: exact stage digests on lossless "
        "cases, the model stage within the Hamming tolerance with no flips "
        "outside the fragile mask, lossy cases within the lossy tolerance. "
        "Ends with 'N passed, N failed'; exit 1 if any case failed, 2 if the "
        "report is malformed or belongs to something else.",
    )
    k.add_argument("report", metavar="REPORT.json")
    which = k.add_mutually_exclusive_group(required=True)
    which.add_argument("--golden", metavar="G.json", help="golden file to check against")
    which.add_argument(
        "--bundle",
        metavar="B",
        help="bundle (folder or zip) whose selftest/cases.json holds the expected results",
    )
    k.add_argument(
        "--tolerance",
        type=int,
        default=None,
        metavar="K",
        help="lossless Hamming tolerance (overrides the golden file / manifest)",
    )
    k.add_argument(
        "--lossy-tolerance",
        type=int,
        default=None,
        metavar="K",
        help="lossy Hamming tolerance (overrides the golden file / manifest)",
    )
    k.add_argument(
        "--ignore-fragile",
        action="store_true",
        help="allow flips outside the fragile mask (judge by Hamming distance only)",
    )
    k.add_argument("--junit-xml", metavar="PATH", help="also write JUnit XML (one test per case)")
    k.add_argument(
        "--markdown",
        metavar="PATH",
        help="also write a Markdown report with a Hamming histogram PNG next to it",
    )
    k.add_argument(
        "--histogram",
        metavar="PATH",
        help="histogram PNG path (default: next to --markdown; needs matplotlib)",
    )
    k.set_defaults(func=run_check)

    cal = gsub.add_parser(
        "calibrate",
        help="recommend tolerances from reports and write them",
        description="From device reports (grouped by target, compute unit "
        "and bundle) and/or the drift nhkit export measured (--bundle), "
        "recommend tolerances (observed max + headroom) and write them into "
        "the golden file's tolerance.targets.",
    )
    cal.add_argument("golden", metavar="G.json")
    cal.add_argument("reports", nargs="*", metavar="REPORT.json")
    cal.add_argument(
        "--bundle",
        action="append",
        default=[],
        metavar="B",
        help="use this bundle's export verification (manifest drift); repeatable",
    )
    cal.add_argument(
        "--headroom",
        type=int,
        default=1,
        help="bits added to the largest observed distance (default 1)",
    )
    cal.add_argument(
        "--any-bundle",
        action="store_true",
        help="one rule per target and compute unit, whatever the bundle",
    )
    cal.add_argument("--dry-run", action="store_true", help="print, do not write")
    cal.set_defaults(func=run_calibrate)

    s = sub.add_parser(
        "selftest",
        help="run a bundle's self-test here, write a device report",
        description="Run every case of a bundle's selftest/cases.json through "
        "the reference pipeline with the bundle's model (the procedure the iOS "
        "and Android bridges port) and write a device report.",
    )
    s.add_argument("--bundle", required=True, metavar="B", help="bundle folder or zip")
    s.add_argument(
        "--backend",
        choices=("onnx", "tflite", "coreml"),
        default=None,
        help="executor (default: the bundle's target)",
    )
    s.add_argument("--threads", type=int, default=None, help="inference threads")
    s.add_argument("-o", "--output", required=True, help="report file to write")
    s.set_defaults(func=run_selftest)


# ----- create ---------------------------------------------------------------------------------


def run_create(args: argparse.Namespace) -> int:
    """`nhkit golden create`: refuses to overwrite (golden files are precious) unless --force."""
    from .cli_hash import make_hasher
    from .compare import Tolerance
    from .golden import (
        DEFAULT_TOLERANCE,
        create_golden,
        image_ids,
        model_info_for_onnx,
        write_golden,
    )
    from .hasher import collect_images

    out = Path(args.output)
    if out.exists() and not args.force:
        raise NhkitError(f"{out}: golden file exists; use --force to overwrite it")
    files, problems = collect_images(args.paths, recursive=args.recursive)
    if problems:
        raise NhkitError("\n".join(f"{p}: {why}" for p, why in problems))
    ids = image_ids(files, args.id_scheme)
    if args.orientation is None and not args.bundle:
        args.orientation = "apply"
    hasher = make_hasher(args)
    base = DEFAULT_TOLERANCE
    if args.bundle:
        from .bundle_expect import bundle_model_info

        model, manifest_tol = bundle_model_info(args.bundle, hasher)
        base = Tolerance(
            int(manifest_tol.get("hamming", base.hamming)),
            int(manifest_tol.get("lossy_hamming", base.lossy_hamming)),
            0,
        )
    else:
        model = model_info_for_onnx(args.model, hasher)
    tol = Tolerance(
        base.hamming if args.tolerance is None else args.tolerance,
        base.lossy_hamming if args.lossy_tolerance is None else args.lossy_tolerance,
        0,
    )
    golden = create_golden(
        hasher, files, ids, model, tolerance=tol, batch_size=args.batch, workers=args.workers
    )
    write_golden(golden, out)
    fragile = sum(int(im.fragile.sum()) for im in golden.images)
    print(
        f"{out}: {len(golden.images)} images, model {model.name or '?'}, "
        f"fragile margin {golden.spec.fragile_margin} ({fragile} fragile bits in all), "
        f"tolerance lossless {tol.hamming} / lossy {tol.lossy_hamming}"
    )
    return 0


# ----- check ----------------------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    """`nhkit golden check`: exit 0 all passed, 1 some case failed, 2 bad input."""
    for name in ("tolerance", "lossy_tolerance"):
        value = getattr(args, name)
        if value is not None and not 0 <= value <= 96:
            raise NhkitError(f"--{name.replace('_', '-')} must be between 0 and 96")
    try:
        result = _check(args)
    except NhkitError as exc:
        if args.junit_xml:  # CI should see why, not only a missing file
            from .check_render import write_junit_error

            write_junit_error(str(exc), args.junit_xml)
        raise
    return _print_check(args, result)


def _check(args: argparse.Namespace) -> CheckResult:
    """Load the report and what it is judged against (golden file or bundle), and judge it."""
    from .check import check_report
    from .report import load_report

    report = load_report(args.report)
    if args.golden:
        from .golden import load_golden

        golden = load_golden(args.golden)
        result = check_report(
            report,
            golden,
            expected_label=f"golden file {args.golden}",
            hamming=args.tolerance,
            lossy_hamming=args.lossy_tolerance,
            ignore_fragile=args.ignore_fragile,
        )
    else:
        from .bundle_expect import expected_from_bundle

        exp = expected_from_bundle(args.bundle)
        result = check_report(
            report,
            exp.golden,
            expected_label=exp.label,
            seed=exp.seed,
            bundle_id=exp.bundle_id,
            manifest_sha256=exp.manifest_sha256,
            tolerance=exp.tolerance,
            hamming=args.tolerance,
            lossy_hamming=args.lossy_tolerance,
            ignore_fragile=args.ignore_fragile,
            decode_cases=exp.decode_cases,
        )
    return result


def _print_check(args: argparse.Namespace, result: CheckResult) -> int:
    """Write the requested files, print the table; the closing line stays the last line."""
    from .check_render import format_text, write_junit, write_markdown

    if args.junit_xml:
        write_junit(result, args.junit_xml)
    extra = []
    if args.markdown:
        written = write_markdown(result, args.markdown, args.histogram)
        extra.append(f"markdown report: {args.markdown}")
        extra.append(
            f"histogram: {written}"
            if written
            else "histogram: skipped (matplotlib is not installed)"
        )
    elif args.histogram:
        from .check_render import write_histogram

        written = write_histogram(result, args.histogram)
        extra.append(
            f"histogram: {written}"
            if written
            else "histogram: skipped (matplotlib is not installed)"
        )
    if args.junit_xml:
        extra.append(f"junit xml: {args.junit_xml}")
    text = format_text(result)
    body, closing = text.rstrip("\n").rsplit("\n", 1)
    sys.stdout.write(body + "\n")
    for line in extra:
        sys.stdout.write(f"  {line}\n")
    sys.stdout.write(closing + "\n")
    return 0 if result.ok else 1


# ----- calibrate ------------------------------------------------------------------------------


def run_calibrate(args: argparse.Namespace) -> int:
    """`nhkit golden calibrate`: print the recommendations, then write them unless --dry-run."""
    from .calibrate import observe_manifest, observe_report, recommend
    from .golden import load_golden, write_golden
    from .report import load_report

    if not args.reports and not args.bundle:
        raise NhkitError("nothing to calibrate from: give device reports and/or --bundle B")
    golden = load_golden(args.golden)
    groups: dict[Any, Any] = {}
    for path in args.reports:
        observe_report(load_report(path), golden, groups, per_bundle=not args.any_bundle)
    for b in args.bundle:
        from .bundle_expect import read_manifest

        manifest, source = read_manifest(b)
        observe_manifest(manifest, source, golden, groups, per_bundle=not args.any_bundle)
    recs = recommend(groups, golden, headroom=args.headroom)
    for rec in recs:
        print(rec.line())
        for why in rec.group.excluded:
            print(f"  excluded (not drift, fix the bridge): {why}")
        if rec.rule.nonfragile_flips:
            print(
                f"  warning: {rec.rule.label()} flips bits outside the fragile mask; the "
                "recommendation allows it, but it usually means the model is not the same"
            )
    if args.dry_run:
        print(f"dry run: {args.golden} not changed")
        return 0
    for rec in recs:
        golden.set_rule(rec.rule)
    write_golden(golden, args.golden)
    print(f"{args.golden}: wrote {len(recs)} tolerance rule(s)")
    return 0


# ----- selftest -------------------------------------------------------------------------------


def run_selftest(args: argparse.Namespace) -> int:
    """`nhkit selftest`: exit 1 when a case errored (the report is still written)."""
    from .report import write_report
    from .selftest import run_bundle_selftest

    report = run_bundle_selftest(args.bundle, backend=args.backend, threads=args.threads)
    write_report(report, args.output)
    decode = report.decode_cases or []
    failed = [c.id for c in report.cases if c.error] + [d.id for d in decode if d.error]
    for c in report.cases:
        status = f"error: {c.error}" if c.error else c.hash
        print(f"{c.id}: {status}")
    for d in decode:
        print(f"{d.id}: {f'error: {d.error}' if d.error else 'decoded ' + str(d.decoded)[:12]}")
    modes = f" + {len(decode)} decode cases" if decode else ""
    print(
        f"{os.fspath(args.output)}: {len(report.cases)} cases{modes}, {len(failed)} errors "
        f"({report.describe()})"
    )
    return 1 if failed else 0
