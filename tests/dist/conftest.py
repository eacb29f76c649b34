"""Fixtures for nhkit.dist: a folder of the shipped validation photos plus bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")

CORRUPT = {
    "garbage.jpg": b"this is not an image",
    "empty.png": b"",
}


@pytest.fixture(scope="session")
def library(photos, tmp_path_factory) -> Path:
    """8 good photos (one in a subfolder) and 3 bad files: the shape of a real library."""
    root = tmp_path_factory.mktemp("library")
    (root / "sub").mkdir()
    for i, p in enumerate(photos[:8]):
        shutil.copy(p, (root / "sub" if i % 4 == 3 else root) / p.name)
    for name, data in CORRUPT.items():
        (root / name).write_bytes(data)
    truncated = photos[0].read_bytes()
    (root / "truncated.jpg").write_bytes(truncated[: len(truncated) // 3])
    return root


def library_files(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.is_file())


RAY_INIT = dict(num_cpus=2, include_dashboard=False, log_to_driver=False,
                configure_logging=True, logging_level="warning")


def restart_cluster() -> None:
    """A fresh local cluster in this driver (what a new `nhkit hash --engine ray` process
    gets); later tests keep using the module-level `ray`, now connected to it."""
    import ray

    ray.shutdown()
    ray.init(**RAY_INIT)


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster with 2 CPUs for every test in tests/dist (start-up is the slow
    part); nhkit's default actor claim (0.5 CPU) leaves room for the read tasks."""
    ray = pytest.importorskip("ray")
    ray.init(**RAY_INIT)
    yield ray
    ray.shutdown()
