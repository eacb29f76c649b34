"""`nhkit golden check`: judge a device report against golden hashes, stage by stage.

The rule (after PDQ's "identical bytes" rule, nh-spec-v1 "The same"):

- `device`: a case the device reported as failed fails.
- `decode`, `resize`, `normalise` (lossless cases with reference digests): the stage digests
  must be equal. These steps are integer or exactly specified float code, so any difference is a
  bridge bug, and the first differing digest says which step has it.
- `project`: the device's projections must be the seed times its own embedding (exactly, when
  the seed is known) and its hash the signs of its projections: steps 6-7 are exact functions.
- `model` (lossless): the hash is within `hamming` bits of the reference, and at most
  `nonfragile_flips` of the flipped bits lie outside the fragile mask. Model drift on fp16 or
  int8 hardware flips bits whose projection is close to zero; a flip far from zero means the
  model computes something else.
- `lossy` (JPEG and the like, decoded by the platform): only the end-to-end hash distance
  counts, within the looser `lossy_hamming`.
- decode cases (the bundle's mode sampler, judged with `--bundle`): `device` (decoded at all),
  then `decode`: oriented size, orientation and `decoded` digest exactly the reference's; a
  failure names the stored mode.

A malformed report (or one for another bundle, model or spec) raises InputFileError: it is
never a pass and never a mere failed case. This module judges; check_render.py turns the
verdicts into text, JUnit XML and Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .compare import Tolerance, judge
from .errors import InputFileError
from .golden import GoldenImage, GoldenSet
from .hashing import bits_from_projections, hex_to_bits, project
from .report import DecodeCaseResult, DeviceReport, ReportCase

STAGES: tuple[str, ...] = ("device", "decode", "resize", "normalise", "project", "model", "lossy")
PRE_MODEL: tuple[tuple[str, str], ...] = (
    ("decode", "decoded"),
    ("resize", "resized"),
    ("normalise", "tensor"),
)


@dataclass(frozen=True)
class FlippedBit:
    """A bit where the device hash differs from the reference, with how close it was."""

    index: int
    reference: float  # reference projection
    device: float | None  # device projection (None if the device sent none)
    fragile: bool  # inside the reference fragile mask

    @property
    def margin(self) -> float:
        return abs(self.reference)

    def short(self) -> str:
        return f"{self.index}({self.margin:.3g}){'' if self.fragile else '*'}"


@dataclass
class CaseVerdict:
    """The outcome for one case: which stages held, and the first that did not."""

    id: str
    lossless: bool
    stages: dict[str, str] = field(default_factory=dict)  # stage -> exact|differs|pass|FAIL|...
    failed_stage: str | None = None
    reason: str = ""
    hamming: int | None = None
    allowed: int = 0
    flipped: list[FlippedBit] = field(default_factory=list)
    nonfragile: int = 0
    embedding_error: float | None = None
    time_ms: float = 0.0
    mode: str | None = None  # decode cases (mode sampler): the stored mode they stand for

    @property
    def kind(self) -> str:
        """`lossless`, `lossy`, or `mode` for a decode case (decode only, no model run)."""
        return "mode" if self.mode is not None else ("lossless" if self.lossless else "lossy")

    @property
    def passed(self) -> bool:
        return self.failed_stage is None

    def fail(self, stage: str, reason: str) -> None:
        """Record a failure. The first failing stage is the one reported, with its reason:
        later stages fed by a broken one fail as a consequence and are only listed."""
        self.stages[stage] = "FAIL"
        if self.failed_stage is None:
            self.failed_stage, self.reason = stage, reason

    @property
    def also_failed(self) -> list[str]:
        return [s for s, r in self.stages.items() if r == "FAIL" and s != self.failed_stage]

    def explanation(self) -> str:
        """The reason, plus which later stages failed too."""
        also = self.also_failed
        return self.reason + (f" (also failed: {', '.join(also)})" if also else "")


@dataclass
class CheckResult:
    """All verdicts plus what they were judged against (for the table, JUnit and Markdown)."""

    report: DeviceReport
    golden: GoldenSet
    expected_label: str
    tolerance: Tolerance
    verdicts: list[CaseVerdict]
    notes: list[str] = field(default_factory=list)
    project_checked_with_seed: bool = False
    decode_verdicts: list[CaseVerdict] = field(default_factory=list)  # the mode sampler

    @property
    def all_verdicts(self) -> list[CaseVerdict]:
        """The cases, then the decode cases: what the table, JUnit and Markdown list."""
        return self.verdicts + self.decode_verdicts

    @property
    def passed(self) -> int:
        return sum(v.passed for v in self.all_verdicts)

    @property
    def failed(self) -> int:
        return len(self.all_verdicts) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def closing_line(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"


# ----- identity: is this report about what we are checking it against? -------------------------


def _match_report(
    report: DeviceReport,
    golden: GoldenSet,
    *,
    bundle_id: str | None,
    manifest_sha256: str | None,
    expected_label: str,
) -> None:
    """Refuse reports for another spec, bundle or model, and any id mismatch, naming the field."""
    src = report.source
    if not report.spec.hash_compatible(golden.spec):
        mine, theirs = report.spec.to_json(), golden.spec.to_json()
        diff = [k for k in mine if k != "fragile_margin" and mine[k] != theirs[k]]
        k = diff[0] if diff else "?"
        raise InputFileError(
            src,
            f"spec.{k}: the report was made with {k} = {mine.get(k)!r} "
            f"but {expected_label} uses {theirs.get(k)!r}; hashes made under "
            "different spec parameters do not compare",
        )
    if bundle_id is not None and report.bundle.bundle_id != bundle_id:
        raise InputFileError(
            src,
            f"bundle.bundle_id: the report is for bundle "
            f"{report.bundle.bundle_id!r}, not {bundle_id!r} ({expected_label})",
        )
    if manifest_sha256 is not None and report.bundle.manifest_sha256 != manifest_sha256:
        raise InputFileError(
            src,
            "bundle.manifest_sha256: "
            f"{report.bundle.manifest_sha256[:12]}... "
            f"is not the sha256 of {expected_label}'s manifest.json "
            f"({manifest_sha256[:12]}...): the report was made with another "
            "build of this bundle",
        )
    fp_report, fp_golden = report.bundle.source_model_fingerprint, golden.model.fingerprint
    if fp_report and fp_golden and fp_report != fp_golden:
        raise InputFileError(
            src,
            f"bundle.source_model_fingerprint: the report's bundle was "
            f"exported from model {fp_report[:12]}..., but {expected_label} "
            f"holds hashes of model {fp_golden[:12]}...",
        )
    known = golden.by_id
    problems: list[str] = []
    for i, case in enumerate(report.cases):
        if case.id not in known:
            problems.append(
                f"cases[{i}].id: unknown id {case.id!r}: not a case of {expected_label}"
            )
    reported = {c.id for c in report.cases}
    missing = [im.id for im in golden.images if im.id not in reported]
    if missing:
        problems.append(
            f"cases: missing {len(missing)} case(s) of {expected_label}: "
            f"{', '.join(repr(m) for m in missing[:10])}"
            f"{' ...' if len(missing) > 10 else ''} (every case must appear once)"
        )
    if problems:
        from .jsonfile import raise_problems

        raise_problems(src, problems)


# ----- one case -------------------------------------------------------------------------------


def _judge(
    case: ReportCase, ref: GoldenImage, tol: Tolerance, seed: np.ndarray | None
) -> CaseVerdict:
    v = CaseVerdict(
        id=case.id,
        lossless=ref.lossless,
        allowed=tol.hamming if ref.lossless else tol.lossy_hamming,
        time_ms=float(sum(case.timings_ms.values())),
    )
    if case.error is not None:
        v.fail("device", f"the device reported an error: {case.error}")
        return v
    v.stages["device"] = "ok"
    if case.hash is None or case.projections is None or case.digests is None:
        # parse_report guarantees these; only a hand-built ReportCase can get here
        raise ValueError(
            f"case {case.id!r}: no error, so digests, projections and hash are required"
        )

    # Stages 1-4: exact digests, lossless only.
    previous = "device"
    for stage, attr in PRE_MODEL:
        prev_stage, before, previous = previous, v.stages.get(previous), stage
        if not ref.lossless:
            v.stages[stage] = "lossy"
        elif ref.digests is None:
            v.stages[stage] = "unchecked"
        elif getattr(case.digests, attr) == getattr(ref.digests, attr):
            v.stages[stage] = "exact"
        else:
            msg = (
                f"{attr} digest differs: device {getattr(case.digests, attr)[:12]}..., "
                f"reference {getattr(ref.digests, attr)[:12]}..."
            )
            if stage == "decode" and case.orientation not in (None, ref.orientation):
                msg += (
                    f" (the device applied EXIF orientation {case.orientation}, the "
                    f"reference {ref.orientation})"
                )
            elif stage != "decode" and before == "exact":
                msg += f" ({prev_stage} was equal: the divergence starts at {stage})"
            v.fail(stage, msg)

    # Stages 6-7: projections from the embedding, bits from the projections.
    dev_bits = hex_to_bits(case.hash)
    sign_bits = bits_from_projections(case.projections)
    bad_sign = np.flatnonzero(sign_bits != dev_bits)
    if seed is not None and case.embedding is not None:
        want = project(seed, case.embedding)
        bad_proj = np.flatnonzero(want.view(np.uint64) != case.projections.view(np.uint64))
    else:
        bad_proj = np.array([], dtype=np.int64)
    if bad_proj.size:
        i = int(bad_proj[0])
        v.fail(
            "project",
            f"{bad_proj.size} projection(s) are not seed x embedding in index "
            f"order (first at {i}: device {case.projections[i]!r}, expected "
            f"{want[i]!r})",
        )
    elif bad_sign.size:
        v.fail(
            "project",
            f"the hash is not the signs of the projections (bits "
            f"{', '.join(map(str, bad_sign[:8]))}); bit i is 1 iff p[i] >= 0",
        )
    else:
        v.stages["project"] = (
            "exact" if seed is not None and case.embedding is not None else "consistent"
        )

    # Stage 5 (model) / end to end (lossy): Hamming distance against the reference.
    verdict = judge(
        hex_to_bits(ref.hash), dev_bits, ref.fragile, lossless=ref.lossless, tolerance=tol
    )
    v.hamming = verdict.hamming
    v.flipped = [
        FlippedBit(i, float(ref.projections[i]), float(case.projections[i]), bool(ref.fragile[i]))
        for i in verdict.flips.indices()
    ]
    v.nonfragile = verdict.nonfragile
    if ref.embedding is not None and case.embedding is not None:
        v.embedding_error = float(
            np.max(np.abs(case.embedding.astype(np.float64) - ref.embedding.astype(np.float64)))
        )
    stage = "model" if ref.lossless else "lossy"
    if verdict.over_hamming:
        nf = (
            f", {v.nonfragile} of them outside the fragile mask"
            if ref.lossless and v.nonfragile
            else ""
        )
        v.fail(stage, f"{v.hamming} bits differ from the reference{nf}, tolerance {v.allowed}")
    elif verdict.over_nonfragile:
        outside = verdict.flips.nonfragile_indices()
        v.fail(
            stage,
            f"{v.nonfragile} flipped bit(s) outside the fragile mask "
            f"({', '.join(map(str, outside))}), {tol.nonfragile_flips} allowed: "
            "the model output moved more than hardware rounding explains",
        )
    else:
        v.stages[stage] = "pass"
    return v


def _judge_decode(ref: dict[str, Any], got: DecodeCaseResult | None) -> CaseVerdict:
    """One mode sampler case: the device's decode of the file against the reference's."""
    v = CaseVerdict(id=ref["id"], lossless=True, mode=ref["mode"])
    what = f"mode {ref['mode']} ({ref['description']})"
    if got is None:
        v.fail("device", f"{what}: not in the report's decode_cases (the bridge did not run it)")
        return v
    if got.error is not None:
        v.fail("device", f"{what}: the device could not decode it: {got.error}")
        return v
    v.stages["device"] = "ok"
    wrong = []
    if got.orientation != ref["orientation"]:
        wrong.append(f"orientation {got.orientation}, reference {ref['orientation']}")
    if (got.width, got.height) != (ref["width"], ref["height"]):
        wrong.append(
            f"oriented size {got.width}x{got.height}, reference {ref['width']}x{ref['height']}"
        )
    if got.decoded != ref["decoded"]:
        wrong.append(
            f"decoded digest {(got.decoded or '-')[:12]}..., reference {ref['decoded'][:12]}..."
        )
    if wrong:
        note = (got.extra or {}).get("note")
        v.fail(
            "decode", f"{what}: " + "; ".join(wrong) + (f" (decoder note: {note})" if note else "")
        )
    else:
        v.stages["decode"] = "exact"
    return v


def _judge_decode_cases(
    report: DeviceReport, expected: list[dict[str, Any]], label: str
) -> list[CaseVerdict]:
    """Verdicts for the bundle's decode cases; a report id that is not one is an input error."""
    got = {d.id: d for d in report.decode_cases or []}
    known = {d["id"] for d in expected}
    unknown = [i for i in got if i not in known]
    if unknown:
        from .jsonfile import raise_problems

        raise_problems(
            report.source,
            [f"decode_cases: unknown id {i!r}: not a decode case of {label}" for i in unknown],
        )
    return [_judge_decode(ref, got.get(ref["id"])) for ref in expected]


def check_report(
    report: DeviceReport,
    golden: GoldenSet,
    *,
    expected_label: str | None = None,
    seed: np.ndarray | None = None,
    bundle_id: str | None = None,
    manifest_sha256: str | None = None,
    tolerance: Tolerance | None = None,
    hamming: int | None = None,
    lossy_hamming: int | None = None,
    ignore_fragile: bool = False,
    decode_cases: list[dict[str, Any]] | None = None,
) -> CheckResult:
    """Judge every case of `report` against `golden`.

    The tolerance is `tolerance` if given, else the golden set's rule for the report's target
    and compute unit; `hamming`, `lossy_hamming` and `ignore_fragile` then override single
    fields (command-line flags). `decode_cases` (a bundle's cases.json `decode_cases`) adds a
    verdict per mode sampler case. Raises InputFileError for a report that does not belong to
    `golden` (spec, bundle, model, ids)."""
    label = expected_label or Path(golden.source).name
    _match_report(
        report, golden, bundle_id=bundle_id, manifest_sha256=manifest_sha256, expected_label=label
    )
    tol = tolerance or golden.tolerance_for(
        report.target, report.compute_unit, report.bundle.bundle_id
    )
    overrides = []
    if hamming is not None:
        tol = replace(tol, hamming=hamming)
        overrides.append(f"--tolerance {hamming}")
    if lossy_hamming is not None:
        tol = replace(tol, lossy_hamming=lossy_hamming)
        overrides.append(f"--lossy-tolerance {lossy_hamming}")
    if ignore_fragile:
        tol = replace(tol, nonfragile_flips=None)
        overrides.append("--ignore-fragile")
    if overrides:
        tol = replace(tol, source=f"{tol.source}; overridden by {' '.join(overrides)}")
    refs = golden.by_id
    verdicts = [_judge(c, refs[c.id], tol, seed) for c in report.cases]
    order = {im.id: i for i, im in enumerate(golden.images)}
    verdicts.sort(key=lambda v: order[v.id])
    notes = []
    decode_verdicts = []
    if decode_cases is not None:
        decode_verdicts = _judge_decode_cases(report, decode_cases, label)
    elif report.decode_cases:
        notes.append(
            f"{len(report.decode_cases)} decode case(s) in the report not judged: "
            f"{label} has no mode sampler (check against --bundle)"
        )
    if not report.bundle.checksums_verified:
        notes.append("the bridge did not verify the bundle's file checksums")
    if seed is None:
        notes.append(
            "no seed given: the project stage checked only that the hash is the signs "
            "of the projections (check against --bundle to recompute them)"
        )
    if any(im.digests is None for im in golden.images if im.lossless):
        notes.append(
            "some lossless references have no stage digests: their pre-model stages "
            "were not checked"
        )
    return CheckResult(
        report=report,
        golden=golden,
        expected_label=label,
        tolerance=tol,
        verdicts=verdicts,
        notes=notes,
        project_checked_with_seed=seed is not None,
        decode_verdicts=decode_verdicts,
    )


def verdicts_json(result: CheckResult) -> list[dict[str, Any]]:
    """Machine-readable verdicts (used by calibrate and tests)."""
    return [
        {
            "id": v.id,
            "lossless": v.lossless,
            "passed": v.passed,
            "stage": v.failed_stage,
            "reason": v.explanation(),
            "hamming": v.hamming,
            "allowed": v.allowed,
            "nonfragile": v.nonfragile,
            "stages": dict(v.stages),
            "flipped": [
                {
                    "index": f.index,
                    "reference": f.reference,
                    "device": f.device,
                    "fragile": f.fragile,
                }
                for f in v.flipped
            ],
        }
        for v in result.verdicts
    ]
