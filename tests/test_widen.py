"""training/widen.py: a wider last convolution that computes the same embedding."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))

import widen  # noqa: E402


def _tail_model(last: int = 8, hidden: int = 16) -> onnx.ModelProto:
    """The tail to_onnx.py writes (last conv, HardSwish, pool, Flatten, head Gemms), after a
    pool that shrinks the 360 x 360 input."""
    rng = np.random.default_rng(3)

    def init(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.normal(0, 0.5, shape).astype(np.float32), name)

    nodes = [
        helper.make_node("AveragePool", ["image"], ["p"], kernel_shape=[30, 30], strides=[30, 30]),
        helper.make_node("Conv", ["p", "conv_1.w", "conv_1.b"], ["conv_1"], name="conv_1"),
        helper.make_node("HardSwish", ["conv_1"], ["hs"], name="hswish_2"),
        helper.make_node("GlobalAveragePool", ["hs"], ["gap.pool"], name="gap_3"),
        helper.make_node("Flatten", ["gap.pool"], ["gap"], axis=1, name="gap_3_flat"),
        helper.make_node(
            "Gemm", ["gap", "head_hidden_4.w", "head_hidden_4.b"], ["h"], name="head_hidden_4"
        ),
        helper.make_node("HardSwish", ["h"], ["hh"], name="hswish_5"),
        helper.make_node(
            "Gemm", ["hh", "embedding.w", "embedding.b"], ["embedding"], name="embedding"
        ),
    ]
    inits = [
        init("conv_1.w", (last, 3, 1, 1)),
        init("conv_1.b", (last,)),
        init("head_hidden_4.w", (last, hidden)),
        init("head_hidden_4.b", (hidden,)),
        init("embedding.w", (hidden, 4)),
        init("embedding.b", (4,)),
    ]
    graph = helper.make_graph(
        nodes,
        "tail",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 360, 360])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 4])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _weights(m: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}


@pytest.mark.parametrize("width", [16, 21])  # every channel copied once; some copied twice
def test_wider_model_computes_the_same_embedding(width: int) -> None:
    src = _tail_model()
    wide = widen.widen(src, width)
    w = _weights(wide)
    assert w["conv_1.w"].shape == (width, 3, 1, 1) and w["head_hidden_4.w"].shape == (width, 16)
    assert widen.check_same(src, wide) < 1e-5
    assert _weights(src)["conv_1.w"].shape[0] == 8  # the source is left as it was


def test_copies_share_a_channel_with_different_head_rows() -> None:
    """The copies' head rows differ, so their gradients do: training can tell them apart."""
    w = _weights(widen.widen(_tail_model(), 16))
    original = _weights(_tail_model())["head_hidden_4.w"]
    conv = w["conv_1.w"].reshape(16, -1)
    for c in range(8):
        copies = [k for k in range(16) if np.array_equal(conv[k], conv[c])]
        assert len(copies) == 2, copies
        rows = w["head_hidden_4.w"][copies]
        assert not np.allclose(rows[0], rows[1])
        assert np.allclose(rows.sum(axis=0), original[c], atol=1e-6)


def test_refuses_a_width_that_is_not_wider() -> None:
    with pytest.raises(ValueError, match="not wider"):
        widen.widen(_tail_model(), 8)


def test_refuses_a_graph_without_the_hidden_head() -> None:
    m = _tail_model()
    for n in m.graph.node:
        if n.name == "head_hidden_4":
            n.name = "dense"
    with pytest.raises(ValueError, match="no head_hidden Gemm"):
        widen.widen(m, 16)
