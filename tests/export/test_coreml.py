"""Core ML export (nhkit.export.coreml): internal graph -> ML program variants.

Every check runs the exported program with nhkit's executor (coremltools cannot predict off
macOS) against the graph's float64 oracle or onnxruntime."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from coreml_testmodel import coreml_packages, onnx_embed, random_batch

pytest.importorskip("coremltools")
pytestmark = pytest.mark.filterwarnings("ignore")

from nhkit.export.coreml import (  # noqa: E402
    COREML_VARIANT_INFO,
    COREML_VARIANTS,
    CoreMLConversionError,
    build_coreml_variant,
    coreml_model_io,
    deployment_target,
)
from nhkit.export.interpreter import run_graph  # noqa: E402
from nhkit.export.testmodels import every_op_graph  # noqa: E402
from nhkit.runtime.coreml.executor import MLProgram  # noqa: E402


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return coreml_packages(tmp_path_factory.getbasetemp() / "coreml-packages")


def _tree_digest(pkg: Path) -> dict[str, str]:
    return {
        p.relative_to(pkg).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(pkg.rglob("*"))
        if p.is_file()
    }


def test_variant_names_and_info() -> None:
    assert COREML_VARIANTS == ("fp32", "fp16", "int8", "int8-b32", "pal8", "pal6", "pal4")
    assert COREML_VARIANT_INFO["fp32"].precision == "fp32"
    assert all(COREML_VARIANT_INFO[v].precision == "fp16" for v in COREML_VARIANTS[1:])


def test_every_variant_has_the_interface_and_its_compression(packages: dict[str, Path]) -> None:
    sizes = {}
    for v in COREML_VARIANTS:
        p = MLProgram.open(packages[v])
        assert [(f.name, f.dtype, f.shape) for f in p.inputs] == [
            ("image", "fp32", (1, 3, 360, 360))
        ]
        assert [(f.name, f.dtype, f.shape) for f in p.outputs] == [("embedding", "fp32", (1, 128))]
        # iOS 16, but grouped palettes (pal6, pal4) need iOS 18's constexpr_lut_to_dense and
        # per-block scales (int8-b32) its constexpr_blockwise_shift_scale
        assert p.opset == ("CoreML8" if deployment_target(v) == "iOS18" else "CoreML6"), v
        assert p.compute_precision == COREML_VARIANT_INFO[v].precision
        counts = p.op_counts()
        info = COREML_VARIANT_INFO[v]
        if info.quantize and info.block_size:
            assert counts["constexpr_blockwise_shift_scale"] >= 2
            assert "constexpr_affine_dequantize" not in counts
        elif info.quantize:
            assert counts["constexpr_affine_dequantize"] >= 2
            assert all(a.dtype == np.float16 for a in p.constexpr_values.values())
        elif info.palette_bits:
            assert counts["constexpr_lut_to_dense"] >= 2
            assert "constexpr_affine_dequantize" not in counts
        else:
            assert not any(k.startswith("constexpr_") for k in counts)
        sizes[v] = (packages[v] / "Data/com.apple.CoreML/weights/weight.bin").stat().st_size
    assert sizes["fp32"] > sizes["fp16"] > sizes["int8-b32"] > sizes["int8"]  # + block scales
    # (pal6/pal4 against pal8: on this small model, one 64- or 16-entry LUT per 4 channels
    # outweighs the bits it saves, so only same-grouping variants are ordered)
    assert sizes["fp16"] > sizes["pal8"] and sizes["pal6"] > sizes["pal4"]


def test_palette_sizes_match_the_bits(packages: dict[str, Path]) -> None:
    from nhkit.export import coreml as C
    from nhkit.export.onnx_frontend import load_graph
    from nhkit.runtime.coreml.mlmodel import parse_model

    assert C.SENSITIVE_PALETTE_BITS == 8 and C.SENSITIVE_LAST_WEIGHT_OPS == 1
    assert C.PALETTE_CONV_GROUP_SIZE == 4 and C.SENSITIVE_FIRST_WEIGHT_FRACTION == 0.8
    graph = load_graph(packages["onnx"], use_onnxsim=False)
    weighted = [n for n in graph.nodes if n.op in ("conv", "dense")]
    first = weighted[: int(round(0.8 * len(weighted)))]
    sensitive = C.sensitive_weight_ops(graph)
    assert sensitive == [C._mil_name(graph, n) for n in [weighted[-1], *first]]
    for v in ("pal8", "pal6", "pal4"):
        bits = COREML_VARIANT_INFO[v].palette_bits
        spec = parse_model((packages[v] / "Data/com.apple.CoreML/model.mlmodel").read_bytes())
        # name -> (LUT groups along the output channels, LUT entries, output channels)
        luts: dict[str, tuple[int, int, int]] = {}
        for op in spec.functions["main"].block.operations:
            if op.type != "constexpr_lut_to_dense":
                continue
            if "lut" in op.attributes:  # iOS 16: one flat LUT per tensor
                (entries,) = op.attributes["lut"].type.shape
                luts[op.outputs[0][0]] = (1, entries, 0)
            else:  # iOS 18: LUT [groups, 1, ..., entries, 1] over the indices tensor
                lut = op.inputs["lut"][0].value.type.shape
                out = op.inputs["indices"][0].value.type.shape[0]
                luts[op.outputs[0][0]] = (lut[0], lut[-2], out)
        # The embedding projection (the last weight layer) and the first 80% of the weight
        # layers keep 8 bits with one LUT; every other palettized weight has the variant's
        # bits, convs below 8 bits one LUT per PALETTE_CONV_GROUP_SIZE output channels (iOS 18).
        head = {n for n in luts if n.startswith("embedding_weight")}
        assert len(head) == 1 and len(luts) > 1, (v, luts)
        kept = {n for n in luts if any(n.startswith(f"{m}_weight") for m in sensitive)}
        assert head < kept and len(kept) >= 2, (v, luts)  # some early layer is over 2048 weights
        assert all(luts[n][:2] == (1, 256) for n in kept), (v, luts)
        rest = {n: t for n, t in luts.items() if n not in kept}
        assert rest, (v, luts)
        assert all(entries == 2**bits for _, entries, _ in rest.values()), (v, luts)
        grouped = deployment_target(v) == "iOS18"
        assert grouped == (bits < 8), v
        for groups, _, out in rest.values():
            assert groups == (out // C.PALETTE_CONV_GROUP_SIZE if grouped else 1), (v, luts)


def test_deployment_target_follows_the_palette_grouping(monkeypatch: pytest.MonkeyPatch) -> None:
    from nhkit.export import coreml as C

    assert [deployment_target(v) for v in COREML_VARIANTS] == [
        "iOS16",
        "iOS16",
        "iOS16",
        "iOS18",
        "iOS16",
        "iOS18",
        "iOS18",
    ]
    assert [v for v in COREML_VARIANTS if C.grouped_palette(C.COREML_VARIANT_INFO[v])] == [
        "pal6",
        "pal4",
    ]
    monkeypatch.setattr(C, "PALETTE_CONV_GROUP_SIZE", None)
    assert {deployment_target(v) for v in COREML_VARIANTS if v != "int8-b32"} == {"iOS16"}
    assert not any(C.grouped_palette(i) for i in C.COREML_VARIANT_INFO.values())


def test_variants_track_onnxruntime(packages: dict[str, Path]) -> None:
    x = random_batch(1, seed=3)
    ref = onnx_embed(packages["onnx"], x)
    scale = float(np.abs(ref).max())
    errs = {}
    for v in COREML_VARIANTS:
        got = MLProgram.open(packages[v]).predict({"image": x})["embedding"]
        errs[v] = float(np.abs(got - ref).max()) / scale
    assert errs["fp32"] <= 1e-5
    assert errs["fp16"] <= 5e-3
    assert max(errs["int8"], errs["int8-b32"], errs["pal8"]) <= 5e-2
    assert errs["int8-b32"] < errs["int8"]  # finer scales, less weight error
    assert errs["pal6"] <= 0.2 and errs["pal4"] <= 0.5
    assert errs["pal4"] > errs["pal8"]  # fewer bits, more error: compression really happened


def test_export_is_deterministic(packages: dict[str, Path], tmp_path: Path) -> None:
    from nhkit.export.onnx_frontend import load_graph

    graph = load_graph(packages["onnx"], use_onnxsim=False)
    for v in ("fp16", "pal4"):
        again = build_coreml_variant(graph, v, tmp_path / f"again-{v}.mlpackage")
        assert _tree_digest(again) == _tree_digest(packages[v]), v
    manifest = json.loads((packages["fp16"] / "Manifest.json").read_text())
    assert manifest["rootModelIdentifier"] in manifest["itemInfoEntries"]
    spec = (packages["fp16"] / "Data/com.apple.CoreML/model.mlmodel").read_bytes()
    assert b"conversion_date" not in spec and b"coremltools.version" in spec


def test_bad_requests_fail_cleanly(packages: dict[str, Path], tmp_path: Path) -> None:
    from nhkit.export.onnx_frontend import load_graph

    graph = load_graph(packages["onnx"], use_onnxsim=False)
    with pytest.raises(CoreMLConversionError, match="unknown Core ML variant 'int4'.*fp32"):
        build_coreml_variant(graph, "int4", tmp_path / "x.mlpackage")
    with pytest.raises(CoreMLConversionError, match="must be saved as a '.mlpackage'"):
        build_coreml_variant(graph, "fp16", tmp_path / "x.mlmodel")
    (tmp_path / "taken.mlpackage").mkdir()
    with pytest.raises(CoreMLConversionError, match="already exists"):
        build_coreml_variant(graph, "fp16", tmp_path / "taken.mlpackage")
    with pytest.raises(CoreMLConversionError, match="output folder does not exist"):
        build_coreml_variant(graph, "fp16", tmp_path / "nope" / "x.mlpackage")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.mlpackage"]


def test_unverifiable_program_fails_export_and_leaves_nothing(
    packages: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nhkit.export.onnx_frontend import load_graph
    from nhkit.runtime.coreml import ops

    graph = load_graph(packages["onnx"], use_onnxsim=False)
    monkeypatch.delitem(ops.COMPUTE_OPS, "relu6")
    out = tmp_path / "m.mlpackage"
    with pytest.raises(CoreMLConversionError, match="cannot be verified.*'relu6'"):
        build_coreml_variant(graph, "fp32", out)
    assert list(tmp_path.iterdir()) == []


def test_every_internal_op_maps_correctly() -> None:
    """A hand-built graph using each internal op and attribute form, at a small input size,
    compared against the float64 interpreter through the fp32 variant."""
    graph = every_op_graph()
    assert graph.shapes["c1"] == (1, 8, 9, 8)
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        pkg = build_coreml_variant(graph, "fp32", Path(d) / "ops.mlpackage")
        prog = MLProgram.open(pkg)
        counts = prog.op_counts()
        x = np.random.default_rng(1).uniform(-1, 1, (1, 3, 17, 17)).astype(np.float32)
        got = prog.predict({"image": x})["embedding"]
    want = run_graph(graph, x)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    for op in ("relu6", "clip", "maximum", "minimum", "sigmoid_hard", "real_div", "sigmoid"):
        assert op in counts or (op == "real_div" and "mul" in counts), (op, counts)


def test_manifest_io_entries_drive_the_backend(packages: dict[str, Path]) -> None:
    from nhkit.export.onnx_frontend import load_graph
    from nhkit.runtime.backends.coreml import CoreMLBackend

    io = coreml_model_io(load_graph(packages["onnx"], use_onnxsim=False))
    assert io["inputs"] == [
        {
            "name": "image",
            "shape": [1, 3, 360, 360],
            "dtype": "float32",
            "layout": "NCHW",
            "quantization": None,
        }
    ]
    assert io["outputs"] == [
        {"name": "embedding", "shape": [1, 128], "dtype": "float32", "quantization": None}
    ]
    for v in COREML_VARIANTS:
        b = CoreMLBackend(
            packages[v], input_spec=io["inputs"][0], output_name=io["outputs"][0]["name"]
        )
        assert b.embed(random_batch(1, seed=9)).shape == (1, 128)
