"""Write device bundles (docs/bundle-format.md): folder + deterministic zip, self-test cases.

Why so strict about bytes: a bundle is an app asset that is diffed, cached and signed. Exporting
the same inputs twice must give byte-identical zips (sorted entries, fixed timestamps and
permissions, no wall-clock anywhere), and a failed export must leave nothing half-written that
an app build could pick up (everything is staged and renamed into place at the end).
"""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from nhkit.runtime import ziputil
from nhkit.runtime.digest import seed_sha256, sha256_file
from nhkit.runtime.errors import NhkitError
from nhkit.runtime.floathex import f32_to_hex, f64_to_hex
from nhkit.runtime.formats import BUNDLE_FORMAT, BUNDLE_VERSION, SELFTEST_FORMAT, SELFTEST_VERSION
from nhkit.runtime.hasher import Hasher
from nhkit.runtime.hashing import bits_to_hex
from nhkit.runtime.jsonfile import json_bytes
from nhkit.runtime.seed import seed_to_f32_bytes
from nhkit.runtime.spec import EMBEDDING_DIM, HASH_BITS, Spec

from .mode_sampler import SamplerFile, sampler_files
from .wide_gamut_icc import wide_gamut_icc


class BundleWriteError(NhkitError):
    """The output folder cannot be written, or a bundle could not be assembled."""


# --------------------------------------------------------------------------------------------
# Self-test cases


@dataclass(frozen=True)
class SelftestSource:
    """One self-test image: its file bytes and how it was made (for cases.json)."""

    case_id: str
    filename: str
    data: bytes
    lossless: bool
    description: str


def _fit(rgb: np.ndarray, w: int, h: int) -> Image.Image:
    """Centre-crop to the aspect ratio w:h, then resize with Lanczos (source making only: the
    bytes written are what the case is, whatever filter made them)."""
    im = Image.fromarray(rgb)
    sw, sh = im.size
    target = w / h
    if sw / sh > target:
        cw = max(1, round(sh * target))
        im = im.crop(((sw - cw) // 2, 0, (sw - cw) // 2 + cw, sh))
    else:
        ch = max(1, round(sw / target))
        im = im.crop((0, (sh - ch) // 2, sw, (sh - ch) // 2 + ch))
    return im.resize((w, h), Image.Resampling.LANCZOS)


def _png(im: Image.Image, **info: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=False, compress_level=9, **info)
    return buf.getvalue()


def make_selftest_sources(photos: list[np.ndarray]) -> list[SelftestSource]:
    """Six small cases from (decoded) validation photos, each exercising a different path:

    s01 landscape RGB PNG (downscale both axes), s02 tall PNG (upscale one axis, downscale the
    other: the case where resize pass order matters), s03 greyscale PNG (mode rule `L`), s04 an
    exact 360x360 PNG (resize skipped), s05 a JPEG with EXIF orientation 6 (decoder and
    orientation; lossy, so compared within the lossy tolerance), s06 a PNG carrying a
    wide-gamut ICC profile: the stored samples must be hashed as they are, so a decoder that
    colour-manages fails its digests (lossless)."""
    if not photos:
        raise BundleWriteError("self-test cases need at least one validation photo")
    pick = [photos[i % len(photos)] for i in range(5)]
    out = [
        SelftestSource(
            "s01-png",
            "s01-png.png",
            _png(_fit(pick[0], 320, 240)),
            True,
            "landscape RGB PNG 320x240",
        ),
        SelftestSource(
            "s02-png-tall",
            "s02-png-tall.png",
            _png(_fit(pick[1], 200, 300)),
            True,
            "portrait RGB PNG 200x300",
        ),
        SelftestSource(
            "s03-png-grey",
            "s03-png-grey.png",
            _png(_fit(pick[2], 300, 200).convert("L")),
            True,
            "greyscale (mode L) PNG 300x200",
        ),
        SelftestSource(
            "s04-png-360",
            "s04-png-360.png",
            _png(_fit(pick[3], 360, 360)),
            True,
            "RGB PNG already 360x360",
        ),
    ]
    im = _fit(pick[4], 320, 240)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    out.append(
        SelftestSource(
            "s05-jpg-exif6",
            "s05-jpg-exif6.jpg",
            buf.getvalue(),
            False,
            "JPEG q90 320x240 with EXIF orientation 6 (rotate 90 cw)",
        )
    )
    out.append(
        SelftestSource(
            "s06-png-wide-gamut",
            "s06-png-wide-gamut.png",
            _png(_fit(pick[0], 240, 240), icc_profile=wide_gamut_icc()),
            True,
            "RGB PNG 240x240 with a wide-gamut (ProPhoto) ICC profile, ignored",
        )
    )
    return out


@dataclass(frozen=True)
class SelftestCase:
    """A source image plus the fp32 reference results a device must reproduce."""

    source: SelftestSource
    rgb360: bytes
    orientation: int
    digests: dict[str, str]
    hash: str
    embedding: np.ndarray
    projections: np.ndarray
    fragile: str

    def to_json(self) -> dict[str, Any]:
        s = self.source
        return {
            "id": s.case_id,
            "source": s.filename,
            "lossless": s.lossless,
            "description": s.description,
            "orientation": self.orientation,
            "rgb360": f"{s.case_id}.rgb360",
            "digests": self.digests,
            "expected": {
                "hash": self.hash,
                "embedding": f32_to_hex(self.embedding),
                "projections": f64_to_hex(self.projections),
                "fragile": self.fragile,
            },
        }


def compute_selftest_cases(sources: list[SelftestSource], hasher: Hasher) -> list[SelftestCase]:
    """Run each source through the reference pipeline (the hasher must hold the fp32 ONNX
    backend and compute stage digests)."""
    cases = []
    ref = Hasher(hasher.backend, hasher.seed, hasher.spec, with_digests=True)
    for s in sources:
        prepared = ref.prepare(s.data, name=s.filename)
        res = ref.finish(ref.embed_prepared([prepared]), [prepared], [s.filename])[0]
        assert res.digests is not None
        cases.append(
            SelftestCase(
                source=s,
                rgb360=np.ascontiguousarray(prepared.rgb360, dtype=np.uint8).tobytes(),
                orientation=res.orientation,
                digests=res.digests.to_json(),
                hash=res.hex,
                embedding=res.embedding,
                projections=res.projections,
                fragile=bits_to_hex(res.fragile.astype(np.uint8)),
            )
        )
    return cases


@dataclass(frozen=True)
class DecodeCase:
    """A mode sampler file (export/mode_sampler.py) plus the reference decode a device must
    reproduce: spec steps 1-2 only, no model run."""

    source: SamplerFile
    orientation: int
    width: int  # oriented
    height: int
    decoded: str  # sha256 of the oriented RGB8 bytes

    def to_json(self) -> dict[str, Any]:
        s = self.source
        return {
            "id": s.case_id,
            "source": s.filename,
            "mode": s.mode,
            "description": s.description,
            "orientation": self.orientation,
            "width": self.width,
            "height": self.height,
            "decoded": self.decoded,
        }


def compute_decode_cases(spec: Spec, files: list[SamplerFile] | None = None) -> list[DecodeCase]:
    """The mode sampler's expected results from the reference decoder (runtime/decode.py)."""
    from nhkit.runtime.decode import decode_image
    from nhkit.runtime.digest import sha256_bytes

    out = []
    for f in sampler_files() if files is None else files:
        d = decode_image(f.data, orientation=spec.orientation, name=f.filename)
        rgb = np.ascontiguousarray(d.rgb)
        out.append(
            DecodeCase(
                f, d.orientation, int(rgb.shape[1]), int(rgb.shape[0]), sha256_bytes(rgb.tobytes())
            )
        )
    return out


def cases_json(
    bundle_id: str, cases: list[SelftestCase], decode_cases: list[DecodeCase] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "format": SELFTEST_FORMAT,
        "format_version": SELFTEST_VERSION,
        "bundle_id": bundle_id,
        "cases": [c.to_json() for c in cases],
    }
    if decode_cases:
        out["decode_cases"] = [d.to_json() for d in decode_cases]
    return out


# --------------------------------------------------------------------------------------------
# Bundles


def is_model_path(rel: str, model_file: str) -> bool:
    """Model files are STORED in the zip (Android memory-maps assets only when uncompressed)."""
    return rel == model_file or rel.startswith(model_file.rstrip("/") + "/")


def list_files(folder: Path) -> list[str]:
    """Every regular file under folder, sorted; anything else is a BundleWriteError."""
    try:
        return ziputil.list_files(folder, regular_only=True)
    except ziputil.ZipContentError as exc:
        raise BundleWriteError(f"{exc}; bundles may hold only regular files") from None


def write_zip(folder: Path, zip_path: Path, top: str, model_file: str) -> None:
    """The deterministic zip of a bundle folder (see docs/bundle-format.md): the model files
    are STORED, everything else DEFLATED."""
    list_files(folder)  # a symlink is a BundleWriteError before anything is written
    ziputil.write_deterministic_zip(
        folder, zip_path, top, stored=lambda rel: is_model_path(rel, model_file)
    )


def build_manifest(
    *,
    bundle_id: str,
    spec: Spec,
    source_model: dict[str, str],
    target: str,
    runtime: dict[str, str],
    variant: dict[str, str],
    model: dict[str, Any],
    seed_sha256: str,
    cases: int,
    files: list[dict[str, Any]],
    drift: dict[str, Any],
    tolerance: dict[str, int],
    tools: dict[str, str],
    selftest_separate: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest object in the documented key order.

    selftest_separate: {"archive": {...}, "files": [...]} when the self-test cases ship as the
    second artefact <bundle_id>.selftest.zip (docs/bundle-format.md, "Self-test placement")."""
    selftest: dict[str, Any] = {"file": "selftest/cases.json", "cases": cases}
    if selftest_separate is not None:
        selftest.update(selftest_separate)
    return {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "bundle_id": bundle_id,
        "spec": spec.to_json(),
        "source_model": source_model,
        "target": target,
        "runtime": runtime,
        "variant": variant,
        "model": model,
        "seed": {
            "file": "seed.f32",
            "rows": HASH_BITS,
            "cols": EMBEDDING_DIM,
            "dtype": "float32",
            "byte_order": "little",
            "sha256": seed_sha256,
        },
        "selftest": selftest,
        "files": files,
        "drift": drift,
        "tolerance": tolerance,
        "tools": tools,
    }


SELFTEST_PLACEMENTS = ("embed", "separate")


def selftest_archive_name(bundle_id: str) -> str:
    return f"{bundle_id}.selftest.zip"


def write_bundle(
    staging: Path,
    bundle_id: str,
    *,
    model_src: Path,
    model_file: str,
    seed: np.ndarray,
    cases: list[SelftestCase],
    manifest_fields: dict[str, Any],
    selftest: str = "embed",
    decode_cases: list[DecodeCase] | None = None,
) -> tuple[Path, Path]:
    """Assemble `staging/<bundle_id>/` and `staging/<bundle_id>.zip`; returns both paths.

    selftest "embed": the cases are in the bundle's selftest/ folder. "separate": they go to a
    second artefact `staging/<bundle_id>.selftest.zip` (so production apps need not ship
    them), which the manifest pins by sha256 and whose files it lists one by one.
    decode_cases: the mode sampler (decode-only cases), written beside the cases.
    manifest_fields: everything build_manifest needs except bundle_id, seed_sha256, cases and
    files, which are computed here from what was actually written."""
    if selftest not in SELFTEST_PLACEMENTS:
        raise BundleWriteError(
            f"self-test placement must be one of {SELFTEST_PLACEMENTS}, got {selftest!r}"
        )
    folder = staging / bundle_id
    if folder.exists():
        shutil.rmtree(folder)
    # Separate: the self-test tree is built beside the bundle, as it will be unpacked.
    st_root = folder if selftest == "embed" else staging / f".{bundle_id}.selftest"
    if st_root.exists() and st_root != folder:
        shutil.rmtree(st_root)
    folder.mkdir(parents=True)
    (st_root / "selftest").mkdir(parents=True)
    dst = folder / model_file
    if model_src.is_dir():
        shutil.copytree(model_src, dst)
    else:
        shutil.copyfile(model_src, dst)
    seed_bytes = seed_to_f32_bytes(seed)
    (folder / "seed.f32").write_bytes(seed_bytes)
    for c in cases:
        (st_root / "selftest" / c.source.filename).write_bytes(c.source.data)
        (st_root / "selftest" / f"{c.source.case_id}.rgb360").write_bytes(c.rgb360)
    for d in decode_cases or []:
        (st_root / "selftest" / d.source.filename).write_bytes(d.source.data)
    (st_root / "selftest" / "cases.json").write_bytes(
        json_bytes(cases_json(bundle_id, cases, decode_cases))
    )
    files = [
        {"path": rel, "sha256": sha256_file(folder / rel), "size": (folder / rel).stat().st_size}
        for rel in list_files(folder)
    ]
    separate = None
    if selftest == "separate":
        archive = staging / selftest_archive_name(bundle_id)
        write_zip(st_root, archive, bundle_id, model_file)
        separate = {
            "archive": {
                "file": archive.name,
                "sha256": sha256_file(archive),
                "size": archive.stat().st_size,
            },
            "files": [
                {
                    "path": rel,
                    "sha256": sha256_file(st_root / rel),
                    "size": (st_root / rel).stat().st_size,
                }
                for rel in list_files(st_root)
            ],
        }
        shutil.rmtree(st_root)
    manifest = build_manifest(
        bundle_id=bundle_id,
        seed_sha256=seed_sha256(seed),
        cases=len(cases),
        files=files,
        selftest_separate=separate,
        **manifest_fields,
    )
    from nhkit.runtime.bundle import validate_manifest

    validate_manifest(manifest, source=f"{bundle_id}/manifest.json")
    (folder / "manifest.json").write_bytes(json_bytes(manifest))
    zip_path = staging / f"{bundle_id}.zip"
    write_zip(folder, zip_path, bundle_id, model_file)
    return folder, zip_path


def bundle_size(folder: Path) -> int:
    return sum((folder / rel).stat().st_size for rel in list_files(folder))


class Staging:
    """A private folder inside OUT where the whole export is built, then moved into place.

    Same filesystem as OUT, so the final moves are renames; anything still staged when the
    export fails is deleted, so OUT never holds a half-written bundle."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.created_out = not out.exists()
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BundleWriteError(
                f"{out}: cannot create output folder: {exc.strerror or exc}"
            ) from None
        if not out.is_dir():
            raise BundleWriteError(f"{out}: output path exists and is not a folder")
        self.path = out / f".nhkit-export-{os.getpid()}.tmp"
        try:
            if self.path.exists():
                shutil.rmtree(self.path)
            self.path.mkdir()
            probe = self.path / ".probe"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            shutil.rmtree(self.path, ignore_errors=True)
            raise BundleWriteError(
                f"{out}: output folder is not writable: {exc.strerror or exc}"
            ) from None

    def commit(self, names: list[str]) -> list[Path]:
        """Rename staged entries into OUT, replacing older ones of the same name."""
        placed = []
        trash = self.path / ".replaced"
        trash.mkdir(exist_ok=True)
        for name in names:
            src, dst = self.path / name, self.out / name
            if dst.exists() or dst.is_symlink():
                os.replace(dst, trash / name)
            os.replace(src, dst)
            placed.append(dst)
        return placed

    def cleanup(self) -> None:
        """Delete the staging folder; after a failure, also the output folder if this export
        created it and nothing else is in it."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self.created_out:
            try:
                self.out.rmdir()  # only succeeds when empty, i.e. nothing was committed
            except OSError:
                pass
