"""`nhkit golden calibrate`: recommend tolerances from what devices actually did.

A tolerance is a claim about hardware ("Core ML on the GPU flips at most 2 bits of this model,
all of them fragile"), so it should come from measurements, be stored next to the hashes it
applies to, and say what it was measured on. This module turns device reports (or the drift
measured by `nhkit export`'s verification, recorded in each bundle manifest) into per target,
compute unit and bundle rules in the golden file.

The recommendation is deliberately simple and stated: the largest distance observed plus a
headroom (default 1 bit), and as many non-fragile flips as were observed (normally 0); the lossy
tolerance is never set below the golden file's default lossy tolerance (a self-test has only a
few JPEG cases, too few to bound what other platform decoders do). Cases
that failed before the model (device errors, differing stage digests, inconsistent projections)
are bugs, not drift: they are excluded and reported, never absorbed into a wider tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .check import check_report
from .compare import Tolerance
from .errors import InputFileError, NhkitError
from .golden import ANY, GoldenSet, ToleranceRule
from .report import DeviceReport

NOT_DRIFT_STAGES = ("device", "decode", "resize", "normalise", "project")


@dataclass
class Group:
    """Everything observed for one (target, compute unit, bundle)."""

    target: str
    compute_unit: str
    bundle_id: str | None
    sources: list[str] = field(default_factory=list)
    devices: set[str] = field(default_factory=set)
    lossless: list[int] = field(default_factory=list)
    lossy: list[int] = field(default_factory=list)
    nonfragile: list[int] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    # From export verification: (max hamming, non-fragile flips) measured on the desktop.
    export_max: int | None = None
    export_nonfragile: int | None = None
    export_lossy: int | None = None

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.target, self.compute_unit, self.bundle_id)


@dataclass(frozen=True)
class Recommendation:
    rule: ToleranceRule
    group: Group
    previous: Tolerance

    def line(self) -> str:
        r, g = self.rule, self.group
        seen: list[str] = []
        if g.lossless:
            seen.append(f"lossless max {max(g.lossless)} over {len(g.lossless)} cases")
        if g.lossy:
            seen.append(f"lossy max {max(g.lossy)} over {len(g.lossy)} cases")
        if g.export_max is not None:
            seen.append(f"export verification max {g.export_max}")
        worst_nonfragile = max(g.nonfragile, default=0)
        if worst_nonfragile:
            seen.append(f"NON-FRAGILE flips up to {worst_nonfragile}")
        return (
            f"{r.label()}: hamming {r.hamming}, lossy {r.lossy_hamming}, non-fragile "
            f"{r.nonfragile_flips} (was {self.previous.hamming}/"
            f"{self.previous.lossy_hamming}/{self.previous.nonfragile_flips}); "
            f"observed: {'; '.join(seen) or 'nothing usable'}"
        )


def observe_report(
    report: DeviceReport, golden: GoldenSet, groups: dict[Any, Group], *, per_bundle: bool = True
) -> None:
    """Add one report's distances to its group (validating it against the golden set first:
    a report that would be rejected by `check` is rejected here too)."""
    result = check_report(report, golden, tolerance=Tolerance(96, 96, None, "calibration"))
    bundle = report.bundle.bundle_id if per_bundle else None
    key = (report.target, report.compute_unit, bundle)
    g = groups.setdefault(key, Group(*key))
    g.sources.append(report.source)
    g.devices.add(
        f"{report.platform.get('device_model')} ({report.platform.get('os')} "
        f"{report.platform.get('os_version')})"
    )
    for v in result.verdicts:
        if v.failed_stage in NOT_DRIFT_STAGES:
            g.excluded.append(f"{report.source}: {v.id}: {v.failed_stage}: {v.reason}")
            continue
        assert v.hamming is not None
        if v.lossless:
            g.lossless.append(v.hamming)
            g.nonfragile.append(v.nonfragile)
        else:
            g.lossy.append(v.hamming)


def observe_manifest(
    manifest: dict[str, Any],
    manifest_source: str,
    golden: GoldenSet,
    groups: dict[Any, Group],
    *,
    per_bundle: bool = True,
) -> None:
    """Use the drift `nhkit export` measured (manifest 'drift') as a calibration source.

    The export ran the variant on the build machine, so the compute unit is unknown ('*')."""
    src = manifest_source
    drift = manifest.get("drift")
    if not isinstance(drift, dict) or not isinstance(drift.get("hamming"), dict):
        raise InputFileError(
            src, "drift: the manifest has no drift measurement (drift.hamming) to calibrate from"
        )
    fp = (manifest.get("source_model") or {}).get("fingerprint")
    if fp and golden.model.fingerprint and fp != golden.model.fingerprint:
        raise InputFileError(
            src,
            f"source_model.fingerprint: the bundle was exported from model "
            f"{str(fp)[:12]}..., the golden set holds model "
            f"{golden.model.fingerprint[:12]}...",
        )
    hmax = drift["hamming"].get("max")
    if not isinstance(hmax, int) or isinstance(hmax, bool) or hmax < 0:
        raise InputFileError(
            src, f"drift.hamming.max: expected a non-negative integer, got {hmax!r}"
        )
    nf = drift.get("nonfragile_flips", 0)
    target = str(manifest.get("target") or ANY)
    bundle = manifest.get("bundle_id") if per_bundle else None
    key = (target, ANY, bundle)
    g = groups.setdefault(key, Group(*key))
    g.sources.append(src)
    g.devices.add("export verification")
    g.export_max = max(hmax, g.export_max or 0)
    g.export_nonfragile = max(int(nf) if isinstance(nf, int) else 0, g.export_nonfragile or 0)
    lossy = (manifest.get("tolerance") or {}).get("lossy_hamming")
    if isinstance(lossy, int) and not isinstance(lossy, bool):
        g.export_lossy = lossy


def recommend(
    groups: dict[Any, Group], golden: GoldenSet, *, headroom: int = 1
) -> list[Recommendation]:
    """One rule per group: observed max + headroom (capped at 96); lossy never below lossless."""
    if headroom < 0:
        raise NhkitError("--headroom must be >= 0")
    out = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2] or "")):
        g = groups[key]
        previous = golden.tolerance_for(g.target, g.compute_unit, g.bundle_id)
        lossless_obs = [*g.lossless, *([g.export_max] if g.export_max is not None else [])]
        hamming = min(96, max(lossless_obs) + headroom) if lossless_obs else previous.hamming
        if g.lossy:
            lossy = min(96, max(g.lossy) + headroom)
        elif g.export_lossy is not None:
            lossy = g.export_lossy
        else:
            lossy = previous.lossy_hamming
        # A self-test carries only a few lossy cases, and other decoders may go further than
        # the ones observed: calibration never sets lossy below the file's default.
        lossy = max(lossy, hamming, golden.tolerance.lossy_hamming)
        nf_obs = [*g.nonfragile, *([g.export_nonfragile] if g.export_nonfragile else [])]
        nonfragile = max(nf_obs) if nf_obs else (previous.nonfragile_flips or 0)
        calibration: dict[str, Any] = {
            "method": f"observed max + {headroom} bit(s) headroom; lossy >= the file default",
            "sources": sorted(set(g.sources)),
            "devices": sorted(g.devices),
            "lossless_cases": len(g.lossless),
            "lossy_cases": len(g.lossy),
            "max_hamming": max(g.lossless) if g.lossless else None,
            "mean_hamming": round(float(np.mean(g.lossless)), 4) if g.lossless else None,
            "max_lossy_hamming": max(g.lossy) if g.lossy else None,
            "max_nonfragile_flips": max(g.nonfragile) if g.nonfragile else None,
            "excluded_cases": len(g.excluded),
        }
        if g.export_max is not None:
            calibration["export_verification_max_hamming"] = g.export_max
        rule = ToleranceRule(
            target=g.target,
            compute_unit=g.compute_unit,
            bundle_id=g.bundle_id,
            hamming=hamming,
            lossy_hamming=lossy,
            nonfragile_flips=nonfragile,
            calibration=calibration,
        )
        out.append(Recommendation(rule=rule, group=g, previous=previous))
    return out
