"""A small NeuralHash-shaped ONNX model for the Core ML executor and export tests.

Built with onnx.helper so every op the Core ML path must get right is present at least once, with
the awkward parameters that break converters: a stride-2 stem conv with asymmetric pads, a
depthwise conv, a stride-2 depthwise 5x5 conv with asymmetric pads on all four sides, a grouped
(non-depthwise) dilated conv, HardSwish, relu6 as Clip, Sigmoid, a squeeze-excite block (GAP,
1x1 convs, HardSigmoid, Mul), a residual Add, a constant Sub/Div, GAP + Flatten + Gemm to 128.

Several weights have >= 2048 elements so Core ML weight compression (which skips smaller tensors)
has something to compress."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def build_small_onnx(path: Path, *, seed: int = 0, size: int = 360) -> Path:
    """Write the model to `path` (input `image` [N,3,size,size], output `embedding` [N,128])."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def init(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def w(name: str, shape: tuple[int, ...], scale: float) -> str:
        return init(name, (rng.standard_normal(shape) * scale).astype(np.float32))

    def node(op: str, ins: list[str], out: str, **attrs: object) -> str:
        nodes.append(helper.make_node(op, ins, [out], name=out + "_node", **attrs))
        return out

    f = np.float32
    x = node(
        "Conv",
        ["image", w("stem_w", (16, 3, 3, 3), 0.3), w("stem_b", (16,), 0.1)],
        "stem",
        strides=[2, 2],
        pads=[0, 0, 1, 1],
    )  # asymmetric: bottom/right
    x = node("HardSwish", [x], "stem_hs")
    x = node(
        "Conv",
        [x, w("dw1_w", (16, 1, 3, 3), 0.4), w("dw1_b", (16,), 0.1)],
        "dw1",
        pads=[1, 1, 1, 1],
        group=16,
    )
    x = node("Relu", [x], "dw1_relu")
    # squeeze-excite
    s = node("GlobalAveragePool", [x], "se_gap")
    s = node("Conv", [s, w("se1_w", (8, 16, 1, 1), 0.3), w("se1_b", (8,), 0.1)], "se1")
    s = node("Relu", [s], "se1_relu")
    s = node("Conv", [s, w("se2_w", (16, 8, 1, 1), 0.3), w("se2_b", (16,), 0.1)], "se2")
    s = node("HardSigmoid", [s], "se_hsig", alpha=1.0 / 6.0, beta=0.5)
    x = node("Mul", [x, s], "se_mul")
    x = node("Conv", [x, w("pw1_w", (32, 16, 1, 1), 0.3), w("pw1_b", (32,), 0.1)], "pw1")
    x = node("Clip", [x, init("zero", np.array(0, f)), init("six", np.array(6, f))], "pw1_relu6")
    x = node(
        "Conv",
        [x, w("dw2_w", (32, 1, 5, 5), 0.2), w("dw2_b", (32,), 0.1)],
        "dw2",
        strides=[2, 2],
        pads=[1, 2, 2, 1],
        group=32,
    )  # t, l, b, r all different
    x = node("HardSwish", [x], "dw2_hs")
    r = x
    x = node(
        "Conv",
        [x, w("gc_w", (32, 8, 3, 3), 0.2), w("gc_b", (32,), 0.1)],
        "gconv",
        pads=[2, 2, 2, 2],
        dilations=[2, 2],
        group=4,
    )
    g = node("Sigmoid", [x], "gconv_sig")
    x = node("Mul", [x, g], "gconv_swish")
    x = node("Add", [r, x], "res_add")
    x = node("Sub", [x, init("shift", np.array(0.25, f))], "shift_sub")
    x = node("Div", [x, init("two", np.array(2.0, f))], "half_div")
    # 96 x 32 = 3072 weights: a palettized layer among the last 20% of the weight layers (the
    # first 80% keep 8 bits, export/coreml.py's SENSITIVE_FIRST_WEIGHT_FRACTION)
    x = node("Conv", [x, w("head_w", (96, 32, 1, 1), 0.25), w("head_b", (96,), 0.1)], "head")
    x = node("HardSwish", [x], "head_hs")
    x = node("GlobalAveragePool", [x], "gap")
    x = node("Flatten", [x], "flat", axis=1)
    x = node(
        "Gemm", [x, w("fc_w", (128, 96), 0.25), w("fc_b", (128,), 0.05)], "embedding", transB=1
    )
    graph = helper.make_graph(
        nodes,
        "coreml-test-neuralhash",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 128])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def onnx_embed(model_path: Path, x: np.ndarray) -> np.ndarray:
    """The onnxruntime fp32 reference embedding for a batch."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(None, {"image": np.ascontiguousarray(x, dtype=np.float32)})[0])


def random_batch(n: int, size: int = 360, seed: int = 0) -> np.ndarray:
    """Values drawn from the spec's normalise table, so they are real model inputs."""
    from nhkit.runtime.tensor import NORMALISE_TABLE

    rng = np.random.default_rng(seed)
    return NORMALISE_TABLE[rng.integers(0, 256, (n, 3, size, size))].astype(np.float32)


_PACKAGES: dict[str, dict[str, Path]] = {}


def coreml_packages(root: Path) -> dict[str, Path]:
    """Every Core ML variant of the small model, built once per test session under `root`.

    Memoised at module level so both Core ML test modules share one set of conversions (they
    dominate the suite's run time); returns variant name -> .mlpackage path, plus "onnx"."""
    key = str(root)
    if key not in _PACKAGES:
        from nhkit.export.coreml import COREML_VARIANTS, build_coreml_variant
        from nhkit.export.onnx_frontend import load_graph

        root.mkdir(parents=True, exist_ok=True)
        onnx_path = build_small_onnx(root / "small.onnx")
        graph = load_graph(onnx_path, use_onnxsim=False)
        out: dict[str, Path] = {"onnx": onnx_path}
        for v in COREML_VARIANTS:
            out[v] = build_coreml_variant(graph, v, root / f"small-{v}.mlpackage")
        _PACKAGES[key] = out
    return _PACKAGES[key]
