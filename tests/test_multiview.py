"""Phase 16's wrap (training/multiview.py): the wrapped model's embedding is the mean of the
model's embeddings of centre views resized back to 360 x 360, its weights are shared rather
than copied, and the folder it writes hashes through the runtime like any model folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from nhkit.export import testmodels as tm
from nhkit.runtime.coreml.ops import resize_bilinear_half_pixel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

import multiview  # noqa: E402


def embed(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def test_the_wrap_is_the_mean_over_resized_centre_views() -> None:
    model = tm.tiny_onnx()
    x = np.random.default_rng(4).uniform(-1, 1, (2, 3, 360, 360)).astype(np.float32)
    np.testing.assert_array_equal(embed(multiview.wrap(model, [1.0]), x), embed(model, x))
    scales = [1.0, 0.8, 0.64]
    views = []
    for s in scales:
        start, end = multiview.view_box(s)
        crop = x[:, :, start:end, start:end]
        views.append(resize_bilinear_half_pixel(crop.astype(np.float64), 360, 360))
    want = np.mean([embed(model, v.astype(np.float32)) for v in views], axis=0)
    got = embed(multiview.wrap(model, scales), x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    assert np.abs(got - embed(model, x)).max() > 1e-2  # the views do change the embedding


def test_gray_views_average_in_the_luma_image() -> None:
    """The probe's colour-invariance views: the luma image (BT.601, replicated to 3 channels)."""
    model = tm.tiny_onnx()
    x = np.random.default_rng(5).uniform(-1, 1, (2, 3, 360, 360)).astype(np.float32)
    luma = np.tensordot(np.array(multiview.LUMA, np.float32), x, axes=([0], [1]))
    gray = np.repeat(luma[:, None], 3, axis=1).astype(np.float32)
    want = (embed(model, x) + embed(model, gray)) / 2
    got = embed(multiview.wrap(model, [1.0], [1.0]), x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_views_are_centred_and_weights_shared() -> None:
    assert multiview.view_box(1.0) == (0, 360)
    assert multiview.view_box(0.8) == (36, 324)
    assert multiview.view_box(0.64) == (65, 295)  # 230.4 -> 230 pixels, 65 on each side
    assert multiview.parse_scales("1, 0.8,0.64,") == [1.0, 0.8, 0.64]
    model = tm.tiny_onnx()
    wrapped = multiview.wrap(model, [1.0, 0.8, 0.64, 0.512])

    def weight_bytes(m: onnx.ModelProto) -> int:
        return sum(len(t.SerializeToString()) for t in m.graph.initializer)

    assert weight_bytes(wrapped) < weight_bytes(model) + 1024  # a few index constants
    assert sum(n.op_type == "Resize" for n in wrapped.graph.node) == 3
    with pytest.raises(ValueError, match="not in"):
        multiview.view_box(1.2)
    with pytest.raises(ValueError, match="no view scales"):
        multiview.wrap(model, [])


def candidate_folder(tmp_path: Path) -> Path:
    """The tiny network with the default model's seed and card: a folder the CLI accepts."""
    src = ROOT / "runtime" / "models" / "nhkit-mnv3s-v2"
    folder = tmp_path / "base"
    folder.mkdir()
    onnx.save(tm.tiny_onnx(), str(folder / "model.onnx"))
    for f in ("seed.dat", "seed.f32", "model.json"):
        shutil.copy(src / f, folder / f)
    return folder


def test_cli_writes_a_model_folder_the_runtime_hashes_with(tmp_path: Path) -> None:
    from nhkit.runtime.hasher import Hasher

    base = candidate_folder(tmp_path)
    out = tmp_path / "wrapped"
    cmd = [sys.executable, str(ROOT / "training" / "multiview.py"), str(base)]
    cmd += ["--scales", "1,0.8", "--out", str(out), "--name", "t-mv", "--version", "0.0.1"]
    subprocess.run(cmd, check=True, capture_output=True)
    info = json.loads((out / "model.json").read_text())
    assert info["name"] == "t-mv" and info["multiview"]["scales"] == [1.0, 0.8]
    assert info["multiview"]["views"] == [[0, 360], [36, 324]] and info["opset"] == 18
    assert (out / "seed.dat").read_bytes() == (base / "seed.dat").read_bytes()
    rgb = np.random.default_rng(2).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    wrapped = Hasher.from_onnx(str(out / "model.onnx"), str(out / "seed.dat")).hash_rgb(rgb)
    plain = Hasher.from_onnx(str(base / "model.onnx"), str(base / "seed.dat")).hash_rgb(rgb)
    assert len(wrapped.hex) == 24 and wrapped.bits.shape == plain.bits.shape
    missing = tmp_path / "nothing"
    missing.mkdir()
    bad = subprocess.run(
        [*cmd[:2], str(missing), *cmd[3:]], capture_output=True, text=True, check=False
    )
    assert bad.returncode != 0 and f"{missing}: not a candidate folder" in bad.stderr


def test_training_views_are_the_wraps_views() -> None:
    """train.py --views trains through the same boxes and the same half-pixel bilinear resize
    the ONNX wrap ships (at the training resolution)."""
    x = np.random.default_rng(7).uniform(-1, 1, (2, 180, 180, 3)).astype(np.float32)
    views = multiview.tf_views(x, [1.0, 0.8, 0.512])
    assert views[0] is x and [tuple(v.shape) for v in views[1:]] == [(2, 180, 180, 3)] * 2
    for s, v in zip([0.8, 0.512], views[1:]):
        start, end = multiview.view_box(s, 180)
        crop = x[:, start:end, start:end, :].transpose(0, 3, 1, 2).astype(np.float64)
        want = resize_bilinear_half_pixel(crop, 180, 180).transpose(0, 2, 3, 1)
        np.testing.assert_allclose(np.asarray(v), want, atol=1e-4)  # float32 coordinates
