"""Rendering a golden check's verdicts (check.py judges): text for the terminal, JUnit XML for
CI, Markdown with a Hamming-distance histogram for artefacts and PR comments.

Every file is written atomically (runtime/atomic.py): CI reads these files, and a crash must not
leave half a JUnit file that parses as "no failures"."""

from __future__ import annotations

import html
import io
import os
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np

from . import decode_deviation
from .atomic import write_bytes_atomic, write_text_atomic
from .check import PRE_MODEL, STAGES, CaseVerdict, CheckResult

MD_FLIPS = 16  # flipped bits listed per case in Markdown (a broken case can flip 50)


# ----- text output ----------------------------------------------------------------------------


def _flips_text(v: CaseVerdict, limit: int = 8) -> str:
    shown = " ".join(f.short() for f in v.flipped[:limit])
    more = len(v.flipped) - limit
    return shown + (f" +{more} more" if more > 0 else "")


def stage_summary(result: CheckResult) -> list[str]:
    """Summary lines: per stage how many cases held, distances, what failed where."""
    vs = result.verdicts
    lines = []
    lossless = [v for v in vs if v.lossless and v.stages.get("device") == "ok"]
    parts = []
    for stage, _ in PRE_MODEL:
        judged = [v for v in lossless if v.stages.get(stage) in ("exact", "FAIL")]
        if judged:
            parts.append(f"{stage} {sum(v.stages[stage] == 'exact' for v in judged)}/{len(judged)}")
    if parts:
        lines.append("lossless digests equal: " + ", ".join(parts))
    ran = [v for v in vs if v.stages.get("device") == "ok"]
    if ran:
        ok = sum(v.stages.get("project") in ("exact", "consistent") for v in ran)
        how = (
            "seed x embedding recomputed"
            if result.project_checked_with_seed
            else "hash = signs of projections"
        )
        lines.append(f"project: {ok}/{len(ran)} exact ({how})")
    for kind, sel in (("model (lossless)", True), ("end to end (lossy)", False)):
        d = [v.hamming for v in ran if v.lossless == sel and v.hamming is not None]
        if d:
            exact = sum(x == 0 for x in d)
            lines.append(
                f"{kind}: max {max(d)} bits, mean {np.mean(d):.2f}, bit-exact {exact}/{len(d)}"
            )
    nf = sum(v.nonfragile for v in ran if v.lossless)
    if nf:
        lines.append(f"non-fragile flips on lossless cases: {nf}")
    errs = [v.embedding_error for v in ran if v.embedding_error is not None]
    if errs:
        lines.append(f"embedding: max |device - reference| {max(errs):.3g}")
    modes = result.decode_verdicts
    if modes:
        n_exact = sum(v.stages.get("decode") == "exact" for v in modes)
        line = f"decode modes (mode sampler): {n_exact}/{len(modes)} exact"
        bad = [f"{v.id} ({v.mode})" for v in modes if not v.passed]
        lines.append(line + (f"; differ: {', '.join(bad)}" if bad else ""))
    failed = Counter(v.failed_stage for v in result.all_verdicts if v.failed_stage)
    if failed:
        lines.append("failed at: " + ", ".join(f"{s} {failed[s]}" for s in STAGES if s in failed))
    return lines


def format_text(result: CheckResult) -> str:
    """The terminal output: header, per-case table, summary, closing line."""
    r = result.report
    out = [
        f"report:    {r.source}: {r.describe()}",
        f"bundle:    {r.bundle.bundle_id} (manifest {r.bundle.manifest_sha256[:12]}..., "
        f"checksums {'verified' if r.bundle.checksums_verified else 'NOT verified'})",
        f"expected:  {result.expected_label}",
        f"tolerance: {result.tolerance.describe()}",
        "",
    ]
    rows = [
        (
            "case",
            "kind",
            "result",
            "stage",
            "bits",
            "tol",
            "flipped bits: index(reference margin), * = outside the fragile mask",
        )
    ]
    shown = result.all_verdicts
    for v in shown:
        rows.append(
            (
                v.id,
                v.kind,
                "pass" if v.passed else "FAIL",
                v.failed_stage or "-",
                "-" if v.hamming is None else str(v.hamming),
                str(v.allowed),
                _flips_text(v),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    for n, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(6)] + [row[6]]
        out.append("  ".join(cells).rstrip())
        if n and not shown[n - 1].passed:
            out.append(" " * (widths[0] + 2) + shown[n - 1].explanation())
    out.append("")
    out.append("summary:")
    out += [f"  {line}" for line in stage_summary(result)]
    out += [f"  note: {n}" for n in result.notes]
    out += [f"  {line}" for line in decode_deviation.report_lines(r)]
    out.append(result.closing_line())
    return "\n".join(out) + "\n"


# ----- JUnit XML ------------------------------------------------------------------------------


def _write_xml(root: ET.Element, path: str | os.PathLike[str]) -> None:
    """Indented UTF-8 XML with a declaration, written atomically: CI must never pick up a
    half-written results file."""
    ET.indent(root)
    write_bytes_atomic(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def write_junit(result: CheckResult, path: str | os.PathLike[str]) -> None:
    """One <testcase> per case, so CI shows each image as a test with its failure reason."""
    suite_name = f"nhkit.golden.{result.report.bundle.bundle_id}"
    suites = ET.Element(
        "testsuites",
        name="nhkit golden check",
        tests=str(len(result.all_verdicts)),
        failures=str(result.failed),
        errors="0",
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=suite_name,
        tests=str(len(result.all_verdicts)),
        failures=str(result.failed),
        errors="0",
        skipped="0",
        time=f"{sum(v.time_ms for v in result.all_verdicts) / 1000:.3f}",
        timestamp=result.report.created,
    )
    props = ET.SubElement(suite, "properties")
    r = result.report
    for name, value in (
        ("device", r.describe()),
        ("expected", result.expected_label),
        ("tolerance", result.tolerance.describe()),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    for v in result.all_verdicts:
        tc = ET.SubElement(
            suite, "testcase", classname=suite_name, name=v.id, time=f"{v.time_ms / 1000:.3f}"
        )
        if not v.passed:
            fl = ET.SubElement(
                tc,
                "failure",
                message=f"{v.failed_stage}: {v.explanation()}",
                type=str(v.failed_stage),
            )
            fl.text = "\n".join(
                [
                    f"stages: {', '.join(f'{k}={s}' for k, s in v.stages.items())}",
                    f"hamming: {v.hamming} (tolerance {v.allowed})",
                ]
                + [
                    f"bit {f.index}: reference {f.reference:.6g}, device "
                    f"{'-' if f.device is None else f'{f.device:.6g}'}, "
                    f"{'fragile' if f.fragile else 'NOT fragile'}"
                    for f in v.flipped
                ]
            )
    _write_xml(suites, path)


def write_junit_error(message: str, path: str | os.PathLike[str]) -> None:
    """JUnit XML for a check that could not judge anything (malformed or foreign report): one
    <error> test, so CI shows the reason instead of a missing results file."""
    suites = ET.Element(
        "testsuites", name="nhkit golden check", tests="1", failures="0", errors="1"
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="nhkit.golden",
        tests="1",
        failures="0",
        errors="1",
        skipped="0",
        time="0",
    )
    tc = ET.SubElement(suite, "testcase", classname="nhkit.golden", name="report", time="0")
    ET.SubElement(tc, "error", message=message.splitlines()[0], type="InputError").text = message
    _write_xml(suites, path)


# ----- Markdown + histogram -------------------------------------------------------------------


def write_histogram(result: CheckResult, path: str | os.PathLike[str]) -> str | None:
    """Hamming-distance histogram as PNG; returns None when matplotlib is not installed (it is
    an optional extra: the check itself must work on the light runtime install)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    lossless = [v.hamming for v in result.verdicts if v.hamming is not None and v.lossless]
    lossy = [v.hamming for v in result.verdicts if v.hamming is not None and not v.lossless]
    top = max([*lossless, *lossy, result.tolerance.lossy_hamming, result.tolerance.hamming, 1])
    bins = [b - 0.5 for b in range(top + 2)]
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    ax.hist(
        [lossless, lossy],
        bins=bins,
        stacked=True,
        label=["lossless", "lossy"],
        color=["#3b75af", "#ef8636"],
    )
    ax.axvline(
        result.tolerance.hamming + 0.5,
        color="#3b75af",
        ls="--",
        lw=1,
        label=f"lossless tolerance {result.tolerance.hamming}",
    )
    ax.axvline(
        result.tolerance.lossy_hamming + 0.5,
        color="#ef8636",
        ls=":",
        lw=1,
        label=f"lossy tolerance {result.tolerance.lossy_hamming}",
    )
    ax.set_xlabel("Hamming distance to the reference hash (bits)")
    ax.set_ylabel("cases")
    ax.set_title(
        f"{result.report.bundle.bundle_id} on {result.report.platform.get('device_model')}"
        f" ({result.report.compute_unit})",
        fontsize=9,
    )
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(
        MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True)
    )  # AutoLocator, whole cases
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_bytes_atomic(path, buf.getvalue())
    return os.fspath(path)


def _md(text: str) -> str:
    return html.escape(text).replace("|", "\\|")


def write_markdown(
    result: CheckResult,
    path: str | os.PathLike[str],
    histogram: str | os.PathLike[str] | None = None,
) -> str | None:
    """A Markdown report (for CI artefacts and PR comments) with the histogram next to it.

    Returns the histogram path written, or None (then the report says why there is none)."""
    p = Path(path)
    hist_path = Path(histogram) if histogram else p.with_name(p.stem + "-hamming.png")
    written = write_histogram(result, hist_path)
    r = result.report
    lines = [
        f"# nhkit golden check: {'PASS' if result.ok else 'FAIL'}",
        "",
        "| | |",
        "|---|---|",
        f"| report | `{_md(r.source)}` |",
        f"| device | {_md(r.describe())} |",
        f"| bundle | `{_md(r.bundle.bundle_id)}` (manifest `{r.bundle.manifest_sha256[:16]}`, "
        f"checksums {'verified' if r.bundle.checksums_verified else '**not verified**'}) |",
        f"| expected | {_md(result.expected_label)} |",
        f"| tolerance | {_md(result.tolerance.describe())} |",
        "",
        "## Cases",
        "",
        "| case | kind | result | failed stage | bits | tolerance | decode | resize | "
        "normalise | project | flipped bits (reference projection → device) | reason |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in result.all_verdicts:
        flips = (
            "<br>".join(
                f"{f.index}: {f.reference:+.4g} → "
                f"{'?' if f.device is None else f'{f.device:+.4g}'}"
                f"{'' if f.fragile else ' **(not fragile)**'}"
                for f in v.flipped[:MD_FLIPS]
            )
            or "–"
        )
        if len(v.flipped) > MD_FLIPS:
            flips += f"<br>+{len(v.flipped) - MD_FLIPS} more"
        lines.append(
            f"| `{_md(v.id)}` | {v.kind} | "
            f"{'pass' if v.passed else '**FAIL**'} | {v.failed_stage or '–'} | "
            f"{'–' if v.hamming is None else v.hamming} | {v.allowed} | "
            + " | ".join(v.stages.get(s, "–") for s in ("decode", "resize", "normalise", "project"))
            + f" | {flips} | {_md(v.explanation()) or '–'} |"
        )
    lines += ["", "## Summary", ""] + [f"- {_md(s)}" for s in stage_summary(result)]
    lines += [f"- note: {_md(n)}" for n in result.notes]
    lines += ["", "## Hamming distances", ""]
    if written:
        rel = os.path.relpath(hist_path, p.parent)
        lines.append(f"![Hamming distance histogram]({rel})")
    else:
        counts = Counter(v.hamming for v in result.verdicts if v.hamming is not None)
        lines.append(
            "(histogram image skipped: matplotlib is not installed; "
            "`pip install matplotlib` to get it)"
        )
        lines += ["", "| bits | cases |", "|---|---|"]
        lines += [f"| {k} | {counts[k]} |" for k in sorted(counts)]
    lines += ["", f"**{result.closing_line()}**", ""]
    write_text_atomic(p, "\n".join(lines))
    return written
