"""The calibration report folder: report.json (schema runtime/schemas/calibration-report.v1),
report.md, threshold.json (the hash list's `threshold` object) and PNG plots; and the way a
report's threshold gets into a hash list (`list_threshold`, `apply_threshold`).

Why a folder written atomically: the report is evidence for a threshold that ships inside
lists (`report_sha256` pins it). A crash must leave the previous report or none, never a
report.json whose figures disagree with its plots or its threshold.json.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .atomic import write_bytes_atomic
from .errors import InputFileError, NhkitError
from .jsonfile import (
    check_format_header,
    json_bytes,
    raise_problems,
    read_json,
    schema_problems,
    write_json_atomic,
)

REPORT_SCHEMA = "calibration-report.v1.schema.json"
REPORT_FILES = ("report.json", "report.md", "threshold.json", "distances.png", "tpr.png")


def validate_report(obj: Any, source: str) -> None:
    from .calibration import REPORT_FORMAT, REPORT_VERSION

    check_format_header(obj, source, fmt=REPORT_FORMAT, version=REPORT_VERSION)
    raise_problems(source, schema_problems(obj, REPORT_SCHEMA))


def report_bytes(report: dict[str, Any]) -> bytes:
    """report.json exactly as written (so its sha256 can be taken before the write)."""
    return json_bytes(report)


# ----- markdown -----------------------------------------------------------------------------------


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def render_markdown(report: dict[str, Any], plots: list[str], plots_note: str | None) -> str:
    neg, rec = report["negatives"], report["recommended"]
    d = neg["distances"]
    L = ["# nhkit threshold calibration\n"]
    m = report["model"]
    L.append(
        f"Model `{m['name']}` (fingerprint `{(m['fingerprint'] or 'unknown')[:16]}`, seed "
        f"`{m['seed_sha256'][:16]}`). Command: `{report['command']}`\n"
    )
    if rec["problems"]:
        L.append("> **WARNING**\n>")
        for p in rec["problems"]:
            L.append(f"> - {p}")
        L.append(
            ">\n> "
            + (
                "Written anyway because --force was given."
                if rec["forced"]
                else "No threshold object was written for lists."
            )
        )
        L.append("")
    if rec.get("caveats"):
        L.append("> **CAVEAT**\n>")
        L += [f"> - {c}" for c in rec["caveats"]]
        L.append("")
    t = rec["threshold"]
    L.append(
        f"**Recommended threshold: {'none' if t is None else t}** (a hit is distance <= T; "
        f"criterion `{rec['criterion']}`, observed FPR {rec['fpr']:.3g} on "
        f"{rec['negative_pairs']} distinct pairs of {rec['negative_images']} images"
        + (f" and {rec['cross_pairs']} device-vs-server cross pairs" if rec["cross_pairs"] else "")
        + (
            f"; device drift p99 {rec['drift_p99']} bits uses {rec['margin_used'] * 100:.0f}% of it"
            if rec["margin_used"] is not None
            else ""
        )
        + ").\n"
    )
    L.append("## Distinct pairs (negatives)\n")
    L.append(
        f"{neg['images']} images, {neg['pairs']} pairs"
        + (f"; {len(neg['skipped'])} file(s) skipped" if neg["skipped"] else "")
        + ".\n"
    )
    L.append("| min | p0.1 | p1 | p5 | median | mean | max |")
    L.append("|---|---|---|---|---|---|---|")
    L.append(
        f"| {d['min']} | {d['p0_1']} | {d['p1']} | {d['p5']} | {d['median']} | "
        f"{d['mean']:.1f} | {d['max']} |\n"
    )
    low = [(k, c) for k, c in enumerate(d["histogram"]) if c][:8]
    L.append(
        "Exact counts at the lowest distances: " + ", ".join(f"{k}: {c}" for k, c in low) + ".\n"
    )
    L.append(
        "Closest pairs: "
        + "; ".join(f"{c['a']} ~ {c['b']} ({c['distance']})" for c in neg["closest"][:5])
        + ".\n"
    )
    L.append(
        "| criterion | threshold | false positives | observed FPR | pairs | 95% upper "
        "bound | note |"
    )
    L.append("|---|---|---|---|---|---|---|")
    for c in report["thresholds"]:
        L.append(
            f"| {c['criterion']} | {c['threshold']} | {c['false_positives']} | "
            f"{c['fpr']:.3g} | {c['pairs']} | {c['fpr_upper95']:.2g} | {c['note']} |"
        )
    L.append("")
    for s in neg["skipped"]:
        L.append(f"- skipped `{s['path']}`: {s['reason']}")
    if neg["skipped"]:
        L.append("")
    if report["bundles"]:
        L.append("## Device drift (bundles)\n")
        L.append(
            "| bundle | manifest drift mean / p95 / max | measured drift mean / p99 / max "
            "| drift p99 used | share of T | cross pairs min (server pairs min) "
            "| cross zero-FP T |"
        )
        L.append("|---|---|---|---|---|---|---|")
        for b in report["bundles"]:
            md = b["manifest_drift"]
            meas = b["measured"]
            mtxt = (
                f"{meas['drift']['mean']:.2f} / {meas['drift']['p99']} / "
                f"{meas['drift']['max']} ({meas['images']} images)"
                if meas
                else "not measured"
            )
            cross = b["cross"]
            ctxt = (
                f"{cross['distances']['min']} ({cross['server_min']})"
                if cross
                else f">= {b['cross_min_bound']} (bound)"
            )
            zt = cross["thresholds"][0]["threshold"] if cross else "-"
            share = f"{b['drift_p99'] / rec['threshold'] * 100:.0f}%" if rec["threshold"] else "-"
            L.append(
                f"| {b['bundle_id']} | {md['mean']:.2f} / {md['p95']} / {md['max']} | "
                f"{mtxt} | {b['drift_p99']} ({b['drift_p99_source'].split(' (')[0]}) | "
                f"{share} | {ctxt} | {zt} |"
            )
        L.append("")
    pos = report["positives"]
    if pos:
        crits = list(pos["thresholds"])
        L.append(f"## True-positive rate per edit ({pos['source']})\n")
        L.append(
            "Thresholds: "
            + ", ".join(f"`{c}` T = {pos['thresholds'][c]}" for c in crits)
            + ". Mirror images (hflip) are reported apart and left out of the mean.\n"
        )
        head = "| edit | pairs | median / max distance | " + " | ".join(f"TPR {c}" for c in crits)
        drift = any(e["tpr_after_drift"] for e in pos["edits"])
        if drift:
            head += " | " + " | ".join(f"TPR {c} after drift" for c in crits)
        L.append(head + " |")
        L.append("|---" * (3 + len(crits) * (2 if drift else 1)) + "|")
        for e in pos["edits"]:
            name = e["name"] + (" (mirror)" if e["group"] == "mirror" else "")
            row = (
                f"| {name} | {e['pairs']} | {e['distances']['median']} / "
                f"{e['distances']['max']} | " + " | ".join(_pct(e["tpr"][c]) for c in crits)
            )
            if drift:
                row += " | " + " | ".join(_pct((e["tpr_after_drift"] or {}).get(c)) for c in crits)
            L.append(row + " |")
        mean_row = "| **mean, everyday edits** | | | " + " | ".join(
            _pct(pos["everyday_mean_tpr"][c]) for c in crits
        )
        if drift:
            mean_row += " | " + " | ".join(
                _pct((pos["everyday_mean_tpr_after_drift"] or {}).get(c)) for c in crits
            )
        L.append(mean_row + " |")
        L.append("")
        if drift:
            L.append(
                "'after drift' = TPR at T - drift p99: the worst case (triangle inequality) "
                "for an edited photo hashed on a device and matched against a server "
                "list.\n"
            )
    if plots:
        L.append("## Plots\n")
        L.extend(f"![{p}]({p})" for p in plots)
        L.append("")
    if plots_note:
        L.append(f"Plots: {plots_note}\n")
    return "\n".join(L) + "\n"


# ----- plots ------------------------------------------------------------------------------------


def write_plots(report: dict[str, Any], folder: Path) -> tuple[list[str], str | None]:
    """distances.png (negatives vs positives) and tpr.png (TPR per edit vs threshold, with the
    FPR). matplotlib is an optional dependency (the export extra): without it, say so."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], "skipped: matplotlib is not installed (pip install 'nhkit[export]')"
    import numpy as np

    neg = np.asarray(report["negatives"]["distances"]["histogram"], dtype=float)
    x = np.arange(neg.size)
    pos = report["positives"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.bar(x, neg / neg.sum(), width=1.0, alpha=0.5, label=f"distinct pairs ({int(neg.sum())})")
    if pos:
        every = np.zeros_like(neg)
        for e in pos["edits"]:
            if e["group"] == "everyday":
                every += np.asarray(e["distances"]["histogram"], dtype=float)
        if every.sum():
            ax.bar(
                x,
                every / every.sum(),
                width=1.0,
                alpha=0.5,
                label=f"edited copies, everyday edits ({int(every.sum())})",
            )
    for b in report["bundles"]:
        if b["cross"]:
            c = np.asarray(b["cross"]["distances"]["histogram"], dtype=float)
            ax.step(x, c / c.sum(), where="mid", label=f"cross pairs {b['bundle_id']}")
    t = report["recommended"]["threshold"]
    if t is not None:
        ax.axvline(t + 0.5, color="k", ls="--", label=f"recommended T = {t}")
    ax.set_xlabel("Hamming distance (bits of 96)")
    ax.set_ylabel("share of pairs")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title("Distance distributions")
    fig.tight_layout()
    fig.savefig(folder / "distances.png", dpi=100)
    plt.close(fig)
    names = ["distances.png"]
    if pos:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for e in pos["edits"]:
            h = np.asarray(e["distances"]["histogram"], dtype=float)
            ax.plot(
                x,
                np.cumsum(h) / h.sum(),
                lw=1,
                ls=":" if e["group"] == "mirror" else "-",
                label=e["name"],
            )
        ax.plot(x, np.cumsum(neg) / neg.sum(), "k", lw=2, label="FPR (distinct pairs)")
        if t is not None:
            ax.axvline(t, color="k", ls="--")
        ax.set_xlim(0, 48)
        ax.set_xlabel("threshold T (hit: distance <= T)")
        ax.set_ylabel("true-positive rate / FPR")
        ax.legend(fontsize=6, ncol=3)
        ax.set_title("TPR per edit vs threshold")
        fig.tight_layout()
        fig.savefig(folder / "tpr.png", dpi=100)
        plt.close(fig)
        names.append("tpr.png")
    return names, None


# ----- the folder ---------------------------------------------------------------------------------


def threshold_object(report: dict[str, Any], sha: str) -> dict[str, Any] | None:
    fields = report.get("threshold")
    return None if fields is None else {**fields, "report_sha256": sha}


def write_report_folder(
    report: dict[str, Any], out: str | os.PathLike[str], *, plots: bool = True
) -> dict[str, Any]:
    """Write REPORT/ atomically: everything goes to a sibling temp folder, which then replaces
    REPORT in one rename. An existing REPORT is replaced only if it is a previous report (holds
    report.json) or empty, so a typo cannot delete a folder of photos. Returns a summary
    (files written, report sha256, plots note)."""
    dest = Path(out)
    if dest.exists():
        if not dest.is_dir():
            raise InputFileError(dest, "-o must name a folder (the report folder), this is a file")
        extra = sorted(p.name for p in dest.iterdir() if p.name not in REPORT_FILES)
        if extra:
            raise InputFileError(
                dest,
                f"exists and is not a calibration report (holds {extra[:3]}); choose a new folder",
            )
    validate_report(report, "report.json (about to be written)")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    except OSError as exc:
        raise InputFileError(dest, f"cannot create the report folder: {exc.strerror}") from None
    try:
        data = report_bytes(report)
        write_bytes_atomic(tmp / "report.json", data)
        sha = hashlib.sha256(data).hexdigest()
        names, note = write_plots(report, tmp) if plots else ([], "skipped (--no-plots)")
        (tmp / "report.md").write_text(render_markdown(report, names, note), encoding="utf-8")
        thr = threshold_object(report, sha)
        if thr is not None:
            write_json_atomic(tmp / "threshold.json", thr)
        os.chmod(tmp, 0o755)
        old = None
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
        os.replace(tmp, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputFileError(dest, f"cannot write the report: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {
        "files": ["report.json", "report.md"] + (["threshold.json"] if thr else []) + names,
        "report_sha256": sha,
        "plots_note": note,
        "threshold": thr,
    }


def load_report(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """A report folder (or its report.json), verified against the schema: (report, sha256)."""
    p = Path(path)
    f = p / "report.json" if p.is_dir() else p
    obj = read_json(f, what="calibration report")
    validate_report(obj, str(f))
    return obj, hashlib.sha256(f.read_bytes()).hexdigest()


def list_threshold(
    report: str | os.PathLike[str],
    *,
    fingerprint: str | None = None,
    seed_sha256: str | None = None,
) -> dict[str, Any]:
    """The `threshold` object for a hash-list manifest (docs/hashlist-format.md), from a report
    folder: recomputed from report.json and its sha256, not trusted from threshold.json.

    A threshold measured under one model or seed says nothing about another's hashes, so a
    mismatch is an error naming both. A report with no threshold (a conflict not forced, or
    distinct images sharing a hash) is an error: the format writes no unmeasured threshold."""
    obj, sha = load_report(report)
    src = os.fspath(report)
    m = obj["model"]
    if fingerprint and m["fingerprint"] and fingerprint != m["fingerprint"]:
        raise NhkitError(
            f"{src}: calibrated on model fingerprint {m['fingerprint']}, the list "
            f"holds hashes of model {fingerprint}"
        )
    if seed_sha256 and seed_sha256 != m["seed_sha256"]:
        raise NhkitError(
            f"{src}: calibrated with seed sha256 {m['seed_sha256']}, the list's "
            f"seed is {seed_sha256}"
        )
    thr = threshold_object(obj, sha)
    if thr is None:
        why = "; ".join(obj["recommended"]["problems"]) or "no threshold"
        raise NhkitError(f"{src}: the report recommends no threshold ({why})")
    return thr


def apply_threshold(
    report: str | os.PathLike[str], list_path: str | os.PathLike[str]
) -> dict[str, Any]:
    """Put a report's threshold into a hash list (folder and zip, atomically, through the list
    writer so the zip never goes stale). The list's model fingerprint and seed digest must be
    the report's. Returns the threshold object written."""
    from .hashlist import load, with_threshold

    hl = load(list_path)
    thr = list_threshold(
        report, fingerprint=hl.model["fingerprint"], seed_sha256=hl.model["seed_sha256"]
    )
    with_threshold(list_path, thr, list_path)
    return thr
