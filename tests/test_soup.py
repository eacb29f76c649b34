"""Phase 15's weight average: soup.average gives each float initializer the weighted mean of the
members' and refuses members whose graphs differ, so a soup is only ever one lineage's."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

import soup  # noqa: E402


def linear(w: np.ndarray, b: np.ndarray, op: str = "Add") -> onnx.ModelProto:
    """y = x @ w (+ or -) b: a graph small enough to check the average by hand."""
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["xw"]),
        helper.make_node(op, ["xw", "b"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(["y"], {"x": x})[0]


def test_average_is_the_weighted_mean_of_each_initializer() -> None:
    rng = np.random.default_rng(0)
    ws = [rng.normal(size=(3, 2)).astype(np.float32) for _ in range(3)]
    bs = [rng.normal(size=(2,)).astype(np.float32) for _ in range(3)]
    weights = [0.5, 0.25, 0.25]
    out = soup.average([linear(w, b) for w, b in zip(ws, bs)], ["a", "b", "c"], weights)
    got = {t.name: numpy_helper.to_array(t) for t in out.graph.initializer}
    np.testing.assert_allclose(got["w"], sum(k * w for k, w in zip(weights, ws)), rtol=1e-6)
    np.testing.assert_allclose(got["b"], sum(k * b for k, b in zip(weights, bs)), rtol=1e-6)
    # the network is linear in its weights here, so the soup's output is the outputs' mean
    x = rng.normal(size=(1, 3)).astype(np.float32)
    mean_out = sum(k * run(linear(w, b), x) for k, w, b in zip(weights, ws, bs))
    np.testing.assert_allclose(run(out, x), mean_out, rtol=1e-5, atol=1e-6)


def test_members_with_another_graph_are_refused_by_name() -> None:
    w, b = np.ones((3, 2), np.float32), np.zeros(2, np.float32)
    with pytest.raises(SystemExit, match="other: graph differs"):
        soup.average([linear(w, b), linear(w, b, op="Sub")], ["first", "other"], [0.5, 0.5])
    with pytest.raises(SystemExit, match="other: initializers differ"):
        soup.average(
            [linear(w, b), linear(np.ones((3, 2), np.float32), np.zeros(3, np.float32))],
            ["first", "other"],
            [0.5, 0.5],
        )
