"""Core ML packages made once per session by coremltools (tests needing them skip without it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from coreml_testmodel import coreml_packages


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("coremltools")
    return coreml_packages(tmp_path_factory.getbasetemp() / "coreml-packages")
