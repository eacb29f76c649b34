"""ONNX front end: lowering must preserve the function (numpy interpreter vs onnxruntime), fold
BatchNorm and Pad, and reject bad models with messages that name what is wrong."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from nhkit.export import interpreter as interp
from nhkit.export import ir
from nhkit.export import onnx_frontend as front
from nhkit.export import testmodels as tm
from nhkit.runtime.errors import ModelError


def _ort(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(s.run(None, {s.get_inputs()[0].name: x})[0]).reshape(x.shape[0], -1)


def _x(n: int = 2, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, 3, 360, 360)).astype(np.float32)


def _save(model: onnx.ModelProto, tmp_path: Path, name: str = "m.onnx") -> Path:
    p = tmp_path / name
    onnx.save(model, str(p))
    return p


def _assert_same(model: onnx.ModelProto, g: ir.Graph, n: int = 2) -> None:
    x = _x(n)
    ref = _ort(model, x)
    got = interp.run_graph(g, x)
    assert got.shape == (n, 128)
    scale = max(1.0, float(np.abs(ref).max()))
    assert float(np.abs(got - ref).max()) <= 2e-5 * scale


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"explicit_pad": False},
        {"output_4d": True},
        {"dynamic_batch": False},
        {"seed": 7, "opset": 18},
    ],
    ids=["pad-nodes", "conv-pads", "output-4d", "batch-1", "opset18"],
)
def test_lowering_matches_onnxruntime(tmp_path: Path, kwargs: dict) -> None:
    model = tm.tiny_onnx(**kwargs)
    g = front.load_graph(_save(model, tmp_path))
    assert g.shapes[g.output_name] == (1, 128)
    assert g.dynamic_batch == kwargs.get("dynamic_batch", True)
    _assert_same(model, g, n=1 if kwargs.get("dynamic_batch") is False else 2)


def test_batchnorm_and_pad_are_folded(tmp_path: Path) -> None:
    model = tm.tiny_onnx(explicit_pad=True)
    onnx_ops = {n.op_type for n in model.graph.node}
    assert {"BatchNormalization", "Pad"} <= onnx_ops
    g = front.lower(model)  # no onnxsim: the folding is ours
    assert set(g.op_counts()) <= ir.INTERNAL_OPS
    n_bn = sum(n.op_type == "BatchNormalization" for n in model.graph.node)
    n_conv = sum(n.op_type == "Conv" for n in model.graph.node)
    assert g.op_counts()["conv"] == n_conv and n_bn > 0
    # The stride-2 depthwise conv had an explicit Pad node: its pads moved into the conv.
    strided = [n for n in g.nodes if n.op == "conv" and n.attrs["strides"] == (2, 2)]
    assert strided and all(n.attrs["pads"] == (1, 1, 1, 1) for n in strided)
    _assert_same(model, g)


def test_full_mobilenet_v3_small_lowers(tmp_path: Path) -> None:
    model = tm.mobilenet_v3_small_onnx(seed=1)
    g = front.load_graph(_save(model, tmp_path))
    counts = g.op_counts()
    assert counts["conv"] == 52 and counts["dense"] == 2 and counts["hardswish"] == 19
    _assert_same(model, g, n=1)


def _zoo_model() -> onnx.ModelProto:
    """Every alternative ONNX spelling the lowering accepts, in one model."""
    rng = np.random.default_rng(5)
    f = np.float32
    inits = {
        "w1": (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(f),
        "w2": (rng.standard_normal((8, 4, 3, 3)) * 0.3).astype(f),  # groups=2
        "b2": (rng.standard_normal(8) * 0.1).astype(f),
        "bn_s": rng.uniform(0.5, 1.5, 8).astype(f),
        "bn_b": (rng.standard_normal(8) * 0.1).astype(f),
        "bn_m": (rng.standard_normal(8) * 0.1).astype(f),
        "bn_v": rng.uniform(0.5, 1.5, 8).astype(f),
        "c_sub": (rng.standard_normal((1, 8, 1, 1)) * 0.1).astype(f),
        "c_div": np.array(1.7, dtype=f),
        "c_scale": rng.uniform(0.5, 1.5, (8, 1, 1)).astype(f),
        "lo": np.array(0.0, dtype=f),
        "hi": np.array(6.0, dtype=f),
        "axes23": np.array([2, 3], dtype=np.int64),
        "shape_flat": np.array([1, -1], dtype=np.int64),
        "shape_4d": np.array([0, 8, 1, 1], dtype=np.int64),
        "mm": (rng.standard_normal((8, 32)) * 0.3).astype(f),
        "mm_b": (rng.standard_normal(32) * 0.1).astype(f),
        "gemm_w": (rng.standard_normal((32, 128)) * 0.3).astype(f),  # transB=0
        "gemm_c": (rng.standard_normal(128) * 0.1).astype(f),
        "sq_axes": np.array([2, 3], dtype=np.int64),
        "unsq_axes": np.array([2, 3], dtype=np.int64),
    }
    N = helper.make_node
    nodes = [
        N("Conv", ["image", "w1"], ["c1"], strides=[2, 2], auto_pad="SAME_UPPER"),
        N(
            "Conv",
            ["c1", "w2", "b2"],
            ["c2"],
            group=2,
            dilations=[2, 2],
            pads=[2, 2, 2, 2],
            strides=[2, 2],
        ),
        N("BatchNormalization", ["c2", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"]),
        N("Sub", ["bn", "c_sub"], ["s1"]),
        N("Clip", ["s1", "lo", "hi"], ["r6"]),
        N("Div", ["r6", "c_div"], ["d1"]),
        N("Mul", ["c_scale", "d1"], ["m1"]),  # constant first, rank-3 constant
        N("Sigmoid", ["m1"], ["sg"]),
        N("HardSigmoid", ["m1"], ["hs"], alpha=0.2, beta=0.5),
        N("Add", ["sg", "hs"], ["a1"]),
        N("ReduceMean", ["a1", "axes23"], ["rm"], keepdims=0),  # opset 18 form
        N("Reshape", ["rm", "shape_4d"], ["r4"]),
        N("Squeeze", ["r4", "sq_axes"], ["sq"]),
        N("Unsqueeze", ["sq", "unsq_axes"], ["us"]),
        N("Reshape", ["us", "shape_flat"], ["fl"]),
        N("Identity", ["fl"], ["id"]),
        N("MatMul", ["id", "mm"], ["mmo"]),
        N("Add", ["mmo", "mm_b"], ["mma"]),
        N("Relu", ["mma"], ["rl"]),
        N("Gemm", ["rl", "gemm_w", "gemm_c"], ["embedding"], alpha=0.5, beta=2.0),
    ]
    graph = helper.make_graph(
        nodes,
        "zoo",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 360, 360])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 128])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


@pytest.mark.parametrize("use_onnxsim", [True, False])
def test_op_zoo_matches_onnxruntime(tmp_path: Path, use_onnxsim: bool) -> None:
    model = _zoo_model()
    g = front.load_graph(_save(model, tmp_path), use_onnxsim=use_onnxsim)
    ops = g.op_counts()
    assert ops["conv"] == 2 and ops["dense"] == 2 and ops["global_avg_pool"] == 1
    grouped = [n for n in g.nodes if n.op == "conv" and n.attrs["groups"] == 2]
    assert grouped and grouped[0].attrs["dilations"] == (2, 2)
    for n in g.nodes:
        if n.op in ir.BINARY_OPS:
            consts = [i for i in n.inputs if i in g.constants]
            assert len(consts) <= 1
            for c in consts:
                other = [i for i in n.inputs if i not in g.constants][0]
                assert g.constants[c].ndim in (0, len(g.shapes[other]))
    _assert_same(model, g, n=1)


def test_flatten_of_spatial_map_keeps_nchw_order(tmp_path: Path) -> None:
    """Flatten over H*W > 1 is layout-sensitive; the interpreter must follow ONNX (NCHW)."""
    model = tm.spatial_flatten_onnx()
    g = front.load_graph(_save(model, tmp_path))
    assert g.shapes[g.nodes[0].output] == (1, 2, 8, 8)
    _assert_same(model, g)


def test_unsupported_ops_are_listed_with_node_names(tmp_path: Path) -> None:
    extra = [
        helper.make_node("Tanh", ["x"], ["tanh_out"], name="my_tanh"),
        helper.make_node(
            "MaxPool", ["tanh_out"], ["pool_out"], name="my_pool", kernel_shape=[2, 2]
        ),
    ]
    model = tm.tiny_onnx(extra_nodes=extra)
    with pytest.raises(ir.UnsupportedModelError) as ei:
        front.load_graph(_save(model, tmp_path))
    msg = str(ei.value)
    assert "['MaxPool', 'Tanh']" in msg and "my_tanh" in msg and "my_pool" in msg


def _with_io(
    model: onnx.ModelProto, inp: list, out: list | None = None, in_type: int = TensorProto.FLOAT
) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.input[0].CopyFrom(helper.make_tensor_value_info("image", in_type, inp))
    if out is not None:
        name = m.graph.output[0].name
        m.graph.output[0].CopyFrom(helper.make_tensor_value_info(name, TensorProto.FLOAT, out))
    return m


@pytest.mark.parametrize(
    "inp,out,in_type,expect",
    [
        ([1, 3, 224, 224], None, TensorProto.FLOAT, "found float [1,3,224,224]"),
        ([1, 360, 360, 3], None, TensorProto.FLOAT, "found float [1,360,360,3]"),
        (["N", 3, 360, 360], None, TensorProto.UINT8, "found uint8"),
        (["N", 3, 360, 360], ["N", 64], TensorProto.FLOAT, "found float [N,64]"),
    ],
)
def test_interface_errors_say_expected_and_found(
    tmp_path: Path, inp: list, out: list | None, in_type: int, expect: str
) -> None:
    model = _with_io(tm.tiny_onnx(), inp, out, in_type)
    p = tmp_path / "bad.onnx"
    p.write_bytes(model.SerializeToString())
    with pytest.raises(front.ModelInterfaceError) as ei:
        front.check_interface(model, source=str(p))
    assert expect in str(ei.value) and "expected" in str(ei.value)


def test_missing_empty_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        front.load_graph(tmp_path / "nope.onnx")
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        front.load_graph(tmp_path / "empty.onnx")
    (tmp_path / "junk.onnx").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ModelError, match="junk.onnx"):
        front.load_graph(tmp_path / "junk.onnx")
    good = tm.tiny_onnx().SerializeToString()
    (tmp_path / "cut.onnx").write_bytes(good[: len(good) // 2])
    with pytest.raises(ModelError, match="cut.onnx"):
        front.load_graph(tmp_path / "cut.onnx")


def test_onnxsim_failure_falls_back_with_warning(tmp_path: Path, monkeypatch) -> None:
    import onnxsim

    def boom(*a, **k):
        raise RuntimeError("simulated onnxsim crash")

    monkeypatch.setattr(onnxsim, "simplify", boom)
    model = tm.tiny_onnx()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = front.load_graph(_save(model, tmp_path))
    assert any(
        issubclass(w.category, front.SimplifyWarning) and "simulated" in str(w.message)
        for w in caught
    )
    _assert_same(model, g)


def test_fingerprint_ignores_metadata_but_not_weights() -> None:
    a = tm.tiny_onnx(seed=0)
    b = tm.tiny_onnx(seed=0)
    b.producer_name = "something else"
    b.doc_string = "changed"
    assert front.model_fingerprint(a) == front.model_fingerprint(b)
    arr = numpy_helper.to_array(b.graph.initializer[0]).copy()
    arr.flat[0] += 1e-3
    b.graph.initializer[0].CopyFrom(numpy_helper.from_array(arr, b.graph.initializer[0].name))
    assert front.model_fingerprint(a) != front.model_fingerprint(b)
    assert front.model_fingerprint(a) != front.model_fingerprint(tm.tiny_onnx(seed=1))


def test_pad_not_before_conv_is_rejected() -> None:
    model = tm.tiny_onnx()
    pads = numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "extra_pads")
    model.graph.initializer.append(pads)
    extra = helper.make_node("Pad", ["x", "extra_pads"], ["padded"], name="lonely_pad")
    m2 = tm.tiny_onnx(extra_nodes=[extra])
    m2.graph.initializer.append(pads)
    with pytest.raises(ir.UnsupportedModelError, match="lonely_pad"):
        front.lower(m2)


def test_one_op_table_for_every_consumer() -> None:
    """ir.OPS is the vocabulary: shape inference, the interpreter and both converters dispatch
    through tables with exactly its ops, and the every-op test graph uses all of them."""
    from nhkit.export import coreml, tflite

    ops = set(ir.OPS)
    assert set(ir.SHAPE_RULES) == ops
    assert set(interp.KERNELS) == ops
    assert set(tflite.TF_EMITTERS) == ops
    assert set(coreml.MIL_EMITTERS) == ops
    assert set(tm.every_op_graph().op_counts()) == ops
    assert ir.BINARY_OPS == {op for op, s in ir.OPS.items() if s.arity == 2}


def test_every_op_graph_shapes_and_attrs() -> None:
    g = tm.every_op_graph()
    for n in g.nodes:
        assert set(ir.OPS[n.op].attrs) == set(n.attrs), n.name
    assert ir.infer_shapes(g)["emb"] == (1, 128) and g.shapes["c1"] == (1, 8, 9, 8)
    out = interp.run_graph(g, np.random.default_rng(1).uniform(-1, 1, (2, 3, 17, 17)))
    assert out.shape == (2, 128) and np.isfinite(out).all()


def _wrapped_tiny(scales: list[float]) -> onnx.ModelProto:
    """The tiny model under training/multiview.py's wrap: the shape a multi-view model ships in."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
    from multiview import wrap

    return wrap(tm.tiny_onnx(), scales)


def test_view_wrap_lowers_to_crops_and_resizes_and_keeps_the_function() -> None:
    """Slice -> Resize (linear, half-pixel) lower to `crop` and `resize_bilinear`, one copy of
    the network per view, and the float64 interpreter matches onnxruntime on the whole wrap."""
    model = _wrapped_tiny([1.0, 0.8, 0.5])
    g = front.lower(model)
    counts = g.op_counts()
    assert counts["crop"] == 2 and counts["resize_bilinear"] == 2
    assert counts["dense"] == 3 * front.lower(tm.tiny_onnx()).op_counts()["dense"]
    crops = [n.attrs["box"] for n in g.nodes if n.op == "crop"]
    assert crops == [(36, 36, 288, 288), (90, 90, 180, 180)]
    _assert_same(model, g)


def test_precision_choices_count_layers_per_copy_of_a_wrapped_network() -> None:
    """The float stem, the fp16/dynamic-int8 float32 layers and Core ML's sensitive layers are
    the same layers of every copy, not the first copy's only (ir.weight_depths)."""
    from nhkit.export import coreml, tflite

    single = front.lower(tm.tiny_onnx())
    g = front.lower(_wrapped_tiny([1.0, 0.8, 0.64]))
    for name, pick in (
        ("stem", lambda gr: tflite.float_stem_nodes(gr)),
        ("fp16", lambda gr: tflite.float32_weight_nodes(gr, "fp16")),
        ("dynamic", lambda gr: tflite.float32_weight_nodes(gr, "dynamic-int8", 0.5)),
    ):
        ops_single = [n.op for n in single.nodes if n.output in set(pick(single))]
        ops_wrapped = [n.op for n in g.nodes if n.output in set(pick(g))]
        for op in ("conv", "dense"):
            assert ops_wrapped.count(op) == 3 * ops_single.count(op), (name, op)
    sens_single, sens = coreml.sensitive_weight_ops(single), coreml.sensitive_weight_ops(g)
    assert len(sens) == 3 * len(sens_single)
    last_dense = [n for n in g.nodes if n.op == "dense"][1::2]
    assert {coreml._mil_name(g, n) for n in last_dense} <= set(sens)  # noqa: SLF001


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"mode": "nearest"}, "linear with half_pixel"),
        ({"mode": "linear", "coordinate_transformation_mode": "align_corners"}, "half_pixel"),
        ({"mode": "linear", "antialias": 1}, "antialias"),
    ],
)
def test_resize_conventions_other_than_half_pixel_bilinear_are_refused(
    attrs: dict, message: str
) -> None:
    model = _wrapped_tiny([1.0, 0.8])
    resize = next(n for n in model.graph.node if n.op_type == "Resize")
    del resize.attribute[:]
    resize.attribute.extend(helper.make_attribute(k, v) for k, v in attrs.items())
    resize.attribute.append(helper.make_attribute("axes", [2, 3]))
    with pytest.raises(ir.UnsupportedModelError, match=f"{resize.name or 'mv1/view'}.*{message}"):
        front.lower(model)


def test_slice_of_the_channels_is_refused() -> None:
    model = _wrapped_tiny([1.0, 0.8])
    sl = next(n for n in model.graph.node if n.op_type == "Slice")
    model.graph.initializer.append(numpy_helper.from_array(np.array([0, 1], np.int64), "ax01"))
    sl.input[3] = "ax01"
    with pytest.raises(ir.UnsupportedModelError, match="batch or channel"):
        front.lower(model)
