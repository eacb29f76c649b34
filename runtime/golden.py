"""Golden sets: the reference hashes of a set of images under one spec, model and seed.

A golden file (format `nhkit-golden` v1, schema `schemas/golden-set.v1.schema.json`) keeps per
image what is needed to judge another implementation's result bit by bit: the hash, the 96
projections as exact float64 bit patterns (their magnitudes are the margins that say how close a
bit was to flipping), the fragile mask at the spec's `fragile_margin`, and the pre-model stage
digests. It also carries the tolerances, default and per target and compute unit, so the
numbers a check uses are written down next to the hashes they apply to (`nhkit golden
calibrate` fills them in from device reports).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .compare import Tolerance
from .digest import StageDigests, sha256_file
from .errors import InputFileError, NhkitError
from .floathex import f32_to_hex, f64_to_hex, hex_to_f32, hex_to_f64
from .formats import GOLDEN_FORMAT, GOLDEN_VERSION, KNOWN_FORMATS
from .hashing import bits_from_projections, bits_to_hex, fragile_mask, hex_to_bits
from .jsonfile import (
    check_format_header,
    raise_problems,
    read_json,
    schema_problems,
    utc_now_iso,
    write_json_atomic,
)
from .spec import Spec, SpecMismatchError

if TYPE_CHECKING:
    from .hasher import Hasher, HashResult

GOLDEN_SCHEMA = "golden-set.v1.schema.json"
ANY = "*"

# Formats whose decoded pixels are the stored samples on every platform, so stage digests must
# match exactly (nh-spec-v1: "for identical input bytes of a lossless image"). Everything else
# (JPEG, HEIC, lossy WebP) is decoded by each platform's own decoder and judged by hash only.
LOSSLESS_FORMATS = frozenset({"PNG", "BMP", "GIF", "TIFF", "PPM", "TGA"})
LOSSLESS_SUFFIXES = frozenset(
    {".png", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm", ".tga"}
)


DEFAULT_TOLERANCE = Tolerance(hamming=2, lossy_hamming=6, nonfragile_flips=0)


@dataclass(frozen=True)
class ToleranceRule:
    """A tolerance for reports of one target (and compute unit, and optionally one bundle)."""

    target: str
    compute_unit: str
    hamming: int
    lossy_hamming: int
    nonfragile_flips: int
    bundle_id: str | None = None
    calibration: dict[str, Any] | None = None

    def score(self, target: str, compute_unit: str, bundle_id: str | None) -> int | None:
        """How specifically this rule matches (higher wins), or None if it does not apply."""
        s = 0
        if self.target != ANY:
            if self.target != target:
                return None
            s += 1
        if self.compute_unit != ANY:
            if self.compute_unit != compute_unit:
                return None
            s += 2
        if self.bundle_id is not None:
            if self.bundle_id != bundle_id:
                return None
            s += 4
        return s

    def key(self) -> tuple[str, str, str | None]:
        return (self.target, self.compute_unit, self.bundle_id)

    def label(self) -> str:
        b = f", bundle {self.bundle_id}" if self.bundle_id else ""
        return f"target {self.target}, compute unit {self.compute_unit}{b}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "compute_unit": self.compute_unit,
            "bundle_id": self.bundle_id,
            "hamming": self.hamming,
            "lossy_hamming": self.lossy_hamming,
            "nonfragile_flips": self.nonfragile_flips,
        }
        if self.calibration is not None:
            out["calibration"] = self.calibration
        return out


@dataclass(frozen=True)
class ModelInfo:
    """What computed the golden hashes; used to refuse reports of a different model."""

    name: str | None = None
    fingerprint: str | None = None
    sha256: str | None = None
    seed_sha256: str | None = None
    backend: dict[str, Any] | None = None
    bundle_id: str | None = None
    manifest_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "sha256": self.sha256,
            "seed_sha256": self.seed_sha256,
        }
        if self.backend is not None:
            out["backend"] = self.backend
        if self.bundle_id is not None:
            out["bundle_id"] = self.bundle_id
        if self.manifest_sha256 is not None:
            out["manifest_sha256"] = self.manifest_sha256
        return out


@dataclass(frozen=True)
class GoldenImage:
    """One image's reference result."""

    id: str
    hash: str
    projections: np.ndarray  # float64 [96]
    fragile: np.ndarray  # bool [96]
    lossless: bool = True
    orientation: int = 1
    file: str | None = None
    sha256: str | None = None
    digests: StageDigests | None = None
    embedding: np.ndarray | None = None  # float32 [128]
    extra: dict[str, Any] | None = None

    @property
    def margins(self) -> np.ndarray:
        """|projection| per bit: how far each bit is from flipping, in projection units."""
        return np.abs(self.projections)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "file": self.file,
            "sha256": self.sha256,
            "lossless": self.lossless,
            "orientation": self.orientation,
        }
        if self.digests is not None:
            out["digests"] = self.digests.to_json()
        out["hash"] = self.hash
        out["projections"] = f64_to_hex(self.projections)
        out["fragile"] = bits_to_hex(self.fragile.astype(np.uint8))
        if self.embedding is not None:
            out["embedding"] = f32_to_hex(self.embedding)
        if self.extra is not None:
            out["extra"] = self.extra
        return out


@dataclass
class GoldenSet:
    """A golden file in memory. Image order is kept (it is the order of reports and tables)."""

    spec: Spec
    model: ModelInfo
    images: list[GoldenImage]
    tolerance: Tolerance = DEFAULT_TOLERANCE
    rules: list[ToleranceRule] = field(default_factory=list)
    created: str = field(default_factory=utc_now_iso)
    tool: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] | None = None
    source: str = "<golden>"

    def __post_init__(self) -> None:
        ids = [im.id for im in self.images]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise NhkitError(f"{self.source}: duplicate image id {dup!r}")

    @property
    def by_id(self) -> dict[str, GoldenImage]:
        return {im.id: im for im in self.images}

    def tolerance_for(
        self, target: str, compute_unit: str, bundle_id: str | None = None
    ) -> Tolerance:
        """The most specific rule matching the report, else the file's default tolerance."""
        best: tuple[int, ToleranceRule] | None = None
        for rule in self.rules:
            s = rule.score(target, compute_unit, bundle_id)
            if s is not None and (best is None or s > best[0]):
                best = (s, rule)
        name = Path(self.source).name
        if best is None:
            return replace(self.tolerance, source=f"{name} default")
        r = best[1]
        return Tolerance(
            r.hamming, r.lossy_hamming, r.nonfragile_flips, source=f"{name}, {r.label()}"
        )

    def set_rule(self, rule: ToleranceRule) -> None:
        """Add a rule, replacing one with the same target, compute unit and bundle."""
        self.rules = [r for r in self.rules if r.key() != rule.key()] + [rule]
        self.rules.sort(key=lambda r: (r.target, r.compute_unit, r.bundle_id or ""))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": GOLDEN_FORMAT,
            "format_version": GOLDEN_VERSION,
            "spec": self.spec.to_json(),
            "model": self.model.to_json(),
            "created": self.created,
            "tool": self.tool,
            "tolerance": {
                "hamming": self.tolerance.hamming,
                "lossy_hamming": self.tolerance.lossy_hamming,
                "nonfragile_flips": self.tolerance.nonfragile_flips or 0,
                "targets": [r.to_json() for r in self.rules],
            },
            "images": [im.to_json() for im in self.images],
        }
        if self.extra is not None:
            out["extra"] = self.extra
        return out


# ----- reading --------------------------------------------------------------------------------


def _consistency_problems(
    where: str, hash_hex: str, proj: np.ndarray, fragile_hex: str | None, margin: float
) -> list[str]:
    """A golden entry must agree with itself: hash = sign(projections), mask = |p| < margin.

    Checked because a hand-edited or corrupted golden file would otherwise judge devices by
    numbers that no implementation of the spec can produce."""
    out: list[str] = []
    bits = bits_from_projections(proj)
    diff = np.flatnonzero(bits != hex_to_bits(hash_hex))
    if diff.size:
        out.append(
            f"{where}.hash: does not match the signs of {where}.projections "
            f"(bits {', '.join(map(str, diff[:8]))}{' ...' if diff.size > 8 else ''})"
        )
    if fragile_hex is not None:
        want = fragile_mask(proj, margin).astype(np.uint8)
        fdiff = np.flatnonzero(want != hex_to_bits(fragile_hex))
        if fdiff.size:
            out.append(
                f"{where}.fragile: is not the mask |projection| < {margin} of "
                f"{where}.projections (bits {', '.join(map(str, fdiff[:8]))} differ)"
            )
    return out


def parse_golden(obj: Any, source: str = "<golden>") -> GoldenSet:
    """Validate a golden-set object and build a GoldenSet; problems name the file and field."""
    check_format_header(
        obj, source, fmt=GOLDEN_FORMAT, version=GOLDEN_VERSION, others=KNOWN_FORMATS
    )
    raise_problems(source, schema_problems(obj, GOLDEN_SCHEMA))
    try:
        spec = Spec.from_json(obj["spec"], source="spec")
    except SpecMismatchError as exc:
        raise InputFileError(source, str(exc)) from None

    problems: list[str] = []
    images: list[GoldenImage] = []
    first_seen: dict[str, int] = {}
    for i, im in enumerate(obj["images"]):
        where = f"images[{i}]"
        if im["id"] in first_seen:
            problems.append(
                f"{where}.id: duplicate id {im['id']!r} (first at images[{first_seen[im['id']]}])"
            )
            continue
        first_seen[im["id"]] = i
        proj = hex_to_f64(im["projections"], what=f"{where}.projections")
        bad = np.flatnonzero(~np.isfinite(proj))
        if bad.size:
            j = int(bad[0])
            problems.append(
                f"{where}.projections[{j}]: {proj[j]} ({im['projections'][j]}); "
                "projections must be finite"
            )
            continue
        emb = None
        if "embedding" in im:
            emb = hex_to_f32(im["embedding"], what=f"{where}.embedding")
            if not np.isfinite(emb).all():
                j = int(np.flatnonzero(~np.isfinite(emb))[0])
                problems.append(f"{where}.embedding[{j}]: {emb[j]} is not finite")
        problems += _consistency_problems(
            where, im["hash"], proj, im["fragile"], spec.fragile_margin
        )
        d = im.get("digests")
        images.append(
            GoldenImage(
                id=im["id"],
                hash=im["hash"].lower(),
                projections=proj,
                fragile=hex_to_bits(im["fragile"]).astype(bool),
                lossless=im["lossless"],
                orientation=im["orientation"],
                file=im["file"],
                sha256=im["sha256"],
                digests=StageDigests(d["decoded"], d["resized"], d["tensor"]) if d else None,
                embedding=emb,
                extra=im.get("extra"),
            )
        )
    tol = obj["tolerance"]
    rules: list[ToleranceRule] = []
    seen_keys: dict[tuple[str, str, str | None], int] = {}
    for i, r in enumerate(tol["targets"]):
        rule = ToleranceRule(
            target=r["target"],
            compute_unit=r["compute_unit"],
            bundle_id=r.get("bundle_id"),
            hamming=r["hamming"],
            lossy_hamming=r["lossy_hamming"],
            nonfragile_flips=r["nonfragile_flips"],
            calibration=r.get("calibration"),
        )
        if rule.key() in seen_keys:
            problems.append(
                f"tolerance.targets[{i}]: same target, compute unit and bundle as "
                f"tolerance.targets[{seen_keys[rule.key()]}]"
            )
        seen_keys.setdefault(rule.key(), i)
        rules.append(rule)
    raise_problems(source, problems)
    m = obj["model"]
    return GoldenSet(
        spec=spec,
        model=ModelInfo(
            name=m["name"],
            fingerprint=m["fingerprint"],
            sha256=m["sha256"],
            seed_sha256=m["seed_sha256"],
            backend=m.get("backend"),
            bundle_id=m.get("bundle_id"),
            manifest_sha256=m.get("manifest_sha256"),
        ),
        images=images,
        tolerance=Tolerance(
            tol["hamming"], tol["lossy_hamming"], tol["nonfragile_flips"], source="golden default"
        ),
        rules=rules,
        created=obj["created"],
        tool=dict(obj.get("tool") or {}),
        extra=obj.get("extra"),
        source=source,
    )


def load_golden(path: str | os.PathLike[str]) -> GoldenSet:
    """Read and validate a golden file."""
    p = os.fspath(path)
    return parse_golden(read_json(p, what="golden file"), p)


def write_golden(golden: GoldenSet, path: str | os.PathLike[str]) -> None:
    """Write a golden file atomically, after validating it like any file we read."""
    obj = golden.to_json()
    parse_golden(obj, os.fspath(path))
    write_json_atomic(path, obj)


# ----- creating -------------------------------------------------------------------------------

file_sha256 = sha256_file  # the name golden-set code and the pytest plugin use


def is_lossless_path(path: str | os.PathLike[str] | None) -> bool:
    """Lossless by file name; unknown (None, e.g. pixels from the caller) counts as lossless."""
    if path is None:
        return True
    return Path(path).suffix.lower() in LOSSLESS_SUFFIXES


def image_from_result(
    image_id: str,
    result: HashResult,
    *,
    lossless: bool | None = None,
    file: str | None = None,
    sha256: str | None = None,
) -> GoldenImage:
    """A golden entry from a HashResult (fragile mask as the result computed it)."""
    src = file if file is not None else result.source
    if sha256 is None and src is not None and Path(src).is_file():
        sha256 = file_sha256(src)
    return GoldenImage(
        id=image_id,
        hash=result.hex,
        projections=np.asarray(result.projections, np.float64),
        fragile=np.asarray(result.fragile, dtype=bool),
        lossless=is_lossless_path(src) if lossless is None else lossless,
        orientation=int(result.orientation),
        file=Path(src).name if src is not None else None,
        sha256=sha256,
        digests=result.digests,
        embedding=np.asarray(result.embedding, np.float32),
    )


def image_ids(paths: Sequence[str], scheme: str = "stem") -> list[str]:
    """Ids for image paths: 'stem' (cat), 'name' (cat.png) or 'path' (as given).

    Collisions are an error naming both files, because silently suffixing ids would break the
    match with bundle case ids and device reports."""
    if scheme not in ("stem", "name", "path"):
        raise ValueError(f"unknown id scheme {scheme!r}")
    ids = [
        Path(p).stem if scheme == "stem" else Path(p).name if scheme == "name" else p for p in paths
    ]
    first: dict[str, str] = {}
    for i, p in zip(ids, paths):
        if i in first:
            raise NhkitError(
                f"{p}: id {i!r} is also the id of {first[i]}; use --id name or "
                "--id path, or rename one of them"
            )
        first[i] = p
    return ids


def model_info_for_onnx(model: str | os.PathLike[str] | None, hasher: Hasher) -> ModelInfo:
    """Identify the ONNX model a hasher runs: name, weights fingerprint and seed sha256 (its
    `identity`), the model file's sha256 and the backend that ran it. `model` None is the
    shipped default model."""
    from .models import model_name_argument, shipped_model

    name = model_name_argument(model)
    if model is None or name is not None:
        path = (shipped_model() if name is None else shipped_model(name)).onnx
    else:
        path = Path(model)
    ident = hasher.identity
    return ModelInfo(
        name=ident.name,
        fingerprint=ident.fingerprint,
        sha256=file_sha256(path),
        seed_sha256=ident.seed_sha256,
        backend=hasher.backend.describe(),
    )


def create_golden(
    hasher: Hasher,
    paths: Sequence[str],
    ids: Sequence[str],
    model: ModelInfo,
    *,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
    rules: Iterable[ToleranceRule] = (),
    batch_size: int = 16,
    workers: int = 2,
) -> GoldenSet:
    """Hash every image (with stage digests) into a golden set.

    Any image that cannot be hashed is an error for the whole set: a golden set with a hole
    would later report that image as 'unknown id' on every device."""
    from . import __version__

    if len(paths) != len(ids):
        raise ValueError("paths and ids differ in length")
    if not paths:
        raise NhkitError("no images to put in the golden set")
    hasher.with_digests = True
    results: dict[str, HashResult] = {}
    problems: list[str] = []
    for path, outcome in hasher.hash_files(paths, batch_size=batch_size, workers=workers):
        if isinstance(outcome, NhkitError):
            problems.append(str(outcome))
        else:
            results[path] = outcome
    if problems:
        raise NhkitError("cannot create the golden set:\n  " + "\n  ".join(problems))
    images = [image_from_result(i, results[os.fspath(p)]) for p, i in zip(paths, ids)]
    return GoldenSet(
        spec=hasher.spec,
        model=model,
        images=images,
        tolerance=tolerance,
        rules=list(rules),
        tool={"nhkit": __version__},
    )
