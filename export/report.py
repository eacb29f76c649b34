"""The export report: one Markdown table of every variant plus a Hamming histogram PNG each.

Why a report next to the bundles: the manifest carries the drift summary a device needs; people
deciding which variant to ship need the distribution (is a mean of 1.5 ten photos at 1 bit, or
one photo at 15?) and the sizes side by side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .verify import DriftResult


@dataclass
class VariantOutcome:
    """One exported variant, for the report and the CLI's verdict line."""

    bundle_id: str
    target: str
    variant: str
    description: str
    model_bytes: int
    bundle_bytes: int
    zip_bytes: int
    drift: DriftResult
    seconds: float

    @property
    def status(self) -> str:
        if self.drift.passed:
            return "PASS"
        return "OVER BUDGET (overridden)" if self.drift.overridden else "FAIL"

    def verdict(self) -> str:
        """The one line printed when a variant finishes."""
        b = self.drift.budget
        budget = f"budget {b.describe()}"
        why = f" ({'; '.join(self.drift.reasons)})" if self.drift.reasons else ""
        return (
            f"{self.status:<4} {self.bundle_id}: model {human_bytes(self.model_bytes)}, zip "
            f"{human_bytes(self.zip_bytes)}; {self.drift.summary()}; {budget}{why} "
            f"[{self.seconds:.1f}s]"
        )


def human_bytes(n: int) -> str:
    if n >= 1024**2:
        return f"{n / 1024**2:.2f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} B"


def histogram_png(outcome: VariantOutcome, path: Path) -> None:
    """Bar chart of per-image Hamming distances to the fp32 reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = outcome.drift.hamming
    top = max(int(h.max()) if h.size else 0, 4)
    counts = np.bincount(h, minlength=top + 1)
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    ax.bar(np.arange(top + 1), counts, color="#3b6ea5", width=0.8)
    b = outcome.drift.budget
    ax.axvline(b.mean, color="#d08c00", linestyle="--", label=f"mean budget {b.mean:g}")
    if b.max is not None:
        ax.axvline(b.max + 0.5, color="#b03030", linestyle=":", label=f"max budget {b.max}")
    ax.axvline(
        outcome.drift.mean,
        color="#333333",
        linestyle="-",
        label=f"measured mean {outcome.drift.mean:.2f}",
    )
    ax.set_xlabel("Hamming distance to fp32 onnxruntime reference (bits of 96)")
    ax.set_ylabel("images")
    ax.set_title(f"{outcome.bundle_id} ({outcome.status})", fontsize=10)
    ax.set_xticks(range(0, top + 1, max(1, (top + 1) // 12)))
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def write_report(folder: Path, outcomes: Sequence[VariantOutcome], context: dict[str, Any]) -> Path:
    """report.md plus hist-<bundle_id>.png per variant in `folder`; returns the .md path."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# nhkit export report: {context['model_name']}",
        "",
        f"- source model: `{context['model_path']}` (sha256 `{context['model_sha256']}`)",
        f"- model fingerprint: `{context['fingerprint']}`",
        f"- spec: {context['spec']}",
        f"- validation: {context['validation']}",
        f"- calibration (full int8): {context['calibration']}",
        "- reference: onnxruntime fp32; drift = Hamming distance of the 96-bit hash per image",
        f"- total wall time: {context['seconds']:.1f} s",
        "",
        "| bundle | status | model | zip | Hamming mean | p95 | p99 | max | bit-exact | "
        "non-fragile flips | max abs err | min cosine | budget |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        d, b = o.drift, o.drift.budget
        budget = b.describe()
        lines.append(
            f"| {o.bundle_id} | {o.status} | {human_bytes(o.model_bytes)} | "
            f"{human_bytes(o.zip_bytes)} | {d.mean:.3f} | {d.p95} | {d.p99} | {d.max} | "
            f"{d.bit_exact_rate:.0%} | {d.nonfragile_flips} | {d.max_abs_error:.3g} | "
            f"{d.cosine_min:.6f} | {budget} |"
        )
    lines += ["", "## Histograms", ""]
    for o in outcomes:
        name = f"hist-{o.bundle_id}.png"
        histogram_png(o, folder / name)
        reasons = f" Over budget: {'; '.join(o.drift.reasons)}." if o.drift.reasons else ""
        lines += [
            f"### {o.bundle_id}",
            "",
            f"{o.description}.{reasons}",
            "",
            f"![Hamming histogram of {o.bundle_id}]({name})",
            "",
        ]
    md = folder / "report.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    return md
