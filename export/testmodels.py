"""Synthetic NeuralHash-format ONNX models, built with onnx.helper, for tests and benchmarks.

Why: the export pipeline must work on any NeuralHash-format ONNX, and tests must not depend on the
trained default model (it arrives later and is large). These builders produce models with the
same interface ([N,3,360,360] -> [N,128]) and the same op mix as a MobileNetV3-Small exported by
Keras/PyTorch (Pad + Conv + BatchNormalization, depthwise convs, HardSwish, squeeze-excite with
HardSigmoid, residual Add, GlobalAveragePool, Gemm / MatMul+Add), with seeded random weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# (kernel, expansion, out, se, activation, stride) -- MobileNetV3-Small (Howard et al. 2019)
MNV3_SMALL_BLOCKS: tuple[tuple[int, int, int, bool, str, int], ...] = (
    (3, 16, 16, True, "relu", 2),
    (3, 72, 24, False, "relu", 2),
    (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hswish", 2),
    (5, 240, 40, True, "hswish", 1),
    (5, 240, 40, True, "hswish", 1),
    (5, 120, 48, True, "hswish", 1),
    (5, 144, 48, True, "hswish", 1),
    (5, 288, 96, True, "hswish", 2),
    (5, 576, 96, True, "hswish", 1),
    (5, 576, 96, True, "hswish", 1),
)

TINY_BLOCKS: tuple[tuple[int, int, int, bool, str, int], ...] = (
    (3, 16, 16, True, "relu", 2),
    (3, 24, 16, True, "hswish", 1),
)


def _divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class OnnxNetBuilder:
    """Appends ONNX nodes and random initializers; names are deterministic."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.n = 0

    def name(self, base: str) -> str:
        self.n += 1
        return f"{base}_{self.n}"

    def init(self, base: str, arr: np.ndarray) -> str:
        from onnx import numpy_helper

        nm = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), nm))
        return nm

    def node(self, op: str, inputs: Sequence[str], base: str | None = None, **attrs: Any) -> str:
        from onnx import helper

        out = self.name(base or op.lower())
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=out + "_node", **attrs))
        return out

    def conv_bn(
        self,
        x: str,
        cin: int,
        cout: int,
        k: int,
        stride: int,
        *,
        depthwise: bool,
        explicit_pad: bool,
        bn: bool = True,
        bias: bool = False,
    ) -> str:
        groups = cin if depthwise else 1
        wshape = (cout, cin // groups, k, k)
        fan_in = (cin // groups) * k * k
        w = (self.rng.standard_normal(wshape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        ins = [x, self.init("w", w)]
        if bias:
            ins.append(self.init("b", (self.rng.standard_normal(cout) * 0.05).astype(np.float32)))
        p = (k - 1) // 2
        if explicit_pad and stride == 2 and p:
            pads = self.init("pads", np.array([0, 0, p, p, 0, 0, p, p], dtype=np.int64))
            ins[0] = self.node("Pad", [x, pads], "pad", mode="constant")
            conv_pads = [0, 0, 0, 0]
        else:
            conv_pads = [p, p, p, p]
        y = self.node(
            "Conv",
            ins,
            "conv",
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=conv_pads,
            group=groups,
        )
        if bn:
            f32 = np.float32
            gamma = self.rng.uniform(0.6, 1.4, cout).astype(f32)
            beta = (self.rng.standard_normal(cout) * 0.1).astype(f32)
            mean = (self.rng.standard_normal(cout) * 0.1).astype(f32)
            var = self.rng.uniform(0.6, 1.4, cout).astype(f32)
            y = self.node(
                "BatchNormalization",
                [
                    y,
                    self.init("g", gamma),
                    self.init("be", beta),
                    self.init("m", mean),
                    self.init("v", var),
                ],
                "bn",
                epsilon=1e-3,
            )
        return y

    def act(self, x: str, kind: str) -> str:
        if kind == "relu":
            return self.node("Relu", [x])
        if kind == "relu6":
            lo = self.init("lo", np.array(0.0, dtype=np.float32))
            hi = self.init("hi", np.array(6.0, dtype=np.float32))
            return self.node("Clip", [x, lo, hi])
        if kind == "hswish":
            return self.node("HardSwish", [x])
        if kind == "hswish_decomposed":  # x * relu6(x + 3) / 6, as some exporters write it
            three = self.init("c3", np.array(3.0, dtype=np.float32))
            six = self.init("c6", np.array(6.0, dtype=np.float32))
            t = self.node("Add", [x, three])
            t = self.act(t, "relu6")
            t = self.node("Div", [t, six])
            return self.node("Mul", [x, t])
        if kind == "hsigmoid":
            return self.node("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
        if kind == "sigmoid":
            return self.node("Sigmoid", [x])
        raise ValueError(kind)

    def se(self, x: str, ch: int) -> str:
        sq = _divisible(ch * 0.25)
        s = self.node("GlobalAveragePool", [x], "gap")
        s = self.conv_bn(s, ch, sq, 1, 1, depthwise=False, explicit_pad=False, bn=False, bias=True)
        s = self.act(s, "relu")
        s = self.conv_bn(s, sq, ch, 1, 1, depthwise=False, explicit_pad=False, bn=False, bias=True)
        s = self.act(s, "hsigmoid")
        return self.node("Mul", [x, s], "se_mul")

    def dense(self, x: str, cin: int, cout: int, *, gemm: bool) -> str:
        w = (self.rng.standard_normal((cout, cin)) * np.sqrt(1.0 / cin)).astype(np.float32)
        b = (self.rng.standard_normal(cout) * 0.05).astype(np.float32)
        if gemm:
            return self.node(
                "Gemm", [x, self.init("fc_w", w), self.init("fc_b", b)], "gemm", transB=1
            )
        y = self.node("MatMul", [x, self.init("fc_w", np.ascontiguousarray(w.T))], "matmul")
        return self.node("Add", [y, self.init("fc_b", b)], "fc_add")


def mobilenet_v3_small_onnx(
    *,
    width: float = 1.0,
    blocks: Sequence[tuple[int, int, int, bool, str, int]] = MNV3_SMALL_BLOCKS,
    stem_stride: int = 2,
    last_conv: int = 576,
    head_hidden: int = 1024,
    seed: int = 0,
    dynamic_batch: bool = True,
    explicit_pad: bool = True,
    output_4d: bool = False,
    opset: int = 17,
    extra_nodes: Sequence[Any] = (),
) -> Any:
    """A MobileNetV3-Small-shaped NeuralHash-format ONNX model with random weights.

    `width` scales every channel count, `blocks`/`stem_stride` shrink it for fast tests;
    `output_4d` ends in [N,128,1,1] (a 1x1 conv head) to exercise the output flatten;
    `extra_nodes` lets tests splice in arbitrary (e.g. unsupported) nodes before the head."""
    from onnx import TensorProto, helper

    b = OnnxNetBuilder(seed)
    c = lambda v: _divisible(v * width)  # noqa: E731
    x = "image"
    cin = c(16)
    x = b.conv_bn(x, 3, cin, 3, stem_stride, depthwise=False, explicit_pad=explicit_pad)
    x = b.act(x, "hswish")
    for k, exp, out, use_se, a, s in blocks:
        exp_c, out_c = c(exp), c(out)
        shortcut = x
        if exp_c != cin:
            x = b.conv_bn(x, cin, exp_c, 1, 1, depthwise=False, explicit_pad=explicit_pad)
            x = b.act(x, a)
        x = b.conv_bn(x, exp_c, exp_c, k, s, depthwise=True, explicit_pad=explicit_pad)
        x = b.act(x, a)
        if use_se:
            x = b.se(x, exp_c)
        x = b.conv_bn(x, exp_c, out_c, 1, 1, depthwise=False, explicit_pad=explicit_pad)
        if s == 1 and cin == out_c:
            x = b.node("Add", [shortcut, x], "add")
        cin = out_c
    last = c(last_conv)
    x = b.conv_bn(x, cin, last, 1, 1, depthwise=False, explicit_pad=explicit_pad)
    x = b.act(x, "hswish")
    for nd in extra_nodes:
        nd.input[0] = x
        b.nodes.append(nd)
        x = nd.output[0]
    x = b.node("GlobalAveragePool", [x], "gap")
    if output_4d:
        x = b.conv_bn(
            x, last, head_hidden, 1, 1, depthwise=False, explicit_pad=False, bn=False, bias=True
        )
        x = b.act(x, "hswish")
        x = b.conv_bn(
            x, head_hidden, 128, 1, 1, depthwise=False, explicit_pad=False, bn=False, bias=True
        )
        out_shape: list[Any] = ["N" if dynamic_batch else 1, 128, 1, 1]
    else:
        x = b.node("Flatten", [x], "flatten", axis=1)
        x = b.dense(x, last, head_hidden, gemm=True)
        x = b.act(x, "hswish")
        x = b.dense(x, head_hidden, 128, gemm=False)
        out_shape = ["N" if dynamic_batch else 1, 128]
    final = b.node("Identity", [x], "embedding")
    batch: Any = "N" if dynamic_batch else 1
    graph = helper.make_graph(
        b.nodes,
        "nhkit_synthetic",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, 3, 360, 360])],
        [helper.make_tensor_value_info(final, TensorProto.FLOAT, out_shape)],
        initializer=b.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="nhkit.export.testmodels",
    )
    model.ir_version = 8
    return model


def tiny_onnx(*, seed: int = 0, **kwargs: Any) -> Any:
    """A fast model (~ms per image) with every op kind the export path handles: stride-4 stem,
    padded depthwise conv, squeeze-excite, residual add, Gemm and MatMul+Add head."""
    opts: dict[str, Any] = dict(
        width=0.5, blocks=TINY_BLOCKS, stem_stride=4, last_conv=64, head_hidden=96, seed=seed
    )
    opts.update(kwargs)
    return mobilenet_v3_small_onnx(**opts)


def spatial_flatten_onnx(*, batch: int | str = "N") -> Any:
    """Conv (stride 45) to a 2x8x8 map, Flatten over C*H*W, Gemm to 128: the one model shape
    where Flatten's element order depends on the layout, so NHWC back ends must reorder."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(2)
    w = (rng.standard_normal((2, 3, 45, 45)) * 0.05).astype(np.float32)
    d = (rng.standard_normal((128, 2 * 8 * 8)) * 0.2).astype(np.float32)
    node = helper.make_node
    graph = helper.make_graph(
        [
            node("Conv", ["image", "w"], ["c"], strides=[45, 45]),
            node("Flatten", ["c"], ["f"]),
            node("Gemm", ["f", "d"], ["embedding"], transB=1),
        ],
        "flat",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, 3, 360, 360])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, 128])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(d, "d")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def save(model: Any, path: str) -> str:
    """Write a model to disk and return the path (tests and benchmarks pass file paths)."""
    import onnx

    onnx.save(model, path)
    return path


def synthetic_seed(seed: int = 1) -> np.ndarray:
    """A 96x128 float32 seed with orthonormal rows (like NeuralHash's) for synthetic models."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((128, 96)))
    return np.ascontiguousarray(q.T, dtype=np.float32)


# ----- internal graphs (export/ir.py) -----------------------------------------------------------


def _ir_conv(
    name: str,
    x: str,
    cin: int,
    cout: int,
    rng: np.random.Generator,
    *,
    k: int = 3,
    groups: int = 1,
    strides: tuple[int, int] = (1, 1),
    pads: tuple[int, int, int, int] = (1, 1, 1, 1),
    dilations: tuple[int, int] = (1, 1),
) -> Any:
    from .ir import Node

    attrs = {
        "weight": (rng.standard_normal((cout, cin // groups, k, k)) * 0.3).astype(np.float32),
        "bias": (rng.standard_normal(cout) * 0.1).astype(np.float32),
        "strides": strides,
        "pads": pads,
        "dilations": dilations,
        "groups": groups,
    }
    return Node("conv", [x], name, attrs, name)


def every_op_graph() -> Any:
    """A small (17x17 input) internal graph using every op of ir.OPS and each attribute form
    the converters special-case (clip ranges, a constant first operand, grouped and dilated
    convs, 4-d reshapes, a crop and an unequal bilinear resize), for testing every consumer of
    the op table against the interpreter."""
    import math

    from .ir import Graph, Node, infer_shapes

    rng = np.random.default_rng(5)
    f = np.float32
    consts = {
        "chan_scale": rng.uniform(0.5, 1.5, (1, 8, 1, 1)).astype(f),
        "chan_shift": rng.standard_normal((1, 8, 1, 1)).astype(f) * 0.1,
        "three": np.array(3.0, f),
        "two": np.array(2.0, f),
    }
    nodes = [
        Node("crop", ["image"], "cr", {"box": (1, 3, 13, 11)}, "cr"),  # top, left, h, w
        Node("resize_bilinear", ["cr"], "rz", {"size": (17, 17)}, "rz"),  # up, unequal axes
        _ir_conv("c1", "rz", 3, 8, rng, strides=(2, 2), pads=(0, 1, 2, 0)),  # t, l, b, r
        Node("clip", ["c1"], "k1", {"min": 0.0, "max": 6.0}, "k1"),
        Node("mul", ["k1", "chan_scale"], "m1", {}, "m1"),  # mul + add by per-channel
        Node("add", ["m1", "chan_shift"], "a1", {}, "a1"),  # constants: batch_norm fusion
        Node("clip", ["a1"], "k2", {"min": -1.0, "max": 2.0}, "k2"),
        Node("clip", ["k2"], "k3", {"min": -0.5, "max": math.inf}, "k3"),
        Node("clip", ["k3"], "k4", {"min": -math.inf, "max": 1.5}, "k4"),
        Node("clip", ["k4"], "k5", {"min": 0.0, "max": math.inf}, "k5"),
        Node("clip", ["k5"], "k6", {"min": -math.inf, "max": math.inf}, "k6"),
        _ir_conv("c2", "k6", 8, 8, rng, groups=8, k=5, pads=(2, 2, 2, 2), dilations=(1, 1)),
        Node("hardsigmoid", ["c2"], "hs", {"alpha": 0.2, "beta": 0.4}, "hs"),
        Node("sub", ["three", "hs"], "s1", {}, "s1"),  # constant first operand
        Node("div", ["s1", "two"], "d1", {}, "d1"),
        Node("div", ["two", "d1"], "d2", {}, "d2"),
        Node("sigmoid", ["d2"], "sg", {}, "sg"),
        Node("mul", ["c2", "sg"], "m2", {}, "m2"),
        Node("hardswish", ["m2"], "hw", {}, "hw"),
        _ir_conv("c3", "hw", 8, 16, rng, groups=2, dilations=(2, 2), pads=(2, 2, 2, 2)),
        Node("relu", ["c3"], "r3", {}, "r3"),
        Node("reshape", ["r3"], "rs", {"shape": (4, 4, 72)}, "rs"),
        Node("reshape", ["rs"], "rs2", {"shape": (16, 9, 8)}, "rs2"),
        Node("global_avg_pool", ["rs2"], "gap", {}, "gap"),
        Node("flatten", ["gap"], "flat", {}, "flat"),
        Node(
            "dense",
            ["flat"],
            "emb",
            {
                "weight": rng.standard_normal((128, 16)).astype(f),
                "bias": rng.standard_normal(128).astype(f),
            },
            "emb",
        ),
    ]
    graph = Graph("image", (1, 3, 17, 17), nodes, "emb", consts)
    graph.shapes = infer_shapes(graph)
    return graph
