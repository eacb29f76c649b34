"""training/pooling_probe.py recomputes the network after its last pool in numpy; with the
uniform width that must be the ONNX graph's own output, or every probe figure is wrong."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

from pooling_probe import gaussian_weights, head_numpy, last_pool  # noqa: E402


def tail_graph(rng: np.random.Generator):
    """conv feature map -> GlobalAveragePool -> Flatten -> Gemm -> HardSwish -> Gemm (transB)."""
    w1 = rng.normal(size=(4, 5)).astype(np.float32)
    w2 = rng.normal(size=(3, 5)).astype(np.float32)
    nodes = [
        helper.make_node("Relu", ["x"], ["fmap"]),
        helper.make_node("GlobalAveragePool", ["fmap"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w1", "b1"], ["h"]),
        helper.make_node("HardSwish", ["h"], ["hs"]),
        helper.make_node("Gemm", ["hs", "w2", "b2"], ["embedding"], transB=1),
    ]
    inits = [
        numpy_helper.from_array(w1, "w1"),
        numpy_helper.from_array(rng.normal(size=5).astype(np.float32), "b1"),
        numpy_helper.from_array(w2, "w2"),
        numpy_helper.from_array(rng.normal(size=3).astype(np.float32), "b2"),
    ]
    g = helper.make_graph(
        nodes,
        "tail",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4, 6, 6])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [2, 3])],
        inits,
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_uniform_width_reproduces_the_graph_and_narrow_widths_favour_the_centre() -> None:
    rng = np.random.default_rng(3)
    model = tail_graph(rng)
    x = rng.normal(size=(2, 4, 6, 6)).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString()).run(["embedding"], {"x": x})[0]
    fmap_name, after = last_pool(model)
    assert fmap_name == "fmap" and [n.op_type for n in after][0] == "Flatten"
    fmap = np.maximum(x, 0)
    g = gaussian_weights(6, 6, float("inf"))
    pooled = np.einsum("nchw,hw->nc", fmap, g)[:, :, None, None]
    np.testing.assert_allclose(head_numpy(model, after, pooled), want, rtol=1e-5, atol=1e-5)
    narrow = gaussian_weights(6, 6, 0.35)
    assert abs(narrow.sum() - 1) < 1e-6 and np.allclose(g, 1 / 36)
    assert narrow[2:4, 2:4].sum() > 0.4 and narrow[2, 2] > 50 * narrow[0, 0]
