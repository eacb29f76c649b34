"""Verification at export: how many hash bits does each variant change, on real photos?

Every variant runs on this machine (TFLite through ai-edge-litert, Core ML through nhkit's Core ML
executor) and is compared to the fp32 onnxruntime reference over a validation set passed through
the spec's own preprocessing (decode, orient, exact resize, normalise), so the drift measured here
is drift from the model alone: steps 1-4 and 6-7 are exact.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nhkit.runtime.backends.base import EmbeddingBackend
from nhkit.runtime.compare import compare_bits
from nhkit.runtime.decode import SUPPORTED_SUFFIXES, decode_image
from nhkit.runtime.errors import ImageDecodeError, InputFileError, NhkitError
from nhkit.runtime.hashing import bits_from_projections, fragile_mask, project
from nhkit.runtime.resize import resize_rgb
from nhkit.runtime.spec import HASH_BITS, INPUT_SIZE, Spec
from nhkit.runtime.tensor import normalise

from .variants import DriftBudget

DEFAULT_VALIDATION_DIR = Path(__file__).resolve().parent / "data" / "validation"
DEFAULT_CALIBRATION_DIR = Path(__file__).resolve().parent / "data" / "calibration"

# Validation views: each photo as the hash sees it, and mirrored (a different, equally real
# input), which doubles the sample of projections without adding files to the repository.
DEFAULT_VALIDATION_VIEWS: tuple[str, ...] = ("full", "mirror")
VIEWS: tuple[str, ...] = ("full", "mirror", "crop80")


class ImageSetError(InputFileError):
    """A calibration or validation folder is missing, unreadable, empty or holds a bad image."""


@dataclass
class ImageSet:
    """Preprocessed images (spec steps 1-3): names and exact 360x360 RGB8 pixels."""

    names: list[str]
    rgb360: np.ndarray  # uint8 [N,360,360,3]
    photos: int
    views: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.names)

    def nchw(self) -> np.ndarray:
        """Spec step 4, canonical layout: float32 [N,3,360,360]."""
        return normalise(self.rgb360, "NCHW")

    def nhwc(self) -> np.ndarray:
        return normalise(self.rgb360, "NHWC")


def list_images(folder: str | os.PathLike[str], *, what: str) -> list[Path]:
    """Image files directly in a folder (sorted); every problem is an ImageSetError naming it."""
    p = Path(folder)
    if not p.exists():
        raise ImageSetError(p, f"{what} folder does not exist")
    if not p.is_dir():
        raise ImageSetError(p, f"{what} path is not a folder")
    try:
        entries = sorted(p.iterdir())
    except OSError as exc:
        raise ImageSetError(p, f"cannot read {what} folder: {exc.strerror or exc}") from None
    files = [e for e in entries if e.is_file() and e.suffix.lower() in SUPPORTED_SUFFIXES]
    if not files:
        raise ImageSetError(
            p, f"{what} folder holds no images (looked for {', '.join(sorted(SUPPORTED_SUFFIXES))})"
        )
    return files


@dataclass(frozen=True)
class PhotoSource:
    """Which photos a calibration or validation set is, as the manifest records it.

    Identified by content (sha256 of each file), not by path: the manifest must say whether the
    photos that set the int8 ranges are the photos the drift was measured on, and a copy or
    rename of a photo is still the same photo."""

    folder: str  # the folder's name only: a full path would leak the machine's layout
    views: tuple[str, ...]
    digests: tuple[str, ...]  # sha256 hex of each photo file, sorted

    @property
    def photos(self) -> int:
        return len(self.digests)

    @property
    def sha256_list(self) -> str:
        """sha256 of the sorted per-photo sha256 hex digests, one per line ('\\n'-terminated)."""
        return hashlib.sha256("".join(d + "\n" for d in self.digests).encode()).hexdigest()

    def shared_with(self, other: PhotoSource) -> int:
        """How many photos (by content) the two sets have in common."""
        return len(set(self.digests) & set(other.digests))

    def to_json(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "photos": self.photos,
            "views": list(self.views),
            "sha256_list": self.sha256_list,
        }


def photo_source(
    files: Sequence[str | os.PathLike[str]], folder: str | os.PathLike[str], views: Sequence[str]
) -> PhotoSource:
    """The PhotoSource of the given files (read once for their digests)."""
    digests = []
    for f in files:
        try:
            digests.append(hashlib.sha256(Path(f).read_bytes()).hexdigest())
        except OSError as exc:
            raise ImageSetError(f, f"cannot read image: {exc.strerror or exc}") from None
    name = Path(folder).resolve().name or str(folder)
    return PhotoSource(name, tuple(views), tuple(sorted(digests)))


def _view(rgb: np.ndarray, view: str) -> np.ndarray:
    if view == "full":
        return rgb
    if view == "mirror":
        return np.ascontiguousarray(rgb[:, ::-1])
    if view == "crop80":
        h, w = rgb.shape[:2]
        ch, cw = max(1, round(h * 0.8)), max(1, round(w * 0.8))
        y, x = (h - ch) // 2, (w - cw) // 2
        return np.ascontiguousarray(rgb[y : y + ch, x : x + cw])
    raise ValueError(f"unknown view {view!r}; known: {VIEWS}")


def load_image_set(
    files: Sequence[str | os.PathLike[str]],
    spec: Spec,
    *,
    what: str,
    views: Sequence[str] = ("full",),
    limit: int | None = None,
    source: str = "",
) -> ImageSet:
    """Decode, orient and resize every file (spec steps 1-3) in each view.

    Strict: an unreadable image is an error naming it, because a silently skipped calibration
    or validation photo changes the exported model or the reported drift."""
    paths = [Path(f) for f in files][: limit or None]
    if not paths:
        raise ImageSetError(source or None, f"no {what} images given")
    names: list[str] = []
    out: list[np.ndarray] = []
    for p in paths:
        try:
            dec = decode_image(p, orientation=spec.orientation)
        except ImageDecodeError as exc:
            raise ImageSetError(p, f"unreadable {what} image: {exc.reason}") from None
        except OSError as exc:
            raise ImageSetError(p, f"cannot read {what} image: {exc.strerror or exc}") from None
        for v in views:
            out.append(resize_rgb(_view(dec.rgb, v), INPUT_SIZE))
            names.append(p.name if v == "full" else f"{p.name}#{v}")
    return ImageSet(
        names=names,
        rgb360=np.stack(out),
        photos=len(paths),
        views=tuple(views),
        source=source or str(paths[0].parent),
    )


def load_image_folder(
    folder: str | os.PathLike[str],
    spec: Spec,
    *,
    what: str,
    views: Sequence[str] = ("full",),
    limit: int | None = None,
) -> ImageSet:
    return load_image_set(
        list_images(folder, what=what),
        spec,
        what=what,
        views=views,
        limit=limit,
        source=str(folder),
    )


def default_image_dir(what: str) -> Path:
    """The photos that ship with nhkit for calibration (train split) or validation (held-out)."""
    folder = DEFAULT_CALIBRATION_DIR if what == "calibration" else DEFAULT_VALIDATION_DIR
    if not folder.is_dir():
        raise ImageSetError(
            folder,
            f"no default {what} photos in this installation (they ship "
            f"with the nhkit source tree); pass --{what} DIR",
        )
    return folder


def embed_all(
    backend: EmbeddingBackend,
    tensors: np.ndarray,
    *,
    batch: int = 8,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Run a backend over an NCHW batch in chunks (bounded memory), float32 [N,128]."""
    out = []
    for i in range(0, tensors.shape[0], batch):
        chunk = tensors[i : i + batch]
        out.append(np.asarray(backend.embed(chunk), dtype=np.float32))
        if progress:
            progress(chunk.shape[0])
    return np.concatenate(out)


def nearest_rank(values: np.ndarray, q: float) -> int:
    """Nearest-rank percentile (an actually observed value; 0 for no values)."""
    if not values.size:
        return 0
    s = np.sort(values)
    return int(s[max(0, math.ceil(q * s.size) - 1)])


@dataclass
class DriftResult:
    """One variant against the fp32 reference; `to_json` is the manifest's `drift` object."""

    images: int
    photos: int
    hamming: np.ndarray  # int [N]
    max_abs_error: float
    cosine_min: float
    cosine_mean: float
    bit_exact_rate: float
    nonfragile_flips: int
    fragile_flips: int
    nonfragile_per_image: np.ndarray  # int [N]
    budget: DriftBudget
    reasons: list[str] = field(default_factory=list)
    overridden: bool = False

    @property
    def mean(self) -> float:
        return float(self.hamming.mean()) if self.hamming.size else 0.0

    @property
    def p95(self) -> int:
        """Nearest-rank 95th percentile (an actual observed distance)."""
        return nearest_rank(self.hamming, 0.95)

    @property
    def p99(self) -> int:
        """Nearest-rank 99th percentile: the worst image but the odd outlier per hundred."""
        return nearest_rank(self.hamming, 0.99)

    @property
    def max(self) -> int:
        return int(self.hamming.max()) if self.hamming.size else 0

    @property
    def passed(self) -> bool:
        return not self.reasons

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": "onnxruntime-fp32",
            "images": self.images,
            "photos": self.photos,
            "hamming": {
                "mean": round(self.mean, 6),
                "p95": self.p95,
                "p99": self.p99,
                "max": self.max,
            },
            "bit_exact_rate": round(self.bit_exact_rate, 6),
            "embedding": {
                "max_abs_error": float(f"{self.max_abs_error:.6g}"),
                "cosine_min": float(f"{self.cosine_min:.9f}"),
                "cosine_mean": float(f"{self.cosine_mean:.9f}"),
            },
            "nonfragile_flips": self.nonfragile_flips,
            "fragile_flips": self.fragile_flips,
            "budget": self.budget.to_json(),
            "passed": self.passed,
            "overridden": self.overridden,
        }

    def summary(self) -> str:
        return (
            f"Hamming mean {self.mean:.3f} p95 {self.p95} p99 {self.p99} max {self.max}, bit-exact "
            f"{self.bit_exact_rate:.0%}, non-fragile flips {self.nonfragile_flips}, "
            f"cos>={self.cosine_min:.6f}"
        )


def measure_drift(
    reference: np.ndarray,
    embeddings: np.ndarray,
    seed: np.ndarray,
    spec: Spec,
    budget: DriftBudget,
    *,
    photos: int | None = None,
) -> DriftResult:
    """Compare a variant's embeddings to the reference's, through the spec's exact steps 6-7.

    A flip is "non-fragile" when the reference projection was at least the spec's fragile margin
    away from zero: those are the flips a margin-trained model promises not to make."""
    ref = np.asarray(reference, dtype=np.float32)
    emb = np.asarray(embeddings, dtype=np.float32)
    if ref.shape != emb.shape or ref.ndim != 2:
        raise ValueError(f"embedding shapes differ: reference {ref.shape}, variant {emb.shape}")
    if not np.isfinite(emb).all():
        raise NhkitError("the variant produced NaN or infinite embeddings")
    p_ref = project(seed, ref)
    flips = compare_bits(
        bits_from_projections(p_ref),
        bits_from_projections(project(seed, emb)),
        fragile_mask(p_ref, spec.fragile_margin),
    )
    hamming = flips.hamming
    r64, e64 = ref.astype(np.float64), emb.astype(np.float64)
    norms = np.linalg.norm(r64, axis=1) * np.linalg.norm(e64, axis=1)
    cos = np.where(norms > 0, (r64 * e64).sum(axis=1) / np.where(norms > 0, norms, 1.0), 0.0)
    result = DriftResult(
        images=int(ref.shape[0]),
        photos=int(photos if photos is not None else ref.shape[0]),
        hamming=hamming,
        max_abs_error=float(np.abs(r64 - e64).max()),
        cosine_min=float(cos.min()),
        cosine_mean=float(cos.mean()),
        bit_exact_rate=float((hamming == 0).mean()),
        nonfragile_flips=int(flips.nonfragile.sum()),
        fragile_flips=int(flips.fragile_flips.sum()),
        nonfragile_per_image=flips.nonfragile,
        budget=budget,
    )
    result.reasons = budget.check(result.mean, result.max, result.p99, result.nonfragile_flips)
    return result


@dataclass(frozen=True)
class SelftestDrift:
    """The variant run on the bundle's own self-test cases (their exact rgb360 inputs) here."""

    cases: int
    hamming_max: int
    nonfragile_max: int

    def to_json(self) -> dict[str, int]:
        return {
            "cases": self.cases,
            "hamming_max": self.hamming_max,
            "nonfragile_max": self.nonfragile_max,
        }


def selftest_drift(
    case_projections: np.ndarray, embeddings: np.ndarray, seed: np.ndarray, spec: Spec
) -> SelftestDrift:
    """Hamming distance and non-fragile flips of the variant on each self-test case, against
    the fp32 reference projections stored in cases.json."""
    ref = np.asarray(case_projections, dtype=np.float64)
    p = project(seed, np.asarray(embeddings, dtype=np.float32))
    flips = compare_bits(
        bits_from_projections(ref), bits_from_projections(p), fragile_mask(ref, spec.fragile_margin)
    )
    return SelftestDrift(
        cases=int(ref.shape[0]),
        hamming_max=int(flips.hamming.max()),
        nonfragile_max=int(flips.nonfragile.max()),
    )


def recommended_tolerance(
    drift: DriftResult, selftest: SelftestDrift | None = None
) -> dict[str, int]:
    """The tolerances a device self-test should allow against the fp32 reference hash.

    - hamming: the worst per-image drift seen at export (validation photos and the bundle's own
      cases) plus one bit for the device's own arithmetic (its kernels differ from this
      machine's); lossy cases add 4 bits for a different JPEG decoder (IDCT and chroma
      upsampling differ by about one level per sample).
    - nonfragile_flips: the most flips outside the fragile mask seen on one image, plus one when
      the variant drifts at all (quantized variants move some projections by more than the
      margin); 0 for a variant that reproduced the reference exactly.
    By construction the bundle's own self-test passes on this machine; on a device, a failure
    means the device differs from this machine by more than one bit of rounding."""
    worst = drift.max
    nonfragile = int(drift.nonfragile_per_image.max()) if drift.nonfragile_per_image.size else 0
    if selftest is not None:
        worst = max(worst, selftest.hamming_max)
        nonfragile = max(nonfragile, selftest.nonfragile_max)
    hamming = min(HASH_BITS, worst + 1)
    return {
        "hamming": hamming,
        "lossy_hamming": min(HASH_BITS, hamming + 4),
        "nonfragile_flips": min(HASH_BITS, nonfragile + (1 if worst > 0 else 0)),
    }
