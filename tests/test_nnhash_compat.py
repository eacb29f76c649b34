"""NeuralHash compatibility: `nhkit hash --orientation ignore` gives exactly the hash of the
`nnhash.py` procedure (AppleNeuralHash2ONNX), for opaque images whose resize does not depend on
Pillow's pass order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from PIL import Image

from nhkit.runtime.cli import main
from nhkit.runtime.resize import resize_rgb
from nh_models import build_tiny_model


def nnhash_procedure(model_path: Path, seed_path: Path, image_path: Path) -> str:
    """The nnhash.py procedure, step by step, as the oracle (float32 dot and all)."""
    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    seed1 = np.frombuffer(seed_path.read_bytes()[128:], dtype=np.float32).reshape([96, 128])
    image = Image.open(image_path).convert("RGB")
    image = image.resize([360, 360])
    arr = np.array(image).astype(np.float32) / 255.0
    arr = arr * 2.0 - 1.0
    arr = arr.transpose(2, 0, 1).reshape([1, 3, 360, 360])
    outs = session.run(None, {session.get_inputs()[0].name: arr})
    hash_output = seed1.dot(outs[0].flatten())
    hash_bits = "".join(["1" if it >= 0 else "0" for it in hash_output])
    return "{:0{}x}".format(int(hash_bits, 2), len(hash_bits) // 4)


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
    assert main(["hash", "--orientation", "ignore", "--model", str(model), "--seed", str(seed),
                 "--no-progress", *map(str, images)]) == 0
    lines = capsys.readouterr().out.splitlines()
    ours = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}
    for p in images:
        rgb = np.asarray(Image.open(p).convert("RGB"))
        assert np.array_equal(resize_rgb(rgb), np.asarray(Image.open(p).convert("RGB").resize(
            [360, 360]))), f"{p}: resize depends on pass order; not a fair comparison"
        assert ours[str(p)] == nnhash_procedure(model, seed, p), p
