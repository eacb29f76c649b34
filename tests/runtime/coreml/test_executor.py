"""The Core ML program executor (nhkit.runtime.coreml.executor): loading packages, running
programs, and the errors for broken ones.

Split from the former tests/test_coreml_executor.py; tests that need packages made by
coremltools skip when it is not installed."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from coreml_helpers import QUIET, _copy, _save_program, _spec_path, _weights
from coreml_testmodel import onnx_embed, random_batch

from nhkit.runtime.coreml.blob import BlobError
from nhkit.runtime.coreml.executor import CoreMLPackageError, MLProgram, UnsupportedOpError
from nhkit.runtime.coreml.mlmodel import parse_model
from nhkit.runtime.errors import ModelError


def test_fp32_program_matches_onnxruntime(packages: dict[str, Path]) -> None:
    prog = MLProgram.open(packages["fp32"])
    assert prog.compute_precision == "fp32"
    for seed in range(3):
        x = random_batch(1, seed=seed)
        ref = onnx_embed(packages["onnx"], x)
        got = prog.predict({"image": x})["embedding"]
        assert got.dtype == np.float32 and got.shape == (1, 128)
        rel = float(np.abs(got - ref).max() / np.abs(ref).max())
        assert rel <= 1e-5, rel


def test_fp16_program_is_close_and_typed_fp16(packages: dict[str, Path]) -> None:
    prog = MLProgram.open(packages["fp16"])
    assert prog.compute_precision == "fp16"
    x = random_batch(1, seed=5)
    ref = onnx_embed(packages["onnx"], x)
    got = prog.predict({"image": x})["embedding"]
    rel = float(np.abs(got - ref).max() / np.abs(ref).max())
    assert 0 < rel < 5e-3, rel  # fp16 rounding is applied, but stays small


def test_missing_weight_file(packages: dict[str, Path], tmp_path: Path) -> None:
    pkg = _copy(packages["fp32"], tmp_path)
    _weights(pkg).unlink()
    with pytest.raises(BlobError, match="weight file is missing") as info:
        MLProgram.open(pkg)
    assert str(_weights(pkg)) in str(info.value)


def test_truncated_weight_file(packages: dict[str, Path], tmp_path: Path) -> None:
    pkg = _copy(packages["fp32"], tmp_path)
    w = _weights(pkg)
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    with pytest.raises(BlobError, match="truncated") as info:
        MLProgram.open(pkg)
    assert str(w) in str(info.value)


@pytest.mark.parametrize("code", [99, 0])
def test_unknown_blob_dtype(packages: dict[str, Path], tmp_path: Path, code: int) -> None:
    pkg = _copy(packages["int8"], tmp_path)
    w = _weights(pkg)
    data = bytearray(w.read_bytes())
    data[68:72] = struct.pack("<I", code)  # dtype of the first blob's metadata
    w.write_bytes(bytes(data))
    with pytest.raises(BlobError, match=f"unknown data type code {code}") as info:
        MLProgram.open(pkg)
    assert str(w) in str(info.value)


@QUIET
@pytest.mark.parametrize(
    "delta, message",
    [(8, "not a 64-byte aligned"), (64, "no blob metadata at offset"), (1 << 30, "beyond the end")],
)
def test_bad_blob_offset_in_program(
    packages: dict[str, Path], tmp_path: Path, delta: int, message: str
) -> None:
    pytest.importorskip("coremltools")
    from coremltools.proto import Model_pb2

    pkg = _copy(packages["fp32"], tmp_path)
    spec = Model_pb2.Model()
    spec.ParseFromString(_spec_path(pkg).read_bytes())
    block = spec.mlProgram.functions["main"].block_specializations["CoreML6"]
    op = next(
        o
        for o in block.operations
        if o.type == "const" and o.attributes["val"].WhichOneof("value") == "blobFileValue"
    )
    op.attributes["val"].blobFileValue.offset += delta
    _spec_path(pkg).write_bytes(spec.SerializeToString())
    with pytest.raises(BlobError, match=message) as info:
        MLProgram.open(pkg)
    assert "weight.bin" in str(info.value)


def test_corrupt_spec_and_manifest(packages: dict[str, Path], tmp_path: Path) -> None:
    pkg = _copy(packages["fp16"], tmp_path)
    spec = _spec_path(pkg)
    good = spec.read_bytes()
    spec.write_bytes(good[: len(good) - 7])
    with pytest.raises(CoreMLPackageError, match="corrupt model spec") as info:
        MLProgram.open(pkg)
    assert str(spec) in str(info.value)
    spec.unlink()
    with pytest.raises(CoreMLPackageError, match="model spec file is missing"):
        MLProgram.open(pkg)
    (pkg / "Manifest.json").write_text("{not json")
    with pytest.raises(CoreMLPackageError, match="unreadable package manifest"):
        MLProgram.open(pkg)
    (pkg / "Manifest.json").unlink()
    with pytest.raises(CoreMLPackageError, match="manifest is missing"):
        MLProgram.open(pkg)
    with pytest.raises(CoreMLPackageError, match="no such model package"):
        MLProgram.open(tmp_path / "absent.mlpackage")


@QUIET
def test_unknown_op_fails_at_load_with_type_and_position(tmp_path: Path) -> None:
    ct = pytest.importorskip("coremltools")
    from coremltools.converters.mil import Builder as mb

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 8))], opset_version=ct.target.iOS16)
    def prog(image):  # noqa: ANN001, ANN202
        y = mb.relu(x=image, name="first")
        y = mb.erf(x=y, name="the_erf")
        return mb.relu(x=y, name="out")

    path = _save_program(prog, tmp_path)
    types = [
        op.type
        for op in parse_model(_spec_path(path).read_bytes()).functions["main"].block.operations
    ]
    with pytest.raises(UnsupportedOpError) as info:
        MLProgram.open(path)
    err = info.value
    assert err.op_type == "erf" and err.op_name == "the_erf" and err.index == types.index("erf")
    assert f"unsupported op 'erf' at position {err.index}" in str(err)
    assert isinstance(err, ModelError) and str(_spec_path(path)) in str(err)


@QUIET
def test_unsupported_op_form_fails_at_run_not_wrong(tmp_path: Path) -> None:
    ct = pytest.importorskip("coremltools")
    from coremltools.converters.mil import Builder as mb

    w = np.ones((4, 2, 3), dtype=np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 2, 10))], opset_version=ct.target.iOS16)
    def prog(image):  # noqa: ANN001, ANN202
        return mb.conv(x=image, weight=w, name="conv1d")  # 1-D convolution: not implemented

    p = MLProgram.open(_save_program(prog, tmp_path))
    with pytest.raises(UnsupportedOpError, match="'conv' at position .* 'conv1d'.*2-D"):
        p.predict({"image": np.zeros((1, 2, 10), np.float32)})


def test_predict_checks_inputs(packages: dict[str, Path]) -> None:
    p = MLProgram.open(packages["fp32"])
    x = random_batch(1)
    with pytest.raises(ValueError, match="missing input 'image'"):
        p.predict({})
    with pytest.raises(ValueError, match="must be fp32, got float64"):
        p.predict({"image": x.astype(np.float64)})
    with pytest.raises(ValueError, match=r"must have shape \[1, 3, 360, 360\]"):
        p.predict({"image": x.transpose(0, 2, 3, 1).copy()})


@pytest.mark.skipif(
    sys.platform != "darwin",
    reason="Core ML prediction (MLModel.predict) only runs on macOS; coremltools "
    "cannot predict on other systems, which is why the executor exists",
)
@QUIET
def test_matches_coreml_predict_on_macos(packages: dict[str, Path]) -> None:
    ct = pytest.importorskip("coremltools")
    x = random_batch(1, seed=21)
    for variant, tol in (("fp32", 1e-4), ("fp16", 2e-2), ("int8", 2e-2), ("pal6", 2e-2)):
        model = ct.models.MLModel(str(packages[variant]), compute_units=ct.ComputeUnit.CPU_ONLY)
        ref = np.asarray(model.predict({"image": x})["embedding"], dtype=np.float32)
        got = MLProgram.open(packages[variant]).predict({"image": x})["embedding"]
        rel = float(np.abs(got.astype(np.float32) - ref).max() / np.abs(ref).max())
        assert rel <= tol, (variant, rel)


@pytest.mark.parametrize(
    "text, reason",
    [
        (
            '{"rootModelIdentifier": "a", "rootModelIdentifier": "b", "itemInfoEntries": {}}',
            "rootModelIdentifier: key appears twice",
        ),
        ('{"rootModelIdentifier": NaN}', "not a JSON number"),
        ('{"rootModelIdentifier": "a", "itemInfoEntries": []}', "unreadable package manifest"),
        ("", "file is empty"),
    ],
)
def test_package_manifest_is_read_strictly(tmp_path: Path, text: str, reason: str) -> None:
    """Manifest.json follows nhkit's JSON policy (duplicate keys and NaN are errors), like
    every other JSON file nhkit reads."""
    from nhkit.runtime.coreml.executor import find_model_spec

    (tmp_path / "Manifest.json").write_text(text)
    with pytest.raises(CoreMLPackageError, match=reason):
        find_model_spec(tmp_path)
