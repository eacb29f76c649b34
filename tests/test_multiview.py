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


def test_members_join_the_mean_with_their_own_weights() -> None:
    """An ensemble (phase 20): every member embeds every view, all in one equal-weight mean;
    members with the same initializer names keep their own weights, not the first model's."""
    a, b = tm.tiny_onnx(seed=1), tm.tiny_onnx(seed=2)
    x = np.random.default_rng(6).uniform(-1, 1, (2, 3, 360, 360)).astype(np.float32)
    scales = [1.0, 0.8]
    ensemble = multiview.wrap(a, scales, members=[b])
    want = (embed(multiview.wrap(a, scales), x) + embed(multiview.wrap(b, scales), x)) / 2
    got = embed(ensemble, x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    assert np.abs(got - embed(multiview.wrap(a, scales), x)).max() > 1e-3
    names = [t.name for t in ensemble.graph.initializer]
    assert len(names) == len(set(names))
    n_a, n_b = len(a.graph.initializer), len(b.graph.initializer)
    assert sum(n.startswith("m1/") for n in names) == n_b and len(names) > n_a + n_b
    assert sum(n.op_type == "Resize" for n in ensemble.graph.node) == 1  # views cut once
    no_members = multiview.wrap(a, scales, members=[])
    assert no_members.SerializeToString() == multiview.wrap(a, scales).SerializeToString()


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


def test_resolution_probe_replaces_the_input_pool_by_a_resize() -> None:
    """resolution_probe.at_side: the pool's own side with a box-like filter stays close to the
    pool, a larger side runs the same weights on a larger map, a model without the pool is
    refused."""
    import resolution_probe

    model = pooled_tiny()
    x = np.random.default_rng(8).uniform(-1, 1, (2, 3, 360, 360)).astype(np.float32)
    x = resize_bilinear_half_pixel(
        resize_bilinear_half_pixel(x.astype(np.float64), 45, 45), 360, 360
    ).astype(np.float32)  # smooth, so the filters agree
    pooled = embed(model, x)
    same = embed(resolution_probe.at_side(model, 180), x)
    np.testing.assert_allclose(same, pooled, atol=0.02 * np.abs(pooled).max())
    larger = resolution_probe.at_side(model, 252)
    assert larger.graph.node[0].op_type == "Resize"
    assert "pool.w" not in {t.name for t in larger.graph.initializer}
    assert embed(larger, x).shape == pooled.shape
    with pytest.raises(ValueError, match="input pool"):
        resolution_probe.at_side(tm.tiny_onnx(), 252)


def pooled_tiny() -> onnx.ModelProto:
    """The tiny network behind a 2 x 2 stride-2 depthwise average, as every shipped model's
    first node (training/to_onnx.py --input-pool 2)."""
    model = tm.tiny_onnx()
    g = model.graph
    image = g.input[0].name
    weights = np.full((3, 1, 2, 2), 0.25, np.float32)
    g.initializer.append(onnx.numpy_helper.from_array(weights, "pool.w"))
    for node in g.node:
        node.input[:] = ["pooled" if i == image else i for i in node.input]
    pool = onnx.helper.make_node(
        "Conv", [image, "pool.w"], ["pooled"], group=3, kernel_shape=[2, 2], strides=[2, 2]
    )
    g.node.insert(0, pool)
    onnx.checker.check_model(model)
    return model


def test_cli_members_need_the_same_seed_and_are_recorded(tmp_path: Path) -> None:
    base = candidate_folder(tmp_path)
    member = tmp_path / "member"
    shutil.copytree(base, member)
    onnx.save(tm.tiny_onnx(seed=2), str(member / "model.onnx"))
    out = tmp_path / "ensemble"
    cmd = [sys.executable, str(ROOT / "training" / "multiview.py"), str(base), "--scales", "1"]
    cmd += ["--out", str(out), "--name", "t-ens", "--version", "0.0.1", "--members", str(member)]
    subprocess.run(cmd, check=True, capture_output=True)
    info = json.loads((out / "model.json").read_text())
    assert [m["folder"] for m in info["multiview"]["members"]] == [str(member)]
    with_luma = tmp_path / "ensemble-luma"
    subprocess.run(
        [*cmd[:6], str(with_luma), *cmd[7:], "--gray-scales", "1"], check=True, capture_output=True
    )
    luma_info = json.loads((with_luma / "model.json").read_text())["multiview"]
    assert luma_info["gray_scales"] == [1.0] and len(luma_info["members"]) == 1
    assert "every member" in luma_info["combine"] and "luma" in luma_info["combine"]
    x = np.random.default_rng(9).uniform(-1, 1, (1, 3, 360, 360)).astype(np.float32)
    want = (embed(tm.tiny_onnx(), x) + embed(tm.tiny_onnx(seed=2), x)) / 2
    got = embed(onnx.load(str(out / "model.onnx")), x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    seed = np.fromfile(member / "seed.f32", np.float32)
    (member / "seed.f32").write_bytes((-seed).tobytes())
    bad = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and f"{member}/seed.f32: not {base}'s seed" in bad.stderr


def test_a_luma_only_wrap_hashes_a_photo_and_its_grayscale_copy_alike() -> None:
    """Phase 21: with no colour scales every view is of the luma image, so a grayscale or
    desaturated copy (the same luma) gets the original's embedding, as PDQ's hash would."""
    model = tm.tiny_onnx()
    x = np.random.default_rng(11).uniform(-1, 1, (2, 3, 360, 360)).astype(np.float32)
    luma = np.tensordot(np.array(multiview.LUMA, np.float32), x, axes=([0], [1]))
    gray = np.repeat(luma[:, None], 3, axis=1).astype(np.float32)
    desaturated = (0.5 * x + 0.5 * gray).astype(np.float32)  # Pillow's Color(0.5): same luma
    wrapped = multiview.wrap(model, [], [1.0, 0.8])
    got = embed(wrapped, x)
    np.testing.assert_allclose(got, embed(multiview.wrap(model, [1.0, 0.8]), gray), atol=1e-5)
    for copy in (gray, desaturated):
        np.testing.assert_allclose(embed(wrapped, copy), got, atol=1e-5)
    assert np.abs(got - embed(multiview.wrap(model, [1.0, 0.8]), x)).max() > 1e-3


def test_training_luma_is_the_wraps_luma() -> None:
    """train.py --luma feeds the network multiview.tf_luma: the wrap's 1x1 convolution."""
    x = np.random.default_rng(12).uniform(-1, 1, (2, 3, 40, 40)).astype(np.float32)
    sess = ort.InferenceSession(
        multiview.wrap(identity_onnx(), [], [1.0]).SerializeToString(),
        providers=["CPUExecutionProvider"],
    )
    want = sess.run(None, {"image": x})[0]
    got = np.asarray(multiview.tf_luma(x.transpose(0, 2, 3, 1))).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert np.allclose(got[:, 0], got[:, 2]) and not np.allclose(got, x)


def identity_onnx() -> onnx.ModelProto:
    """A 'network' that returns its input: the wrap's view of an image, made visible."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["embedding"])],
        "identity",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 40, 40])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 3, 40, 40])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)


def test_cli_gives_a_luma_trained_network_luma_views_only(tmp_path: Path) -> None:
    base = candidate_folder(tmp_path)
    card = json.loads((base / "model.json").read_text())
    card.setdefault("training", {})["luma"] = True
    (base / "model.json").write_text(json.dumps(card))
    cmd = [sys.executable, str(ROOT / "training" / "multiview.py"), str(base)]
    cmd += ["--name", "t-luma", "--version", "0.0.1"]
    bad = subprocess.run(
        [*cmd, "--scales", "1,0.8", "--out", str(tmp_path / "no")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0 and "trained on luma" in bad.stderr
    assert not (tmp_path / "no").exists()
    out = tmp_path / "luma"
    cmd += ["--scales", "", "--gray-scales", "1,0.8", "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    info = json.loads((out / "model.json").read_text())["multiview"]
    assert info["scales"] == [] and info["gray_scales"] == [1.0, 0.8]
    assert info["gray_views"] == [[0, 360], [36, 324]] and "luma" in info["combine"]


def test_resolution_probe_carries_each_convolution_statistics_over_to_the_new_side() -> None:
    """resolution_probe.fix_resolution: after the fix, every convolution's output channels have,
    at the larger side, the mean and spread they have at the pool's side on the same inputs
    (convolutions with and without a bias); before it they do not."""
    import resolution_probe as rp

    model = pooled_tiny()
    x = np.random.default_rng(9).uniform(-1, 1, (6, 3, 360, 360)).astype(np.float32)
    larger = rp.at_side(model, 252)
    fixed, n = rp.fix_resolution(larger, model, x)
    convs = [m.output[0] for m in model.graph.node if m.op_type == "Conv" and m.input[0] != "image"]
    assert n == len(convs) > 5
    want = rp._conv_stats(model, convs, x)
    before = rp._conv_stats(larger, convs, x)
    after = rp._conv_stats(fixed, convs, x)
    spatial = [c for c in convs if not np.allclose(before[c][1], want[c][1], rtol=0.02)]
    assert spatial  # the side does move the statistics the fix is for
    for c in convs:
        for got, ref in zip(after[c], want[c]):
            np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4 * np.abs(ref).max())
