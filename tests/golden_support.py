"""Helpers for the golden/report/check/selftest tests: synthetic images, a golden set and a
matching device report made with the tiny ONNX model, and ways to damage them the way real
devices and bridges do (model drift on chosen bits, a wrong resize, a broken sign step)."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from nhkit.runtime.golden import GoldenSet, create_golden, image_ids, model_info_for_onnx
from nhkit.runtime.hasher import Hasher
from nhkit.runtime.hashing import bits_from_projections, bits_to_hex, project
from nhkit.runtime.report import BundleRef, DeviceReport, ReportCase
from nhkit.runtime.selftest import make_report as wrap_report
from nhkit.runtime.selftest import run_cases

MARGIN = 0.05  # fragile margin for the tiny model: roughly a quarter of its bits are fragile


def make_images(folder: Path, seed: int = 7) -> list[Path]:
    """Four lossless PNGs (landscape, tall, grey, exactly 360x360) and a JPEG with EXIF
    orientation 6: the same kinds of cases a bundle's self-test carries."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)

    def smooth(h: int, w: int) -> np.ndarray:
        y, x = np.mgrid[0:h, 0:w]
        base = np.stack([np.sin(x / (7 + c) + c) * np.cos(y / (11 + 2 * c)) for c in range(3)], -1)
        noise = rng.normal(0, 0.15, (h, w, 3))
        return ((base + noise) * 60 + 128).clip(0, 255).astype(np.uint8)

    out = []
    for name, (h, w) in [("c1-wide", (60, 90)), ("c2-tall", (120, 50)), ("c4-square", (360, 360))]:
        p = folder / f"{name}.png"
        Image.fromarray(smooth(h, w)).save(p)
        out.append(p)
    grey = folder / "c3-grey.png"
    Image.fromarray(smooth(70, 80)[:, :, 0], "L").save(grey)
    out.insert(2, grey)
    jpg = folder / "c5-jpeg.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(smooth(48, 64)).save(jpg, "JPEG", quality=85, exif=exif.tobytes())
    out.append(jpg)
    return out


def make_hasher(tiny_model: tuple[Path, Path]) -> Hasher:
    model, seed = tiny_model
    return Hasher.from_onnx(model, seed, fragile_margin=MARGIN)


def make_golden(hasher: Hasher, images: list[Path], model: Path) -> GoldenSet:
    paths = [str(p) for p in images]
    return create_golden(hasher, paths, image_ids(paths), model_info_for_onnx(model, hasher))


BUNDLE = BundleRef(
    bundle_id="tiny.onnx-fp32", manifest_sha256="ab" * 32, checksums_verified=True, target="onnx"
)


def make_report(hasher: Hasher, images: list[Path], bundle: BundleRef = BUNDLE) -> DeviceReport:
    """A report as `nhkit selftest` writes it, computed with the same model: exact."""
    cases = run_cases(
        [(p.stem, p.read_bytes(), p.name) for p in images],
        spec=hasher.spec,
        backend=hasher.backend,
        seed=hasher.seed,
    )
    return wrap_report(cases, backend=hasher.backend, spec=hasher.spec, bundle=bundle)


def flip_bits(case: ReportCase, seed: np.ndarray, bits: list[int]) -> ReportCase:
    """Model drift that flips exactly `bits`: reflect the embedding across those seed rows'
    hyperplanes (the tiny seed's rows are orthonormal, so other projections stay put), then
    recompute projections and hash exactly as a correct device would."""
    assert case.embedding is not None and case.projections is not None
    e = case.embedding.astype(np.float64)
    s = np.asarray(seed, dtype=np.float64)
    for i in bits:
        e = e - 2.0 * float(s[i] @ e) * s[i] / float(s[i] @ s[i])
    emb = e.astype(np.float32)
    proj = project(seed, emb)
    return dataclasses.replace(
        case, embedding=emb, projections=proj, hash=bits_to_hex(bits_from_projections(proj))
    )


def with_cases(report: DeviceReport, cases: list[ReportCase]) -> DeviceReport:
    return dataclasses.replace(report, cases=cases)


def replace_case(report: DeviceReport, case_id: str, **changes: Any) -> DeviceReport:
    return with_cases(
        report, [dataclasses.replace(c, **changes) if c.id == case_id else c for c in report.cases]
    )


def map_case(report: DeviceReport, case_id: str, fn: Any) -> DeviceReport:
    return with_cases(report, [fn(c) if c.id == case_id else c for c in report.cases])


def write(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj, indent=1), encoding="utf-8")
    return path


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()
