"""Device self-test reports (docs/device-report.md): read, validate, write.

A report is the contract between a device (the Swift and Java bridges, or `nhkit selftest`) and
`nhkit golden check`. Reading is strict on purpose: a report that is malformed, truncated or
made for another bundle must stop the check with a message naming the file and the field, so a
broken bridge can never look like a passing device.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .digest import StageDigests
from .errors import InputFileError
from .floathex import f32_to_hex, f64_to_hex, hex_to_f32, hex_to_f64
from .formats import KNOWN_FORMATS, REPORT_FORMAT, REPORT_VERSION
from .jsonfile import (
    check_format_header,
    raise_problems,
    read_json,
    schema_problems,
    write_json_atomic,
)
from .spec import Spec, SpecMismatchError

REPORT_SCHEMA = "device-report.v1.schema.json"
TIMING_STAGES: tuple[str, ...] = ("decode", "resize", "normalise", "model", "project")

# Runtime names a bridge may write -> the bundle target they execute. Used when a report does
# not carry the optional bundle.target, so calibrated tolerances can still be looked up.
RUNTIME_TARGETS = {
    "coreml": "coreml",
    "litert": "tflite",
    "tflite": "tflite",
    "tensorflow-lite": "tflite",
    "onnxruntime": "onnx",
    "onnx": "onnx",
}


@dataclass(frozen=True)
class BundleRef:
    """Which bundle build the device ran, and whether it checked the files' sha256."""

    bundle_id: str
    manifest_sha256: str
    checksums_verified: bool
    target: str | None = None
    source_model_fingerprint: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "bundle_id": self.bundle_id,
            "manifest_sha256": self.manifest_sha256,
            "checksums_verified": self.checksums_verified,
        }
        if self.target is not None:
            out["target"] = self.target
        if self.source_model_fingerprint is not None:
            out["source_model_fingerprint"] = self.source_model_fingerprint
        return out


@dataclass(frozen=True)
class ReportCase:
    """One self-test case as the device computed it. `error` set means it did not run through."""

    id: str
    digests: StageDigests | None = None
    embedding: np.ndarray | None = None  # float32 [128]
    projections: np.ndarray | None = None  # float64 [96]
    hash: str | None = None  # 24 lowercase hex digits
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    orientation: int | None = None
    extra: dict[str, Any] | None = None
    # Lossy cases: {samples_differing, max_abs_delta, bits_flipped} (runtime/decode_deviation.py).
    decode_deviation: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.digests is not None:
            out["digests"] = self.digests.to_json()
        if self.embedding is not None:
            out["embedding"] = f32_to_hex(self.embedding)
        if self.projections is not None:
            out["projections"] = f64_to_hex(self.projections)
        if self.hash is not None:
            out["hash"] = self.hash
        if self.orientation is not None:
            out["orientation"] = self.orientation
        if self.decode_deviation is not None:
            out["decode_deviation"] = self.decode_deviation
        if self.timings_ms:
            out["timings_ms"] = {k: round(float(v), 4) for k, v in self.timings_ms.items()}
        out["error"] = self.error
        if self.extra is not None:
            out["extra"] = self.extra
        return out


@dataclass(frozen=True)
class DecodeCaseResult:
    """One mode sampler case (cases.json `decode_cases`) as the device decoded it: spec steps
    1-2 only. `error` set means the device could not decode the file."""

    id: str
    decoded: str | None = None  # sha256 of the oriented RGB8 bytes
    orientation: int | None = None
    width: int | None = None  # oriented
    height: int | None = None
    error: str | None = None
    extra: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        for key in ("decoded", "orientation", "width", "height"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["error"] = self.error
        if self.extra is not None:
            out["extra"] = self.extra
        return out


@dataclass(frozen=True)
class DeviceReport:
    """A parsed, validated report. `source` is the file it came from (for messages)."""

    bridge: dict[str, str]
    platform: dict[str, str]
    runtime: dict[str, Any]
    bundle: BundleRef
    spec: Spec
    created: str
    cases: list[ReportCase]
    extra: dict[str, Any] | None = None
    source: str = "<report>"
    # The bundle's mode sampler results; None when the report has none (older bridges).
    decode_cases: list[DecodeCaseResult] | None = None

    @property
    def target(self) -> str:
        """The bundle target (tflite, coreml, onnx): from the report, else from the runtime."""
        if self.bundle.target:
            return self.bundle.target
        name = str(self.runtime.get("name", "")).lower()
        return RUNTIME_TARGETS.get(name, name)

    @property
    def compute_unit(self) -> str:
        return str(self.runtime.get("compute_unit", ""))

    def describe(self) -> str:
        """One line for headers: who ran it, where, on what."""
        b, p, r = self.bridge, self.platform, self.runtime
        threads = r.get("threads")
        t = f", {threads} threads" if threads else ""
        return (
            f"{b.get('name')} {b.get('version')} on {p.get('device_model')} "
            f"({p.get('os')} {p.get('os_version')}), {r.get('name')} {r.get('version')} "
            f"{r.get('compute_unit')}{t}"
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": REPORT_FORMAT,
            "format_version": REPORT_VERSION,
            "bridge": dict(self.bridge),
            "platform": dict(self.platform),
            "runtime": dict(self.runtime),
            "bundle": self.bundle.to_json(),
            "spec": self.spec.to_json(),
            "created": self.created,
            "cases": [c.to_json() for c in self.cases],
        }
        if self.decode_cases is not None:
            out["decode_cases"] = [d.to_json() for d in self.decode_cases]
        if self.extra is not None:
            out["extra"] = self.extra
        return out


def _nonfinite_problems(
    values: np.ndarray, texts: list[str], field_name: str, why: str
) -> list[str]:
    bad = np.flatnonzero(~np.isfinite(values))
    if not bad.size:
        return []
    i = int(bad[0])
    more = f" (and {bad.size - 1} more)" if bad.size > 1 else ""
    return [f"{field_name}[{i}]: {values[i]} ({texts[i]}){more}; {why}"]


def parse_report(obj: Any, source: str = "<report>") -> DeviceReport:
    """Validate a report object (already parsed JSON) and build a DeviceReport.

    Order of checks: what the file is, its schema, then what a schema cannot say (spec
    parameters, duplicate ids, non-finite floats); all problems of a stage are listed at once."""
    check_format_header(
        obj, source, fmt=REPORT_FORMAT, version=REPORT_VERSION, others=KNOWN_FORMATS
    )
    raise_problems(source, schema_problems(obj, REPORT_SCHEMA))
    try:
        spec = Spec.from_json(obj["spec"], source="spec")
    except SpecMismatchError as exc:
        raise InputFileError(source, str(exc)) from None

    problems: list[str] = []
    cases: list[ReportCase] = []
    first_seen: dict[str, int] = {}
    why = (
        "a case whose model or projection gave NaN or infinity must carry an 'error' "
        "instead (nh-spec-v1 section 6)"
    )
    for i, c in enumerate(obj["cases"]):
        where = f"cases[{i}]"
        cid = c["id"]
        if cid in first_seen:
            problems.append(f"{where}.id: duplicate id {cid!r} (first at cases[{first_seen[cid]}])")
        else:
            first_seen[cid] = i
        emb = proj = None
        if "embedding" in c:
            emb = hex_to_f32(c["embedding"], what=f"{where}.embedding")
            problems += _nonfinite_problems(emb, c["embedding"], f"{where}.embedding", why)
        if "projections" in c:
            proj = hex_to_f64(c["projections"], what=f"{where}.projections")
            problems += _nonfinite_problems(proj, c["projections"], f"{where}.projections", why)
        d = c.get("digests")
        cases.append(
            ReportCase(
                id=cid,
                digests=StageDigests(d["decoded"], d["resized"], d["tensor"]) if d else None,
                embedding=emb,
                projections=proj,
                hash=c["hash"].lower() if "hash" in c else None,
                timings_ms={k: float(v) for k, v in (c.get("timings_ms") or {}).items()},
                error=c.get("error"),
                orientation=c.get("orientation"),
                extra=c.get("extra"),
                decode_deviation=c.get("decode_deviation"),
            )
        )
    decode_cases = None
    if "decode_cases" in obj:
        decode_cases = []
        for i, d in enumerate(obj["decode_cases"]):
            did = d["id"]
            if did in first_seen:
                problems.append(
                    f"decode_cases[{i}].id: duplicate id {did!r} (ids are unique across "
                    "cases and decode_cases)"
                )
            first_seen[did] = i
            decode_cases.append(
                DecodeCaseResult(
                    id=did,
                    decoded=d.get("decoded"),
                    orientation=d.get("orientation"),
                    width=d.get("width"),
                    height=d.get("height"),
                    error=d.get("error"),
                    extra=d.get("extra"),
                )
            )
    raise_problems(source, problems)
    b = obj["bundle"]
    return DeviceReport(
        bridge=dict(obj["bridge"]),
        platform=dict(obj["platform"]),
        runtime=dict(obj["runtime"]),
        bundle=BundleRef(
            bundle_id=b["bundle_id"],
            manifest_sha256=b["manifest_sha256"],
            checksums_verified=b["checksums_verified"],
            target=b.get("target"),
            source_model_fingerprint=b.get("source_model_fingerprint"),
        ),
        spec=spec,
        created=obj["created"],
        cases=cases,
        extra=obj.get("extra"),
        source=source,
        decode_cases=decode_cases,
    )


def load_report(path: str | os.PathLike[str]) -> DeviceReport:
    """Read and validate a report file; any problem is an InputFileError naming file and field."""
    p = os.fspath(path)
    return parse_report(read_json(p, what="device report"), p)


def write_report(report: DeviceReport, path: str | os.PathLike[str]) -> None:
    """Write a report, validating it first: nhkit must never emit what it would reject."""
    obj = report.to_json()
    parse_report(obj, os.fspath(path))
    write_json_atomic(path, obj)
