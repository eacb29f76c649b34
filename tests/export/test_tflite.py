"""TFLite conversion of the internal graph and the runtime TfliteBackend."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from nhkit.export import interpreter as interp
from nhkit.export import ir
from nhkit.export import onnx_frontend as front
from nhkit.export import testmodels as tm
from nhkit.runtime.backends.base import EmbeddingBackend
from nhkit.runtime.errors import ModelError
from nhkit.runtime.tensor import NORMALISE_TABLE, to_layout

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from nhkit.export import tflite as T  # noqa: E402
from nhkit.runtime.backends.tflite import TfliteBackend, input_lut, quantize_input, round_half_away  # noqa: E402


def _x(n: int, seed: int = 11) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, 3, 360, 360)).astype(np.float32)


def _ort(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.concatenate(
        [
            np.asarray(s.run(None, {"image": x[i : i + 1]})[0]).reshape(1, -1)
            for i in range(x.shape[0])
        ]
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[onnx.ModelProto, ir.Graph]:
    model = tm.tiny_onnx(seed=2)
    p = tmp_path_factory.mktemp("tiny") / "tiny.onnx"
    onnx.save(model, str(p))
    return model, front.load_graph(p)


@pytest.fixture(scope="module")
def variants(tiny, tmp_path_factory) -> dict[str, T.TfliteModelInfo]:
    _, g = tiny
    d = tmp_path_factory.mktemp("tflite")
    cal = to_layout(_x(4, seed=5), "NCHW", "NHWC")
    return {
        v: T.build_tflite_variant(g, v, d / f"{v}.tflite", calibration=cal)
        for v in T.TFLITE_VARIANTS
    }


def test_fp32_matches_onnxruntime_and_signature(tiny, variants) -> None:
    model, _ = tiny
    info = variants["fp32"]
    assert info.input.shape == (1, 360, 360, 3) and info.input.layout == "NHWC"
    assert info.input.dtype == "float32" and info.input.quantization is None
    x = _x(3)
    ref = _ort(model, x)
    be = TfliteBackend(info.path, threads=1)
    assert isinstance(be, EmbeddingBackend)
    got = be.embed(x)  # batch of 3 through a batch-1 model: looped
    assert got.shape == (3, 128)
    assert float(np.abs(got - ref).max()) <= 1e-5 * max(1.0, float(np.abs(ref).max()))
    from ai_edge_litert.interpreter import Interpreter

    sig = Interpreter(model_path=str(info.path)).get_signature_list()
    assert sig == {T.SIGNATURE_KEY: {"inputs": ["image"], "outputs": ["embedding"]}}
    # The converter used native kernels: no TF fallback ops, fused HARD_SWISH.
    assert "HARD_SWISH" in info.op_counts and not any(k.startswith("Flex") for k in info.op_counts)


def test_every_variant_is_close_and_smaller(tiny, variants) -> None:
    model, _ = tiny
    x = _x(2)
    ref = _ort(model, x)
    sizes = {v: info.path.stat().st_size for v, info in variants.items()}
    for v, info in variants.items():
        got = TfliteBackend(info.path).embed(x)
        cos = (got * ref).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(ref, axis=1)
        assert cos.min() > (0.9999 if v in ("fp32", "fp16") else 0.99), v
    assert sizes["fp16"] < sizes["fp32"] * 0.7
    assert sizes["dynamic-int8"] < sizes["fp16"]
    q = variants["int8-io"]
    assert q.input.dtype == "int8" and q.output.dtype == "int8"
    assert q.input.quantization and q.input.quantization["scale"] > 0
    assert variants["int8"].input.dtype == "float32"
    assert T.min_runtime_version(variants["fp32"].path).count(".") == 2


def test_int8_io_backend_equals_manual_quantization(variants) -> None:
    info = variants["int8-io"]
    q = info.input.quantization
    assert q is not None
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(info.path))
    it.allocate_tensors()
    rgb = np.random.default_rng(0).integers(0, 256, (360, 360, 3), dtype=np.uint8)
    # Bridges quantize through the manifest's LUT on the RGB bytes; the backend through the
    # float tensor. Both must give the same int8 input, hence the same output.
    lut = np.array(input_lut(q["scale"], q["zero_point"], q["offset"]), dtype=np.int8)
    it.set_tensor(it.get_input_details()[0]["index"], lut[rgb][None])
    it.invoke()
    od = it.get_output_details()[0]
    s, z = od["quantization"]
    manual = (it.get_tensor(od["index"]).astype(np.int32) - z).astype(np.float32) * np.float32(s)
    t = NORMALISE_TABLE[rgb].transpose(2, 0, 1)[None]
    got = TfliteBackend(info.path).embed(t)
    np.testing.assert_array_equal(got, manual.reshape(1, -1))


@pytest.mark.filterwarnings("ignore:Warning. Enabling .experimental_preserve_all_tensors")
def test_int8_io_input_is_exact(variants) -> None:
    """int8-io feeds pixel - 128 and adds the offset back after its DEQUANTIZE, so the float
    stem sees the spec's 256 values (to a float32 rounding), unlike the converter's grid (zero
    point -1), where every pixel sits half a level off."""
    from ai_edge_litert.interpreter import Interpreter

    from nhkit.runtime.backends.tflite import INPUT_OFFSET_TENSOR, model_input_offset

    info = variants["int8-io"]
    q = info.input.quantization
    assert q == {"scale": float(np.float32(2 / 255)), "zero_point": -128, "offset": -1.0}
    assert input_lut(q["scale"], q["zero_point"], q["offset"]) == list(range(-128, 128))
    it = Interpreter(model_path=str(info.path), experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    inp = int(it.get_input_details()[0]["index"])
    assert model_input_offset(it, inp) == -1.0
    pixels = (np.arange(360 * 360 * 3) % 256 - 128).astype(np.int8)
    it.set_tensor(inp, pixels.reshape(1, 360, 360, 3))
    it.invoke()
    shifted = {d["name"]: d["index"] for d in it.get_tensor_details()}[INPUT_OFFSET_TENSOR]
    got = it.get_tensor(shifted).reshape(-1)[:256]
    assert float(np.abs(got - NORMALISE_TABLE).max()) <= 1.2e-7
    # the full-int8 variant with float input has no int8 input, hence no offset
    assert variants["int8"].input.quantization is None


def test_int8_io_manifest_offset_is_checked(variants) -> None:
    info = variants["int8-io"]
    spec = {**info.input.to_json()}
    q = dict(spec["quantization"])
    q["lut"] = input_lut(q["scale"], q["zero_point"], q["offset"])
    TfliteBackend(info.path, input_spec={**spec, "quantization": q})
    for bad, field in (
        ({**q, "offset": 0.0}, "quantization.offset 0.0 (model adds -1.0"),
        ({k: v for k, v in q.items() if k != "offset"}, "quantization.offset 0.0 (model adds"),
        ({**q, "lut": input_lut(q["scale"], q["zero_point"])}, "quantization.lut is not"),
    ):
        with pytest.raises(ModelError, match=re.escape(field)):
            TfliteBackend(info.path, input_spec={**spec, "quantization": bad})


def test_rounding_and_lut() -> None:
    assert round_half_away(np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49999997])).tolist() == [
        1.0,
        2.0,
        3.0,
        -1.0,
        -2.0,
        0.0,
    ]
    assert quantize_input(np.array([10.0, -10.0], np.float32), 0.01, 0).tolist() == [127, -128]
    lut = input_lut(2.0 / 255.0, -1)
    assert len(lut) == 256 and lut == sorted(lut) and lut[0] == -128
    assert lut == quantize_input(NORMALISE_TABLE, 2.0 / 255.0, -1).tolist()
    # Why the manifest carries the table: at 2/255 every pixel lands within float error of a
    # rounding tie, so v=255 gives 126 here although 1.0/(2/255) - 1 "should" round to 127.
    assert lut[255] == 126 and lut[128] == 0
    # the offset form (int8-io): one float32 subtraction before the division, exact here
    assert input_lut(2.0 / 255.0, -128, -1.0) == list(range(-128, 128))
    assert quantize_input(np.float32([0.0]), 0.5, 0, -1.0).tolist() == [2]


def test_zoo_model_converts_exactly(tmp_path: Path) -> None:
    """Grouped + dilated convs, SAME_UPPER pads, constants in every binary op, sigmoid,
    hardsigmoid(0.2), reshape/squeeze chains: fp32 TFLite still equals onnxruntime."""
    from test_onnx_frontend import _zoo_model

    model = _zoo_model()
    g = front.lower(model)
    info = T.build_tflite_variant(g, "fp32", tmp_path / "zoo.tflite")
    x = _x(1)
    ref = _ort(model, x)
    got = TfliteBackend(info.path).embed(x)
    assert float(np.abs(got - ref).max()) <= 1e-5 * max(1.0, float(np.abs(ref).max()))


def test_spatial_flatten_converts_in_nchw_order(tmp_path: Path) -> None:
    model = tm.spatial_flatten_onnx(batch=1)
    info = T.build_tflite_variant(front.lower(model), "fp32", tmp_path / "flat.tflite")
    x = _x(1)
    np.testing.assert_allclose(TfliteBackend(info.path).embed(x), _ort(model, x), atol=1e-4)


def test_unknown_variant_and_missing_calibration(tiny, tmp_path: Path) -> None:
    _, g = tiny
    with pytest.raises(T.TfliteConversionError, match="unknown TFLite variant 'int4'"):
        T.build_tflite_variant(g, "int4", tmp_path / "x.tflite")
    with pytest.raises(T.TfliteConversionError, match="needs calibration"):
        T.build_tflite_variant(g, "int8", tmp_path / "x.tflite")
    with pytest.raises(T.TfliteConversionError, match="calibration must be NHWC"):
        T.build_tflite_variant(
            g, "int8", tmp_path / "x.tflite", calibration=np.zeros((2, 3, 360, 360), np.float32)
        )
    assert not (tmp_path / "x.tflite").exists()


def test_backend_rejects_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        TfliteBackend(tmp_path / "none.tflite")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="not a loadable TFLite model"):
        TfliteBackend(bad)


def test_conversion_is_deterministic(tiny, variants, tmp_path: Path) -> None:
    _, g = tiny
    cal = to_layout(_x(4, seed=5), "NCHW", "NHWC")
    again = T.build_tflite_variant(g, "int8-io", tmp_path / "again.tflite", calibration=cal)
    assert again.path.read_bytes() == variants["int8-io"].path.read_bytes()


def test_squeeze_excite_branches_stay_float_when_asked(tiny, tmp_path, monkeypatch) -> None:
    """FLOAT_SQUEEZE_EXCITE (a measured, unshipped recipe knob): each SE branch is found as
    pool -> conv -> relu -> conv -> hard-sigmoid, and its ops come out float32 while the
    rest of the network stays int8."""
    from tensorflow.lite.python import schema_py_generated as schema_fb

    _, g = tiny
    se = T.squeeze_excite_nodes(g)
    by_out = {n.output: n for n in g.nodes}
    assert se and len(se) % 5 == 0
    for i in range(0, len(se), 5):
        ops = [by_out[o].op for o in se[i : i + 5]]
        assert ops == ["global_avg_pool", "conv", "relu", "conv", "hardsigmoid"]
    monkeypatch.setattr(T, "FLOAT_SQUEEZE_EXCITE", True)
    cal = to_layout(_x(4, seed=5), "NCHW", "NHWC")
    info = T.build_tflite_variant(g, "int8", tmp_path / "se.tflite", calibration=cal)
    data = info.path.read_bytes()
    model = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAsModel(data, 0))
    sub = model.subgraphs[0]
    se_ops = [
        (T._op_name(model, op), sub.tensors[op.outputs[0]].type)
        for op in sub.operators
        if T._tensor_scopes(sub.tensors[op.outputs[0]].name.decode()) & set(se)
    ]
    assert se_ops and all(t == schema_fb.TensorType.FLOAT32 for _, t in se_ops), se_ops
    assert info.op_counts.get("CONV_2D", 0) > 0


def test_every_internal_op_lowers_to_tensorflow() -> None:
    """The TensorFlow lowering of every op of ir.OPS (the graph the TFLite converter sees)
    against the float64 interpreter, on the small every-op graph."""
    from nhkit.export.tflite import build_tf_module

    g = tm.every_op_graph()
    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, 17, 17)).astype(np.float32)
    got = build_tf_module(g).serve(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))["embedding"]
    want = interp.run_graph(g, x)
    assert np.abs(np.asarray(got) - want).max() <= 1e-5 * np.abs(want).max()


def test_tf_embedding_function_takes_a_batch_and_has_gradients() -> None:
    """The float model benchmarks/adversarial.py attacks: the same lowering as the fp32 bundle,
    for any batch, with a gradient with respect to the pixels."""
    import tensorflow as tf

    from nhkit.export.tflite import tf_embedding_function

    g = tm.every_op_graph()
    x = np.random.default_rng(2).uniform(-1, 1, (3, 3, 17, 17)).astype(np.float32)
    fn = tf_embedding_function(g)
    xv = tf.Variable(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))
    with tf.GradientTape() as tape:
        out = fn(xv)
        loss = tf.reduce_sum(out[:, :8])
    want = interp.run_graph(g, x)
    assert np.abs(out.numpy() - want).max() <= 1e-5 * np.abs(want).max()
    grad = tape.gradient(loss, xv).numpy()
    assert grad.shape == (3, 17, 17, 3) and np.abs(grad).sum() > 0


def test_float_stem_is_the_first_convolutions(tiny) -> None:
    _, g = tiny
    first = [n for n in g.nodes if n.op == "conv"][0]
    after = g.nodes[g.nodes.index(first) + 1]
    assert after.op == "hardswish"  # the tiny model's stem: conv + hard-swish
    assert T.float_stem_nodes(g, 1) == [first.output, after.output]
    assert T.float_stem_nodes(g, 0) == []
    assert T.float_stem_nodes(g, 3)[:2] == [first.output, after.output]
    assert sum(n.op == "conv" for n in g.nodes if n.output in T.float_stem_nodes(g, 3)) == 3
    assert T._tensor_scopes("relu_4/Relu;dw_3/BiasAdd;dw_3/depthwise;dw_3/Const_11") == {
        "relu_4",
        "dw_3",
    }
    assert T._tensor_scopes("PartitionedCall:0") == set()


def _op_dtypes(path: Path) -> list[tuple[str, str]]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    td = it.get_tensor_details()
    return [
        (op["op_name"], np.dtype(td[op["outputs"][0]]["dtype"]).name)
        for op in it._get_ops_details()  # noqa: SLF001
    ]


def test_full_int8_keeps_the_stem_float_and_the_rest_int8(variants) -> None:
    assert T.FLOAT_FIRST_CONVS == 3 and T.RANGE_QUANTILE == 1e-4
    for v in ("int8", "int8-io"):
        ops = _op_dtypes(variants[v].path)
        convs = [dt for name, dt in ops if name in ("CONV_2D", "DEPTHWISE_CONV_2D")]
        assert convs[:3] == ["float32"] * 3, (v, ops)
        assert set(convs[3:]) == {"int8"}, (v, ops)
        assert [dt for name, dt in ops if name == "FULLY_CONNECTED"] == ["int8", "int8"], v
    # int8-io still takes and gives int8: the stem dequantizes its input
    assert variants["int8-io"].input.dtype == "int8"
    assert _op_dtypes(variants["int8-io"].path)[0] == ("DEQUANTIZE", "float32")


def test_int16x8_is_integer_throughout_and_closer_than_int8(tiny, variants) -> None:
    """16x8: int16 activations at every op (hard-swish unfused, so no float island), int8
    weights, float32 only at the QUANTIZE/DEQUANTIZE edges; and the point of it: its error
    against float is smaller than full int8's."""
    from ai_edge_litert.interpreter import Interpreter

    info = variants["int16x8"]
    assert info.input.dtype == "float32" and info.output.dtype == "float32"
    ops = _op_dtypes(info.path)
    assert ops[0] == ("QUANTIZE", "int16") and ops[-1] == ("DEQUANTIZE", "float32"), ops
    assert {dt for _, dt in ops[1:-1]} == {"int16"}, ops
    assert "HARD_SWISH" not in info.op_counts and info.op_counts["MUL"] > 0
    it = Interpreter(model_path=str(info.path))
    td = it.get_tensor_details()
    weights = [
        np.dtype(td[op["inputs"][1]]["dtype"]).name
        for op in it._get_ops_details()  # noqa: SLF001
        if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    ]
    assert weights and set(weights) == {"int8"}, weights
    model, _ = tiny
    x = _x(3, seed=11)
    ref = _ort(model, x)
    err = {
        v: float(np.abs(TfliteBackend(variants[v].path).embed(x) - ref).mean())
        for v in ("int8", "int16x8")
    }
    # same int8 weights, so the gap is the activations' (int8's float stem covers much of this
    # tiny model; on the real one the drift is a third of int8's, benchmarks/quantization.py)
    assert err["int16x8"] < err["int8"] * 0.8, err


def test_unfused_hard_swish_is_the_same_function(tiny) -> None:
    from nhkit.export.tflite import build_tf_module

    model, g = tiny
    x = _x(2, seed=3)
    nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    ref = _ort(model, x)
    for fused in (True, False):
        m = build_tf_module(g, fuse_hardswish=fused)
        got = np.concatenate([m.serve(nhwc[i : i + 1])["embedding"].numpy() for i in range(2)])
        assert float(np.abs(got - ref).max()) <= 1e-5 * max(1.0, float(np.abs(ref).max()))


def test_quantile_ranges_are_never_wider_than_min_max(
    tiny, variants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, g = tiny
    cal = to_layout(_x(4, seed=5), "NCHW", "NHWC")
    monkeypatch.setattr(T, "RANGE_QUANTILE", None)
    minmax = T.build_tflite_variant(g, "int8", tmp_path / "minmax.tflite", calibration=cal)
    old, new = _activation_scales(minmax.path), _activation_scales(variants["int8"].path)
    shared = sorted(set(old) & set(new))
    assert len(shared) > 5
    assert all(new[k] <= old[k] * (1 + 1e-6) for k in shared)
    assert any(new[k] < old[k] * 0.99 for k in shared)  # quantiles really clipped something


def _tensor_scales(model: bytes, dtype: type, rank: int | None = None) -> dict[str, float]:
    """The per-tensor scale of every `dtype` tensor (of `rank` dimensions if given): the
    activations, since per-channel weights report scale 0."""
    from ai_edge_litert.interpreter import Interpreter

    td = Interpreter(model_content=model).get_tensor_details()
    return {
        t["name"]: float(t["quantization"][0])
        for t in td
        if t["dtype"] == dtype
        and t["quantization"][0] > 0
        and (rank is None or t["shape"].size == rank)
    }


def _activation_scales(path: Path) -> dict[str, float]:
    """The scale of every int8 4-d tensor (the activations; weights are per channel)."""
    return _tensor_scales(path.read_bytes(), np.int8, rank=4)


def test_a_float_op_outside_the_stem_fails_the_export(variants) -> None:
    data = variants["int8"].path.read_bytes()
    T._check_only_denied_float(data, {"x"} | _stem_tensor_names(variants["int8"].path), "int8")
    with pytest.raises(T.TfliteConversionError, match="stayed float32"):
        T._check_only_denied_float(data, set(), "int8")


def _stem_tensor_names(path: Path) -> set[str]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    td = it.get_tensor_details()
    return {
        td[op["outputs"][0]]["name"]
        for op in it._get_ops_details()  # noqa: SLF001
        if np.dtype(td[op["outputs"][0]]["dtype"]) == np.float32 and op["op_name"] != "DEQUANTIZE"
    }


def _weight_layers_fp16(data: bytes) -> list[bool]:
    """Per weight op (conv, depthwise, dense) in file order: are its weights float16 (read
    through a DEQUANTIZE op) or int8 (a hybrid op of dynamic range)?"""
    from tensorflow.lite.python import schema_py_generated as fb

    m = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(data, 0))
    sub = m.subgraphs[0]

    def name(op) -> str:
        return T._op_name(m, op)

    deq = {int(op.outputs[0]) for op in sub.operators if name(op) == "DEQUANTIZE"}
    weighted = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    return [
        int(op.inputs[1]) in deq or sub.tensors[op.inputs[1]].type == fb.TensorType.INT8
        for op in sub.operators
        if name(op) in weighted
    ]


@pytest.mark.parametrize(
    "variant,knob",
    [("fp16", "FP16_FLOAT32_FRACTION"), ("dynamic-int8", "DYNAMIC_INT8_FLOAT32_FRACTION")],
)
def test_float32_weights_in_the_first_layers(tiny, variants, monkeypatch, variant, knob) -> None:
    """The fp16 / dynamic-int8 recipe: float32 weights in the first fraction of the weight layers,
    the converter's float16 / int8 in the rest; fraction 0 is the converter's plain variant, and
    fraction 1 computes exactly what the fp32 file does."""
    model, g = tiny
    n_weight = sum(n.op in ("conv", "dense") for n in g.nodes)
    kept = int(round(getattr(T, knob) * n_weight))
    assert 0 < kept < n_weight
    mixed = _weight_layers_fp16(variants[variant].path.read_bytes())
    module = T.build_tf_module(g)
    monkeypatch.setattr(T, knob, 0.0)
    plain = T._convert(module, variant, None, g)
    plain_layers = _weight_layers_fp16(plain)
    assert any(plain_layers)  # (dynamic range leaves tensors under 1024 weights float32 itself)
    assert mixed == [False] * kept + plain_layers[kept:]
    monkeypatch.setattr(T, knob, 1.0)
    restored = T._convert(module, variant, None, g)
    assert _weight_layers_fp16(restored) == [False] * n_weight
    x = to_layout(_x(3, seed=9), "NCHW", "NHWC")
    ref = _run(variants["fp32"].path.read_bytes(), x)
    assert np.array_equal(_run(restored, x), ref)
    err_mixed = np.abs(_run(variants[variant].path.read_bytes(), x) - ref).max()
    err_plain = np.abs(_run(plain, x) - ref).max()
    assert err_mixed <= err_plain and err_plain > 0
    if variant == "fp16":  # every tiny layer is float16 in plain fp16: the restore shows
        assert all(plain_layers) and 0 < err_mixed < err_plain
        assert len(plain) < variants[variant].path.stat().st_size


def _run(data: bytes, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=data)
    it.allocate_tensors()
    out = []
    for i in range(x.shape[0]):
        it.set_tensor(it.get_input_details()[0]["index"], x[i : i + 1])
        it.invoke()
        out.append(it.get_tensor(it.get_output_details()[0]["index"]).copy())
    return np.concatenate(out)


def test_int16_headroom_rescues_activations_beyond_the_calibration_range(
    tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calibrated on faint images, fed a full-contrast one: with the converter's ranges the
    int16 activations saturate; with headroom the same model stays close to float, and on
    the calibration-like images the widened model computes the same function."""
    model, g = tiny
    faint = to_layout(_x(4, seed=5) * 0.2, "NCHW", "NHWC")
    built = {}
    for factor in (1.0, 4.0):
        monkeypatch.setattr(T, "INT16_RANGE_HEADROOM", factor)
        built[factor] = T.build_tflite_variant(
            g, "int16x8", tmp_path / f"h{factor}.tflite", calibration=faint
        )

    def err(x: np.ndarray) -> dict[float, float]:
        ref = _ort(model, x)
        scale = float(np.abs(ref).mean())
        return {
            f: float(np.abs(TfliteBackend(b.path).embed(x) - ref).mean()) / scale
            for f, b in built.items()
        }

    loud = err(_x(2, seed=9))
    assert loud[4.0] < loud[1.0] / 3, loud
    quiet = err(_x(2, seed=9) * 0.2)
    assert quiet[4.0] < 0.02 and quiet[1.0] < 0.02, quiet


def test_widening_int16_ranges_keeps_the_function(variants) -> None:
    data = variants["int16x8"].path.read_bytes()
    # the written file is already post-passed: its biases are at their own scales
    assert T._int16x8_post_pass(data, 1.0) is data
    wide = T._int16x8_post_pass(data, 2.0)

    a, b = _tensor_scales(data, np.int16), _tensor_scales(wide, np.int16)
    assert a.keys() == b.keys() and len(a) > 10
    # every activation tensor twice as wide (stored int16 constants keep theirs)
    assert sum(abs(b[k] / a[k] - 2.0) < 1e-6 for k in a) >= len(a) - 3


def test_int8_range_scale_widens_every_activation_range(
    tiny, variants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tuning knob behind benchmarks/quantization.py's `wide*` recipes: every activation
    scale (not the model input's, which the spec fixes) grows by the factor."""
    from ai_edge_litert.interpreter import Interpreter

    _, g = tiny
    cal = to_layout(_x(4, seed=5), "NCHW", "NHWC")
    monkeypatch.setattr(T, "INT8_RANGE_SCALE", 2.0)
    wide = T.build_tflite_variant(g, "int8-io", tmp_path / "wide.tflite", calibration=cal)
    base, got = _activation_scales(variants["int8-io"].path), _activation_scales(wide.path)
    inputs = {d["name"] for d in Interpreter(model_path=str(wide.path)).get_input_details()}
    shared = sorted((set(base) & set(got)) - inputs)
    assert len(shared) > 5
    assert all(abs(got[k] / base[k] - 2.0) < 1e-3 for k in shared), [
        (k, got[k] / base[k]) for k in shared
    ]
    assert all(got[k] == base[k] for k in inputs & set(base))


def _bias_scale_mismatches(path: Path) -> tuple[int, int]:
    """(conv/dense ops with quantized inputs, those whose bias scale is not input x weight)."""
    from tensorflow.lite.python import schema_py_generated as schema_fb

    model = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAsModel(path.read_bytes(), 0))
    sub = model.subgraphs[0]
    ops = bad = 0
    for op in sub.operators:
        if T._op_name(model, op) not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        x, w, b = (sub.tensors[i] for i in op.inputs[:3])
        if x.quantization is None or x.quantization.scale is None or len(x.quantization.scale) == 0:
            continue
        ops += 1
        want = x.quantization.scale[0] * np.asarray(w.quantization.scale)
        bad += not np.allclose(b.quantization.scale, want, rtol=1e-5)
    return ops, bad


def test_integer_variants_of_a_multi_view_model_give_each_copy_its_own_bias_scale(
    tmp_path: Path,
) -> None:
    """The copies of a multi-view wrap share their weights; the converter merges them, and the
    legacy 16x8 quantizer stored each shared bias at one copy's scale (v16v drifted 48 bits).
    Every integer variant must requantize each copy's bias at its own input scale."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
    from multiview import wrap

    model = wrap(tm.tiny_onnx(seed=2), [1.0, 0.8])
    p = tmp_path / "wrapped.onnx"
    onnx.save(model, str(p))
    g = front.load_graph(p)
    cal = to_layout(_x(4, seed=5), "NCHW", "NHWC")
    x = _x(3, seed=8)
    want = _ort(model, x)
    for v in ("int16x8", "int8"):
        info = T.build_tflite_variant(g, v, tmp_path / f"{v}.tflite", calibration=cal)
        ops, bad = _bias_scale_mismatches(info.path)
        assert ops > 0 and bad == 0, (v, ops, bad)
        got = TfliteBackend(str(info.path)).embed(x)
        cos = np.sum(got * want, 1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
        assert cos.min() > (0.9999 if v == "int16x8" else 0.99), (v, cos)


def _op_counts(path: Path) -> dict[str, int]:
    from tensorflow.lite.python import schema_py_generated as schema_fb

    model = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAsModel(path.read_bytes(), 0))
    counts: dict[str, int] = {}
    for op in model.subgraphs[0].operators:
        name = T._op_name(model, op)
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_full_int8_folds_clips_into_ranges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model bounded at its int8 ranges (training/bound_activations.py): full int8 drops the
    MINIMUM / MAXIMUM its Clips become (the int8 range saturates alike) and computes what the
    unfolded bundle computes; a Clip in the float stem stays."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
    import bound_activations as ba

    model = tm.tiny_onnx(seed=2)
    cal = _x(4, seed=5)
    names = ba.bounded_outputs(model)
    bounded = ba.bound(model, ba.measure_ranges(model, names, cal, 1e-4))
    # and one Clip inside the float stem, which full int8 keeps in float
    stem = [n for n in bounded.graph.node if n.output[0] == "hardswish_8"][0]
    stem.output[0] = "hardswish_8/raw"
    bounded.graph.node.insert(
        list(bounded.graph.node).index(stem) + 1,
        onnx.helper.make_node("Clip", ["hardswish_8/raw", "stem/lo", "stem/hi"], ["hardswish_8"]),
    )
    for name, v in (("stem/lo", -0.3), ("stem/hi", 2.5)):
        bounded.graph.initializer.append(
            onnx.numpy_helper.from_array(np.array(v, np.float32), name)
        )
    p = tmp_path / "bounded.onnx"
    onnx.save(bounded, str(p))
    g = front.load_graph(p)
    nhwc = to_layout(cal, "NCHW", "NHWC")
    folded = T.build_tflite_variant(g, "int8", tmp_path / "folded.tflite", calibration=nhwc)
    monkeypatch.setattr(T, "FOLD_CLIPS_INTO_RANGES", False)
    kept = T.build_tflite_variant(g, "int8", tmp_path / "kept.tflite", calibration=nhwc)
    n_kept, n_folded = _op_counts(kept.path), _op_counts(folded.path)
    clips_kept = n_kept.get("MINIMUM", 0) + n_kept.get("MAXIMUM", 0)
    clips_folded = n_folded.get("MINIMUM", 0) + n_folded.get("MAXIMUM", 0)
    assert clips_kept >= len(names) and 0 < clips_folded <= 3  # the stem's (and the output's)
    x = _x(3, seed=8)
    want = _ort(bounded, x)
    a, b = TfliteBackend(str(folded.path)).embed(x), TfliteBackend(str(kept.path)).embed(x)
    step = np.abs(want).max() / 127
    assert np.abs(a - b).max() < 4 * step  # the same saturation, a few roundings apart
    cos = np.sum(a * want, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(want, axis=1)
    assert cos.min() > 0.99


def test_int16x8_bounds_share_their_input_scale(tmp_path: Path) -> None:
    """A bounded model's int16x8 bundle: the MINIMUM / MAXIMUM kernels compare integers as
    they are, so after the range headroom every stored bound must sit on its input's scale;
    the bundle then computes the bounded float model (a bound left on its old scale clipped at
    INT16_RANGE_HEADROOM times itself)."""
    import sys

    from tensorflow.lite.python import schema_py_generated as schema_fb

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
    import bound_activations as ba

    model = tm.tiny_onnx(seed=2)
    cal = _x(4, seed=5)
    names = ba.bounded_outputs(model)
    # bounds well inside the calibration ranges, so that they clip the calibration photos too
    ranges = {
        n: (lo / 2, hi / 2) for n, (lo, hi) in ba.measure_ranges(model, names, cal, 0.0).items()
    }
    bounded = ba.bound(model, ranges)
    p = tmp_path / "bounded.onnx"
    onnx.save(bounded, str(p))
    info = T.build_tflite_variant(
        front.load_graph(p),
        "int16x8",
        tmp_path / "b16.tflite",
        calibration=to_layout(cal, "NCHW", "NHWC"),
    )
    flat = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAsModel(info.path.read_bytes(), 0))
    sub = flat.subgraphs[0]
    checked = 0
    for op in sub.operators:
        if T._op_name(flat, op) not in ("MINIMUM", "MAXIMUM"):
            continue
        a, b = (sub.tensors[int(i)] for i in op.inputs)
        assert a.quantization.scale[0] == pytest.approx(b.quantization.scale[0], rel=1e-6)
        checked += 1
    assert checked >= len(names) // 2
    x = _x(3, seed=8)
    want = _ort(bounded, x)
    got = TfliteBackend(str(info.path)).embed(x)
    cos = np.sum(got * want, 1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert cos.min() > 0.9999, cos
