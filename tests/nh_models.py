"""Small NeuralHash-shaped ONNX models for tests, built with onnx.helper.

They have the real interface (input `image` [N,3,360,360] float32, 128 floats out) but are
tiny, so the suite runs in seconds; what they compute does not matter, only that every
implementation computes the same thing from the same tensor."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nhkit.export.testmodels import synthetic_seed


def build_tiny_model(
    path: Path,
    *,
    seed: int = 0,
    batch: str | int = "N",
    in_shape: tuple[int, ...] = (3, 360, 360),
    out_dim: int = 128,
) -> Path:
    """Conv 3->8 (k5, s4) + HardSwish + depthwise conv (s2) + ReLU + GAP + Gemm -> out_dim."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((8, in_shape[0], 5, 5)) * 0.2).astype(np.float32)
    b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((8, 1, 3, 3)) * 0.3).astype(np.float32)
    b2 = (rng.standard_normal(8) * 0.1).astype(np.float32)
    wd = (rng.standard_normal((out_dim, 8)) * 0.5).astype(np.float32)
    bd = (rng.standard_normal(out_dim) * 0.05).astype(np.float32)
    inits = [
        numpy_helper.from_array(a, n)
        for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"), (wd, "wd"), (bd, "bd")]
    ]
    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], strides=[4, 4], pads=[2, 2, 2, 2]),
        helper.make_node("HardSwish", ["c1"], ["h1"]),
        helper.make_node(
            "Conv", ["h1", "w2", "b2"], ["c2"], strides=[2, 2], pads=[1, 1, 1, 1], group=8
        ),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "wd", "bd"], ["embedding"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-neuralhash",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, *in_shape])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, out_dim])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


# A 96x128 float32 seed with orthonormal rows, like NeuralHash's (one implementation, shared with
# the export tests and benchmarks).
make_seed = synthetic_seed
