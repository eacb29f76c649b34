"""Fixtures shared by the runtime tests.

`golden_materials`: synthetic images, the tiny model's hasher, a golden set of the images and an
exact device report for them, made once per session (golden_support.py builds them). Modules
write their own files from it, so no test sees another's edits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from golden_support import make_golden, make_hasher, make_images, make_report

from nhkit.runtime.golden import GoldenSet
from nhkit.runtime.hasher import Hasher
from nhkit.runtime.report import DeviceReport


@dataclass(frozen=True)
class GoldenMaterials:
    hasher: Hasher
    images: list[Path]
    golden: GoldenSet
    report: DeviceReport


@pytest.fixture(scope="session")
def golden_materials(
    tiny_model: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> GoldenMaterials:
    images = make_images(tmp_path_factory.mktemp("golden-materials") / "img")
    hasher = make_hasher(tiny_model)
    return GoldenMaterials(
        hasher=hasher,
        images=images,
        golden=make_golden(hasher, images, tiny_model[0]),
        report=make_report(hasher, images),
    )
