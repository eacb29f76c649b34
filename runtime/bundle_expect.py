"""A bundle's self-test expectations as a golden set, so `nhkit golden check --bundle B` and
`--golden G` share one checking path.

The bundle reader (`bundle.py`) has already verified every file against the manifest; here the
expected values of `selftest/cases.json` become GoldenImages, the manifest's `tolerance` the
tolerance, and its seed is kept so the check can recompute projections exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .compare import Tolerance
from .digest import StageDigests, sha256_file
from .errors import InputFileError
from .floathex import hex_to_f32, hex_to_f64
from .golden import GoldenImage, GoldenSet, ModelInfo, _consistency_problems
from .hashing import hex_to_bits
from .jsonfile import raise_problems

if TYPE_CHECKING:
    from .bundle import Bundle
    from .hasher import Hasher


@dataclass(frozen=True)
class BundleExpectation:
    golden: GoldenSet
    seed: np.ndarray
    bundle_id: str
    manifest_sha256: str
    tolerance: Tolerance
    label: str
    decode_cases: list[dict[str, Any]] | None = None  # cases.json's mode sampler, if any


def _model_info(bundle: Bundle, msha: str, backend: dict[str, Any] | None = None) -> ModelInfo:
    m = bundle.manifest
    src = m.get("source_model") or {}
    model_file = m["model"]["file"]
    file_sha = next((f["sha256"] for f in m["files"] if f["path"] == model_file), None)
    return ModelInfo(
        name=src.get("name"),
        fingerprint=src.get("fingerprint"),
        sha256=file_sha,
        seed_sha256=m["seed"]["sha256"],
        backend=backend,
        bundle_id=bundle.bundle_id,
        manifest_sha256=msha,
    )


def expected_from_bundle(path: str | os.PathLike[str]) -> BundleExpectation:
    """Load and verify a bundle, and turn its self-test cases into the expected side."""
    from .bundle import load_bundle

    with load_bundle(path) as b:
        msha = b.manifest_sha256
        label = f"bundle {b.bundle_id} ({os.fspath(path)}, selftest/cases.json: fp32 reference)"
        source = f"{os.fspath(path)}/selftest/cases.json"
        images, problems = [], []
        for i, c in enumerate(b.cases["cases"]):
            e, where = c["expected"], f"cases[{i}].expected"
            proj = hex_to_f64(e["projections"], what=f"{where}.projections")
            if not np.isfinite(proj).all():
                problems.append(f"{where}.projections: not all finite")
                continue
            problems += _consistency_problems(
                where, e["hash"], proj, e.get("fragile"), b.spec.fragile_margin
            )
            fragile = (
                hex_to_bits(e["fragile"]).astype(bool)
                if e.get("fragile")
                else np.abs(proj) < b.spec.fragile_margin
            )
            src_file = b.case_path(c)
            images.append(
                GoldenImage(
                    id=c["id"],
                    hash=e["hash"].lower(),
                    projections=proj,
                    fragile=fragile,
                    lossless=bool(c["lossless"]),
                    orientation=int(c.get("orientation", 1)),
                    file=c["source"],
                    sha256=sha256_file(src_file),
                    digests=StageDigests(
                        **{k: c["digests"][k] for k in ("decoded", "resized", "tensor")}
                    ),
                    embedding=hex_to_f32(e["embedding"], what=f"{where}.embedding")
                    if "embedding" in e
                    else None,
                )
            )
        raise_problems(source, problems)
        tol = b.tolerance
        tolerance = Tolerance(
            int(tol["hamming"]),
            int(tol["lossy_hamming"]),
            int(tol.get("nonfragile_flips", 0)),
            source=f"bundle {b.bundle_id} manifest",
        )
        golden = GoldenSet(
            spec=b.spec,
            model=_model_info(b, msha),
            images=images,
            tolerance=tolerance,
            source=source,
        )
        return BundleExpectation(
            golden=golden,
            seed=np.array(b.seed),
            bundle_id=b.bundle_id,
            manifest_sha256=msha,
            tolerance=tolerance,
            label=label,
            decode_cases=[dict(d) for d in b.cases["decode_cases"]]
            if "decode_cases" in b.cases
            else None,
        )


def read_manifest(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """A verified bundle's manifest and a label for messages (used by calibrate)."""
    from .bundle import load_bundle

    with load_bundle(path) as b:
        return dict(b.manifest), f"{os.fspath(path)}/manifest.json"


def bundle_model_info(
    path: str | os.PathLike[str], hasher: Hasher
) -> tuple[ModelInfo, dict[str, int]]:
    """(ModelInfo, manifest tolerance) for `golden create --bundle B`."""
    from .bundle import load_bundle

    b = hasher.bundle
    if b is not None:
        return _model_info(b, b.manifest_sha256, hasher.backend.describe()), dict(b.tolerance)
    if not Path(path).exists():
        raise InputFileError(path, "bundle not found")
    with load_bundle(path) as b:
        return _model_info(b, b.manifest_sha256, hasher.backend.describe()), dict(b.tolerance)
