"""Shared fixtures: a tiny NeuralHash-shaped model + seed made on the fly (no downloads, no
../shared), and the committed held-out test photos."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

from nh_models import build_tiny_model, make_seed  # noqa: E402

PHOTOS = TESTS.parent / "export" / "data" / "validation"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(model.onnx, seed.dat) of a small NeuralHash-format model."""
    from nhkit.runtime.seed import seed_to_dat_bytes

    d = tmp_path_factory.mktemp("tiny-model")
    model = build_tiny_model(d / "model.onnx")
    seed = d / "seed.dat"
    seed.write_bytes(seed_to_dat_bytes(make_seed()))
    return model, seed


@pytest.fixture(scope="session")
def photos() -> list[Path]:
    files = sorted(PHOTOS.glob("*.jpg"))
    assert len(files) >= 8, "export/data/validation is missing"
    return files


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
