"""The reference self-test procedure: what every bridge does on a device, in Python.

For each case of a bundle's `selftest/cases.json`, in file order:

1. read the source file bytes (`selftest/<source>`) and decode them, applying the EXIF
   orientation when the spec says `apply` (spec steps 1-2)          -> timings_ms.decode
2. resize to 360x360 RGB8 (step 3)                                    -> timings_ms.resize
3. normalise to the NCHW float32 tensor (step 4)                      -> timings_ms.normalise
4. run the bundle's model on it (step 5, one image per call)          -> timings_ms.model
5. project with the bundle's seed, sign, hex (steps 6-7)              -> timings_ms.project
6. stage digests (step 9) of the decoded RGB, the 360x360 RGB and the tensor (not timed).

Any failure of a case (undecodable file, model error, non-finite projection) becomes that case's
`error` and the run goes on: a device report always has every case.

Then each decode case (the mode sampler, `decode_cases`, when the bundle has one): decode and
orient only, and report the oriented size, the orientation and the `decoded` digest
(`run_decode_case`); the check compares them exactly and names the mode that differs.
The Swift (`NHKit`) and Java (`core/SelfTest`) bridges port this function; the report it
returns is docs/device-report.md's format.
"""

from __future__ import annotations

import os
import platform as _platform
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .backends.base import EmbeddingBackend
from .decode import decode_image
from .digest import sha256_bytes, stage_digests
from .errors import NhkitError
from .hashing import bits_from_projections, bits_to_hex, project
from .jsonfile import utc_now_iso
from .report import BundleRef, DecodeCaseResult, DeviceReport, ReportCase
from .resize import resize_rgb
from .spec import DEFAULT_MAX_PIXELS, INPUT_SIZE, Spec
from .tensor import normalise

BRIDGE_NAME = "nhkit-python"


def _ms(t0: float, t1: float) -> float:
    return round((t1 - t0) * 1000.0, 4)


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, NhkitError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def run_case(
    case_id: str,
    data: bytes,
    *,
    spec: Spec,
    backend: EmbeddingBackend,
    seed: np.ndarray,
    name: str | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> ReportCase:
    """One case through the whole pipeline with per-stage timings; never raises for the case's
    own failure (it is returned as `error`), because a report must list every case."""
    t: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        decoded = decode_image(
            data, orientation=spec.orientation, max_pixels=max_pixels, name=name or case_id
        )
        t1 = time.perf_counter()
        rgb360 = resize_rgb(decoded.rgb, INPUT_SIZE)
        t2 = time.perf_counter()
        tensor = normalise(rgb360, "NCHW")
        t3 = time.perf_counter()
        embedding = np.asarray(backend.embed(tensor), dtype=np.float32).reshape(-1)
        t4 = time.perf_counter()
        projections = project(seed, embedding)
        hash_hex = bits_to_hex(bits_from_projections(projections))
        t5 = time.perf_counter()
        t = {
            "decode": _ms(t0, t1),
            "resize": _ms(t1, t2),
            "normalise": _ms(t2, t3),
            "model": _ms(t3, t4),
            "project": _ms(t4, t5),
        }
        digests = stage_digests(decoded.rgb, rgb360)
    except Exception as exc:  # any failure is this case's result, like the bridges do
        return ReportCase(id=case_id, error=_describe_error(exc))
    return ReportCase(
        id=case_id,
        digests=digests,
        embedding=embedding,
        projections=projections,
        hash=hash_hex,
        timings_ms=t,
        orientation=decoded.orientation,
    )


def run_decode_case(
    case_id: str,
    data: bytes,
    *,
    spec: Spec,
    name: str | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> DecodeCaseResult:
    """One mode sampler case: spec steps 1-2 and the decoded digest; never raises for the
    case's own failure (it is returned as `error`)."""
    try:
        decoded = decode_image(
            data, orientation=spec.orientation, max_pixels=max_pixels, name=name or case_id
        )
        rgb = decoded.rgb
        digest = sha256_bytes(np.ascontiguousarray(rgb).tobytes())
    except Exception as exc:  # any failure is this case's result, like the bridges do
        return DecodeCaseResult(id=case_id, error=_describe_error(exc))
    return DecodeCaseResult(
        id=case_id,
        decoded=digest,
        orientation=decoded.orientation,
        width=int(rgb.shape[1]),
        height=int(rgb.shape[0]),
    )


def run_cases(
    items: Iterable[tuple[str, bytes, str | None]],
    *,
    spec: Spec,
    backend: EmbeddingBackend,
    seed: np.ndarray,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> list[ReportCase]:
    """run_case over (id, file bytes, display name) items, in order."""
    return [
        run_case(cid, data, spec=spec, backend=backend, seed=seed, name=name, max_pixels=max_pixels)
        for cid, data, name in items
    ]


def host_platform() -> dict[str, Any]:
    """The report's `platform` for this machine (the CPU model helps tell CI runners apart)."""
    out: dict[str, Any] = {
        "os": _platform.system() or "unknown",
        "os_version": _platform.release() or "unknown",
        "device_model": _platform.machine() or "unknown",
        "python": _platform.python_version(),
    }
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        for line in cpuinfo.splitlines():
            if line.startswith("model name"):
                out["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return out


def _int(value: object) -> int:
    """A describe() count as an int (0 when absent or not a number)."""
    return int(value) if isinstance(value, (int, float)) else 0


def runtime_info(backend: EmbeddingBackend) -> dict[str, Any]:
    """The report's `runtime` from the backend's describe(), with the required keys present."""
    d = dict(backend.describe())
    out: dict[str, Any] = {
        "name": str(d.pop("name", getattr(backend, "name", "unknown"))),
        "version": str(d.pop("version", "unknown")),
        "compute_unit": str(d.pop("compute_unit", "cpu")),
        "threads": _int(d.pop("threads", 0)),
    }
    for k, v in d.items():
        out[k] = v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
    return out


def make_report(
    cases: list[ReportCase],
    *,
    backend: EmbeddingBackend,
    spec: Spec,
    bundle: BundleRef,
    decode_cases: list[DecodeCaseResult] | None = None,
) -> DeviceReport:
    """Wrap case results into a device report from this machine."""
    from . import __version__

    return DeviceReport(
        bridge={"name": BRIDGE_NAME, "version": __version__},
        platform=host_platform(),
        runtime=runtime_info(backend),
        bundle=bundle,
        spec=spec,
        created=utc_now_iso(),
        cases=cases,
        decode_cases=decode_cases,
    )


def run_bundle_selftest(
    path: str | os.PathLike[str],
    *,
    backend: str | None = None,
    threads: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> DeviceReport:
    """Verify the bundle (load_bundle checks every file's sha256), run all its cases, and
    return the device report (checksums_verified is true because load_bundle verified them)."""
    from .backends.factory import bundle_backend
    from .bundle import load_bundle

    with load_bundle(path) as b:
        engine = bundle_backend(b, backend, threads=threads)
        items = []
        for case in b.cases["cases"]:
            items.append((case["id"], b.case_path(case).read_bytes(), case["source"]))
        cases = run_cases(items, spec=b.spec, backend=engine, seed=b.seed, max_pixels=max_pixels)
        decode_cases = None
        if "decode_cases" in b.cases:
            decode_cases = [
                run_decode_case(
                    d["id"],
                    b.case_path(d).read_bytes(),
                    spec=b.spec,
                    name=d["source"],
                    max_pixels=max_pixels,
                )
                for d in b.cases["decode_cases"]
            ]
        fp = (b.manifest.get("source_model") or {}).get("fingerprint")
        ref = BundleRef(
            bundle_id=b.bundle_id,
            manifest_sha256=b.manifest_sha256,
            checksums_verified=True,
            target=b.target,
            source_model_fingerprint=fp if isinstance(fp, str) else None,
        )
        return make_report(
            cases, backend=engine, spec=b.spec, bundle=ref, decode_cases=decode_cases
        )
