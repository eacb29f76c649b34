"""MIL op kernels (nhkit.runtime.coreml.ops): fp16 rounding, decompression forms bit-exact
with coremltools, other op forms against numpy.

Split from the former tests/test_coreml_executor.py; tests that need packages made by
coremltools skip when it is not installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from coreml_helpers import QUIET, _save_program, _spec_path, _weights

from nhkit.runtime.coreml.executor import MLProgram
from nhkit.runtime.coreml.ops import round_to_fp16


def test_round_to_fp16_is_bit_exact() -> None:
    halves = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    f = halves.astype(np.float32)
    f = f[np.isfinite(f)]
    mids = ((f[:-1].astype(np.float64) + f[1:]) / 2).astype(np.float32)  # exact ties
    near = np.concatenate(
        [np.nextafter(mids, np.float32(np.inf)), np.nextafter(mids, np.float32(-np.inf))]
    )
    rnd = np.random.default_rng(0).integers(0, 1 << 32, 1 << 20, dtype=np.uint64)
    specials = np.array(
        [
            0.0,
            -0.0,
            np.inf,
            -np.inf,
            np.nan,
            65504,
            65519.99,
            65520,
            1e-8,
            -6.1e-5,
            5.96e-8,
            2.98e-8,
            2.99e-8,
            3e38,
        ],
        dtype=np.float32,
    )
    x = np.concatenate([f, mids, near, rnd.astype(np.uint32).view(np.float32), specials])
    with np.errstate(over="ignore", invalid="ignore"):
        want = x.astype(np.float16).astype(np.float32)
    got = round_to_fp16(x)
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    assert same.all(), x[~same][:5]


@QUIET
def test_fp16_ops_round_every_output_to_float16() -> None:
    ct = pytest.importorskip("coremltools")
    from coremltools.converters.mil import Builder as mb

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 4, 8, 8))], opset_version=ct.target.iOS16)
    def prog(image):  # noqa: ANN001, ANN202
        y = mb.mul(x=image, y=np.float32(0.1))
        y = mb.add(x=y, y=image)
        y = mb.sigmoid_hard(x=y, alpha=0.3, beta=0.4)
        return mb.relu(x=y, name="out")

    model = ct.convert(
        prog,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
        compute_precision=ct.precision.FLOAT16,
        skip_model_load=True,
    )
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.mlpackage"
        model.save(str(path))
        p = MLProgram.open(path)
        assert p.op_counts()["cast"] == 2 and "mul" in p.op_counts()
        x = np.random.default_rng(0).standard_normal((1, 4, 8, 8)).astype(np.float32) * 3
        got = p.predict({"image": x})["out"]
    h = np.float16
    x16 = x.astype(h)
    y = (x16 * h(0.1)).astype(h)
    y = (y + x16).astype(h)
    # one op, one rounding: alpha*y + beta in float32 with the program's fp16 constants
    f = np.float32
    y = np.clip(y.astype(f) * f(h(0.3)) + f(h(0.4)), 0, 1).astype(h)
    want = np.maximum(y, h(0)).astype(np.float32)
    assert got.dtype == np.float32
    assert np.array_equal(got, want)


def _coremltools_constexpr_values(pkg: Path) -> dict[str, np.ndarray]:
    """Load the package with coremltools' milproto frontend (its own blob reader) and let each
    constexpr op materialise itself (`materialized_val_inference`)."""
    from coremltools.converters.mil.frontend.milproto.load import load as milproto_load
    from coremltools.proto import Model_pb2

    spec = Model_pb2.Model()
    spec.ParseFromString(_spec_path(pkg).read_bytes())
    prog = milproto_load(spec, spec.specificationVersion, str(_weights(pkg).parent))
    return {
        op.outputs[0].name: np.asarray(op.materialized_val_inference())
        for op in prog.functions["main"].operations
        if op.op_type.startswith("constexpr_")
    }


def _assert_bit_exact(pkg: Path, op_type: str) -> int:
    theirs = _coremltools_constexpr_values(pkg)
    prog = MLProgram.open(pkg)
    mine = prog.constexpr_values
    assert theirs and set(mine) == set(theirs)
    assert prog.op_counts().get(op_type, 0) == len(theirs)
    for name, want in theirs.items():
        got = mine[name]
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert got.tobytes() == want.tobytes(), name
    return len(theirs)


@QUIET
@pytest.mark.parametrize(
    "variant, op_type",
    [
        ("int8", "constexpr_affine_dequantize"),
        ("pal8", "constexpr_lut_to_dense"),
        ("pal6", "constexpr_lut_to_dense"),
        ("pal4", "constexpr_lut_to_dense"),
    ],
)
def test_decompression_is_bit_exact_with_coremltools(
    packages: dict[str, Path], variant: str, op_type: str
) -> None:
    assert _assert_bit_exact(packages[variant], op_type) >= 2


@QUIET
@pytest.mark.parametrize(
    "kind, config",
    [
        (
            "constexpr_blockwise_shift_scale",
            dict(quant="linear_symmetric", dtype="int4", granularity="per_block", block_size=16),
        ),
        (
            "constexpr_blockwise_shift_scale",
            dict(quant="linear", dtype="uint8", granularity="per_channel"),
        ),
        ("constexpr_lut_to_dense", dict(nbits=3, granularity="per_grouped_channel", group_size=8)),
        ("constexpr_lut_to_dense", dict(nbits=1, granularity="per_tensor")),
        ("constexpr_lut_to_dense", dict(nbits=2, granularity="per_tensor", cluster_dim=2)),
        ("constexpr_lut_to_dense", dict(nbits=6, granularity="per_grouped_channel", group_size=16)),
    ],
)
def test_ios18_decompression_forms_are_bit_exact(
    tmp_path: Path, kind: str, config: dict[str, object]
) -> None:
    """The iOS 18 compression ops (sub-byte blob types, per-block scales, vector LUTs): not what
    the iOS 16 exporter emits today, but a newer deployment target would."""
    ct = pytest.importorskip("coremltools")
    import coremltools.optimize.coreml as cto
    from coremltools.converters.mil import Builder as mb

    rng = np.random.default_rng(3)
    wc = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    wl = rng.standard_normal((64, 32)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 16, 8, 8))], opset_version=ct.target.iOS18)
    def prog(image):  # noqa: ANN001, ANN202
        y = mb.conv(x=image, weight=wc, pad_type="same")
        y = mb.reduce_mean(x=y, axes=[2, 3])
        return mb.linear(x=y, weight=wl, name="out")

    model = ct.convert(
        prog,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS18,
        compute_precision=ct.precision.FLOAT32,
        skip_model_load=True,
    )
    cfg = dict(config)
    if "quant" in cfg:
        op_cfg = cto.OpLinearQuantizerConfig(mode=cfg.pop("quant"), weight_threshold=0, **cfg)
        model = cto.linear_quantize_weights(model, cto.OptimizationConfig(op_cfg))
    else:
        op_cfg = cto.OpPalettizerConfig(mode="kmeans", weight_threshold=0, **cfg)
        model = cto.palettize_weights(model, cto.OptimizationConfig(op_cfg))
    path = tmp_path / "m.mlpackage"
    model.save(str(path))
    assert _assert_bit_exact(path, kind) == 2
    # and the program runs on the decompressed weights: compare with a float64 reference
    p = MLProgram.open(path)
    wcd, wld = sorted(p.constexpr_values.values(), key=lambda a: -a.ndim)
    assert wcd.shape == wc.shape and wld.shape == wl.shape
    x = rng.standard_normal((1, 16, 8, 8)).astype(np.float32)
    out = p.predict({"image": x})["out"]
    xp = np.pad(x[0].astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    conv = sum(
        np.einsum("oi,ihw->ohw", wcd[:, :, i, j].astype(np.float64), xp[:, i : i + 8, j : j + 8])
        for i in range(3)
        for j in range(3)
    )
    ref = wld.astype(np.float64) @ conv.mean(axis=(1, 2))
    assert np.abs(out[0] - ref).max() <= 1e-5 * np.abs(ref).max()


@QUIET
def test_other_mil_op_forms_match_numpy(tmp_path: Path) -> None:
    """Ops the exporter does not emit today but the issue lists (and coremltools' own lowerings
    use): PyTorch's hard-swish form via thresholded_relu, shape ops, pad modes, matmul with
    transposes, reductions, cast. Each must survive conversion and match numpy."""
    ct = pytest.importorskip("coremltools")
    from coremltools.converters.mil import Builder as mb

    rng = np.random.default_rng(2)
    m = rng.standard_normal((8, 5)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 4, 5, 6))], opset_version=ct.target.iOS16)
    def prog(image):  # noqa: ANN001, ANN202
        w = mb.thresholded_relu(x=image, alpha=-3.0)
        hs = mb.mul(x=w, y=mb.sigmoid_hard(x=w, alpha=1.0 / 6, beta=0.5))
        t = mb.transpose(x=hs, perm=[0, 2, 3, 1])  # [1, 5, 6, 4]
        p = mb.pad(x=t, pad=[1, 0, 0, 2], mode="constant", constant_val=0.5)
        p = mb.pad(x=p, pad=[1, 1], mode="reflect")  # [1, 5, 7, 8]
        e = mb.expand_dims(x=mb.reduce_sum(x=p, axes=[0], keep_dims=False), axes=[-1])
        s = mb.squeeze(x=e, axes=[3])  # [5, 7, 8]
        mm = mb.matmul(x=s, y=m, transpose_x=False, transpose_y=False)  # [5, 7, 5]
        mm2 = mb.matmul(x=mm, y=mm, transpose_x=True)  # [5, 5, 5]
        r = mb.real_div(
            x=mm2, y=mb.add(x=mb.reduce_max(x=mm2, axes=[1, 2], keep_dims=True), y=np.float32(1.0))
        )
        c = mb.cast(x=mb.mul(x=r, y=np.float32(10.0)), dtype="int32")
        c = mb.cast(x=c, dtype="fp32")
        mx = mb.maximum(x=mb.sub(x=c, y=r), y=mb.minimum(x=r, y=np.float32(0.1)))
        return mb.clip(x=mx, alpha=-4.0, beta=4.0, name="out")

    path = _save_program(prog, tmp_path)
    p = MLProgram.open(path)
    counts = p.op_counts()
    for op in (
        "thresholded_relu",
        "transpose",
        "pad",
        "reduce_sum",
        "expand_dims",
        "squeeze",
        "matmul",
        "reduce_max",
        "real_div",
        "cast",
        "maximum",
        "minimum",
        "clip",
    ):
        assert op in counts, (op, counts)
    x = (rng.standard_normal((1, 4, 5, 6)) * 4).astype(np.float32)
    got = p.predict({"image": x})["out"]

    w = np.where(x > -3, x, 0)
    hs = w * np.clip(w / 6 + 0.5, 0, 1)
    t = hs.transpose(0, 2, 3, 1)
    pp = np.pad(t, [(0, 0), (0, 0), (1, 0), (0, 2)], constant_values=0.5)
    pp = np.pad(pp, [(0, 0), (0, 0), (0, 0), (1, 1)], mode="reflect")
    s = pp.sum(axis=0)
    mm = s @ m
    mm2 = np.swapaxes(mm, -1, -2) @ mm
    r = mm2 / (mm2.max(axis=(1, 2), keepdims=True) + 1)
    c = (r * 10).astype(np.int32).astype(np.float32)
    want = np.clip(np.maximum(c - r, np.minimum(r, 0.1)), -4, 4)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-5 * max(1.0, float(np.abs(want).max()))


def test_crop_and_half_pixel_resize_kernels() -> None:
    """The multi-view wrap's two MIL ops: the resize is MIL's UNALIGN_CORNERS grid (coremltools'
    own worked example: 2 -> 5 samples at 0, 0.1, 0.5, 0.9, 1) and refuses the other modes."""
    from nhkit.runtime.coreml.ops import COMPUTE_OPS, OpError

    x = np.array([[[[0.0, 10.0]]]], np.float32)  # 1 x 1 x 1 x 2
    args = {"x": x, "target_size_height": 1, "target_size_width": 5}
    got = COMPUTE_OPS["resize_bilinear"]({**args, "sampling_mode": "UNALIGN_CORNERS"}, {})
    np.testing.assert_allclose(got[0, 0, 0], [0.0, 1.0, 5.0, 9.0, 10.0], atol=1e-6)
    with pytest.raises(OpError, match="only UNALIGN_CORNERS"):
        COMPUTE_OPS["resize_bilinear"]({**args, "sampling_mode": "ALIGN_CORNERS"}, {})
    m = np.arange(2 * 3 * 6 * 7, dtype=np.float32).reshape(2, 3, 6, 7)
    out = COMPUTE_OPS["crop"]({"x": m, "crop_height": [1, 2], "crop_width": [3, 0]}, {})
    np.testing.assert_array_equal(out, m[:, :, 1:4, 3:7])
    with pytest.raises(OpError, match="does not fit"):
        COMPUTE_OPS["crop"]({"x": m, "crop_height": [3, 3], "crop_width": [0, 0]}, {})
