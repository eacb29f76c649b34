"""NeuralHash compatibility: `nhkit hash --orientation ignore` gives exactly the hash of the
`nnhash.py` procedure (AppleNeuralHash2ONNX), for opaque images whose resize does not depend on
Pillow's pass order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from nh_models import build_tiny_model
from nnhash_oracle import load_seed1, nnhash_hash
from PIL import Image

from nhkit.runtime.cli import main
from nhkit.runtime.resize import resize_rgb


def nnhash_procedure(model_path: Path, seed_path: Path, image_path: Path) -> str:
    """nnhash.py as run once per image: a fresh session, the seed read from the .dat file."""
    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return nnhash_hash(session, load_seed1(seed_path), image_path)


@pytest.fixture(scope="module")
def neuralhash_model(tmp_path_factory, tiny_model) -> tuple[Path, Path]:
    """Fixed batch dimension 1, like Apple's exported model."""
    d = tmp_path_factory.mktemp("nh")
    return build_tiny_model(d / "model.onnx", batch=1, seed=5), tiny_model[1]


def test_nhkit_equals_nnhash_procedure(neuralhash_model, photos, tmp_path, capsys, rng) -> None:
    model, seed = neuralhash_model
    images = []
    for p in photos:
        w, h = Image.open(p).size
        if w >= h:  # wide or square: Pillow's own two-axis resize runs horizontal first too
            images.append(p)
    for k, (w, h) in enumerate([(500, 400), (361, 360), (800, 200), (360, 360)]):
        path = tmp_path / f"synthetic{k}.png"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
        images.append(path)
    assert len(images) >= 10
    assert (
        main(
            [
                "hash",
                "--orientation",
                "ignore",
                "--model",
                str(model),
                "--seed",
                str(seed),
                "--no-progress",
                *map(str, images),
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    ours = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}
    for p in images:
        rgb = np.asarray(Image.open(p).convert("RGB"))
        assert np.array_equal(
            resize_rgb(rgb), np.asarray(Image.open(p).convert("RGB").resize([360, 360]))
        ), f"{p}: resize depends on pass order; not a fair comparison"
        assert ours[str(p)] == nnhash_procedure(model, seed, p), p
