"""Phase 20's bounds (training/bound_activations.py): which activations get a Clip (those the
int8 export quantizes, past its float stem, at the tensor the export keeps), that the bounds are
the export's statistic, that a bounded model equals its source inside the bounds and saturates
outside them, and that the folder the CLI writes hashes through the runtime."""

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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

import bound_activations as ba  # noqa: E402


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def images(seed: int, n: int = 4, scale: float = 1.0) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(-1, 1, (n, 3, 360, 360)) * scale
    return x.astype(np.float32)


def test_bounds_follow_the_export_float_stem_and_fusions() -> None:
    model = tm.tiny_onnx()
    names = ba.bounded_outputs(model)
    ops = {o: n.op_type for n in model.graph.node for o in n.output}
    # the float stem: the first three convolutions along the depth (the stem, the depthwise and
    # the first squeeze-excite reduce, at depth 3) and the activation right after the third
    assert not {"conv_2", "bn_7", "hardswish_8", "conv_12", "bn_17", "relu_18"} & set(names)
    assert not {"conv_22", "relu_23"} & set(names)
    # convolutions and matmuls the export fuses into their batch norm, ReLU, hard sigmoid or bias
    # add are bounded there
    assert "conv_30" not in names and "bn_35" in names
    assert "conv_55" not in names and "relu_56" in names
    assert "conv_26" not in names and "hardsigmoid_27" in names
    assert "matmul_85" not in names and "fc_add_87" in names
    assert {ops[n] for n in names} <= ba.BOUNDED_OPS
    assert "flatten_79" not in names and "embedding_88" not in names  # pass-through
    with pytest.raises(ValueError, match="fewer than 3 convolutions"):
        ba.bounded_outputs(tm.spatial_flatten_onnx())


def test_bounded_model_is_its_source_inside_the_bounds_and_saturates_outside() -> None:
    model = tm.tiny_onnx()
    names = ba.bounded_outputs(model)
    cal = images(1)
    ranges = ba.measure_ranges(model, names, cal, 0.0)  # q = 0: the absolute min / max
    bounded = ba.bound(model, ranges)
    clips = [n for n in bounded.graph.node if n.op_type == "Clip"]
    assert len(clips) == len(names)
    ops = {o: n.op_type for n in model.graph.node for o in n.output}
    for clip in clips:  # no lower bound of 0 after an op that cannot go below 0
        name = clip.output[0]
        assert (clip.input[1] == "") == (ops[name] in ba.NONNEGATIVE and ranges[name][0] == 0.0)
    assert any(c.input[1] == "" for c in clips) and any(c.input[1] for c in clips)
    assert [o.name for o in bounded.graph.output] == [o.name for o in model.graph.output]
    inside = run(model, cal)  # nothing past a bound; the Clips only change ORT's op fusion
    np.testing.assert_allclose(run(bounded, cal), inside, rtol=0, atol=1e-5 * np.abs(inside).max())
    loud = images(2, scale=1.0)
    loud = np.clip(loud * 40.0, -1.0, 1.0).astype(np.float32)  # hard-edged, unlike cal
    assert np.abs(run(bounded, loud) - run(model, loud)).max() > 1e-4
    probe = ba.measure_ranges(bounded, names, loud, 0.0)
    for n in names:  # every bounded tensor stays within its bounds
        assert ranges[n][0] - 1e-5 <= probe[n][0] and probe[n][1] <= ranges[n][1] + 1e-5


def test_ranges_are_the_widest_per_image_quantiles_holding_zero() -> None:
    model = tm.tiny_onnx()
    names = ba.bounded_outputs(model)[:3]
    cal = images(3, n=3)
    got = ba.measure_ranges(model, names, cal, 1e-2)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(
        onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names
    )
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    for k, n in enumerate(names):
        per = [
            np.quantile(sess.run(None, {"image": cal[i : i + 1]})[k], [1e-2, 1 - 1e-2])
            for i in range(3)
        ]
        lo, hi = min(p[0] for p in per), max(p[1] for p in per)
        assert got[n] == pytest.approx((min(lo, 0.0), max(hi, 0.0)))


def test_cli_writes_a_bounded_model_folder(tmp_path: Path) -> None:
    from nhkit.runtime.hasher import Hasher

    src = ROOT / "runtime" / "models" / "nhkit-mnv3s-v2"
    base = tmp_path / "base"
    base.mkdir()
    onnx.save(tm.tiny_onnx(), str(base / "model.onnx"))
    for f in ("seed.dat", "seed.f32", "model.json"):
        shutil.copy(src / f, base / f)
    cal = tmp_path / "cal"
    cal.mkdir()
    for f in sorted((ROOT / "export" / "data" / "calibration").glob("*.jpg"))[:3]:
        shutil.copy(f, cal / f.name)
    out = tmp_path / "bounded"
    cmd = [sys.executable, str(ROOT / "training" / "bound_activations.py"), str(base)]
    cmd += ["--calibration", str(cal), "--out", str(out), "--name", "t-b", "--version", "0.0.1"]
    subprocess.run(cmd, check=True, capture_output=True)
    info = json.loads((out / "model.json").read_text())
    bounds = info["activation_bounds"]
    assert info["name"] == "t-b" and bounds["tensors"] == len(ba.bounded_outputs(tm.tiny_onnx()))
    assert bounds["calibration"]["images"] == 6  # 3 photos x full and mirror
    rgb = np.random.default_rng(2).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    got = Hasher.from_onnx(str(out / "model.onnx"), str(out / "seed.dat")).hash_rgb(rgb)
    assert len(got.hex) == 24
    bad = subprocess.run(
        [*cmd[:2], str(tmp_path / "none"), *cmd[3:]], capture_output=True, text=True
    )
    assert bad.returncode != 0 and "not a model folder" in bad.stderr
