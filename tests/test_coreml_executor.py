"""The Core ML executor (nhkit.runtime.coreml): parsing, weight blobs, decompression, execution.

Tests that need packages made by coremltools skip when it is not installed; the wire reader, the
sub-byte unpacking, fp16 rounding and the blob reader are tested without it."""

from __future__ import annotations

import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from coreml_testmodel import coreml_packages, onnx_embed, random_batch

from nhkit.runtime.coreml.blob import BlobError, BlobFile, unpack_sub_byte
from nhkit.runtime.coreml.executor import CoreMLPackageError, MLProgram, UnsupportedOpError
from nhkit.runtime.coreml.mlmodel import SpecError, parse_model
from nhkit.runtime.coreml.ops import round_to_fp16
from nhkit.runtime.coreml.wire import Fields, WireError
from nhkit.runtime.errors import ModelError

QUIET = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("coremltools")
    return coreml_packages(tmp_path_factory.getbasetemp() / "coreml-packages")


def _copy(pkg: Path, tmp_path: Path) -> Path:
    dst = tmp_path / pkg.name
    shutil.copytree(pkg, dst)
    return dst


def _weights(pkg: Path) -> Path:
    return pkg / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"


def _spec_path(pkg: Path) -> Path:
    return pkg / "Data" / "com.apple.CoreML" / "model.mlmodel"


# ---------------------------------------------------------------------------------------------
# protobuf wire reader

def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _ld(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def test_wire_reader_decodes_proto3_encodings() -> None:
    entry = _ld(1, b"k") + _ld(2, _key(1, 0) + _varint(42))
    msg = (_key(1, 0) + _varint(-5)                                   # int32 -5: 10-byte varint
           + _ld(2, b"".join(_varint(v) for v in (1, 300, -2)))       # packed
           + _key(2, 0) + _varint(7)                                  # and one unpacked element
           + _ld(3, "héllo".encode())
           + _key(4, 5) + struct.pack("<f", 1.5) + _ld(4, struct.pack("<2f", 2.5, -3.0))
           + _ld(5, entry) + _ld(99, b"unknown fields are skipped"))
    f = Fields(msg)
    assert f.int(1) == -5
    assert f.packed_varints(2, signed=True) == [1, 300, -2, 7]
    assert f.str(3) == "héllo"
    assert f.packed_fixed(4, "<f4").tolist() == [1.5, 2.5, -3.0]
    assert f.map(5)["k"].uint(1) == 42
    assert f.int(6, default=9) == 9 and f.message(6) is None


@pytest.mark.parametrize("data, what", [
    (_key(1, 2) + _varint(10) + b"abc", "declared"),
    (bytes([0x08, 0x80]), "truncated varint"),
    (_key(1, 3), "wire type 3"),
    (_key(1, 5) + b"\x00\x01", "truncated fixed32"),
])
def test_wire_reader_rejects_corrupt_bytes(data: bytes, what: str) -> None:
    with pytest.raises(WireError, match=what):
        Fields(data)


def test_parse_model_names_non_program_models() -> None:
    nn_model = _key(1, 0) + _varint(4) + _ld(500, b"")
    with pytest.raises(SpecError, match="not an ML program.*neuralNetwork"):
        parse_model(nn_model)
    with pytest.raises(SpecError, match="corrupt model spec"):
        parse_model(_ld(502, b"\x12\x05ab"))


# ---------------------------------------------------------------------------------------------
# sub-byte unpacking and fp16 rounding

def _pack_like_milblob(vals: np.ndarray, bits: int) -> bytes:
    """Port of MILBlob's PackSubByteVecForNonByteAligned (SubByteTypes.cpp): element i at bits
    [bits*i, bits*i + bits), LSB first, spilling into the next byte."""
    out = bytearray(-(-len(vals) * bits // 8))
    mask = (1 << bits) - 1
    for i, v in enumerate(vals.tolist()):
        v &= mask
        idx, off = divmod(bits * i, 8)
        out[idx] |= (v << off) & 0xFF
        if off > 8 - bits:
            out[idx + 1] |= v >> (8 - off)
    return bytes(out)


@pytest.mark.parametrize("dtype, bits, lo, hi", [
    ("uint1", 1, 0, 1), ("uint2", 2, 0, 3), ("uint3", 3, 0, 7), ("uint4", 4, 0, 15),
    ("uint6", 6, 0, 63), ("int4", 4, -8, 7)])
@pytest.mark.parametrize("count", [1, 7, 13, 1001])
def test_unpack_sub_byte_inverts_milblob_packing(dtype: str, bits: int, lo: int, hi: int,
                                                 count: int) -> None:
    vals = np.random.default_rng(count * bits).integers(lo, hi + 1, count)
    got = unpack_sub_byte(_pack_like_milblob(vals, bits), dtype, count)
    assert got.dtype == (np.int8 if lo < 0 else np.uint8)
    assert got.tolist() == vals.tolist()


def test_round_to_fp16_is_bit_exact() -> None:
    halves = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    f = halves.astype(np.float32)
    f = f[np.isfinite(f)]
    mids = ((f[:-1].astype(np.float64) + f[1:]) / 2).astype(np.float32)  # exact ties
    near = np.concatenate([np.nextafter(mids, np.float32(np.inf)),
                           np.nextafter(mids, np.float32(-np.inf))])
    rnd = np.random.default_rng(0).integers(0, 1 << 32, 1 << 20, dtype=np.uint64)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 65504, 65519.99, 65520, 1e-8,
                         -6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, 3e38], dtype=np.float32)
    x = np.concatenate([f, mids, near, rnd.astype(np.uint32).view(np.float32), specials])
    with np.errstate(over="ignore", invalid="ignore"):
        want = x.astype(np.float16).astype(np.float32)
    got = round_to_fp16(x)
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    assert same.all(), x[~same][:5]


# ---------------------------------------------------------------------------------------------
# blob file reader on hand-written files

def _blob_file(path: Path, blobs: list[tuple[int, bytes, int]], version: int = 2) -> list[int]:
    """Write a MIL blob storage file; blobs are (dtype code, data, padding bits). Returns the
    metadata offsets a program would reference."""
    out = bytearray(struct.pack("<II", len(blobs), version) + bytes(56))
    offsets = []
    for code, data, pad in blobs:
        meta = len(out)
        offsets.append(meta)
        data_off = meta + 64
        out += struct.pack("<IIQQQ", 0xDEADBEEF, code, len(data), data_off, pad) + bytes(32)
        out += data
        out += bytes(-len(out) % 64)
    path.write_bytes(bytes(out))
    return offsets


def test_blob_reader_reads_typed_and_sub_byte_blobs(tmp_path: Path) -> None:
    h = np.array([1.5, -2.25, 65504], dtype=np.float16)
    u3 = np.array([5, 0, 7, 3, 1], dtype=np.uint8)
    path = tmp_path / "weight.bin"
    offs = _blob_file(path, [(1, h.tobytes(), 0), (12, _pack_like_milblob(u3, 3), 1),
                             (4, np.array([-128, 127], np.int8).tobytes(), 0)])
    bf = BlobFile(path)
    assert bf.read(offs[0], "fp16", (3,)).tolist() == h.tolist()
    assert bf.read(offs[1], "uint3", (5,)).tolist() == u3.tolist()
    assert bf.read(offs[2], "int8", (1, 2)).tolist() == [[-128, 127]]
    with pytest.raises(BlobError, match="holds fp16 but the program declares fp32"):
        bf.read(offs[0], "fp32", (3,))
    with pytest.raises(BlobError, match="needs 8"):
        bf.read(offs[0], "fp16", (4,))
    with pytest.raises(BlobError, match="do not hold 6 uint3"):
        bf.read(offs[1], "uint3", (6,))
    with pytest.raises(BlobError, match="not a 64-byte aligned"):
        bf.read(offs[0] + 8, "fp16", (3,))
    with pytest.raises(BlobError, match="sentinel"):
        bf.read(offs[0] + 64, "fp16", (3,))


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b[:40], "shorter than its 64-byte header"),
    (lambda b: b[:64 + 70], "beyond the end|run past the end"),
    (lambda b: b[:4] + struct.pack("<I", 1) + b[8:], "storage version 1"),
    (lambda b: b[:68] + struct.pack("<I", 99) + b[72:], "unknown data type code 99"),
    (lambda b: b[:64] + struct.pack("<I", 0x12345678) + b[68:], "sentinel 0x12345678"),
    (lambda b: b[:72] + struct.pack("<Q", 4096) + b[80:], "run past the end"),
    (lambda b: b[:80] + struct.pack("<Q", 100) + b[88:], "not 64-byte aligned after"),
    (lambda b: b[:88] + struct.pack("<Q", 3) + b[96:], "invalid padding of 3 bits"),
])
def test_blob_reader_rejects_corrupt_files(tmp_path: Path, mutate, message: str) -> None:
    path = tmp_path / "weight.bin"
    offs = _blob_file(path, [(2, np.arange(8, dtype=np.float32).tobytes(), 0)])
    path.write_bytes(mutate(path.read_bytes()))
    with pytest.raises(BlobError, match=message) as info:
        BlobFile(path).read(offs[0], "fp32", (8,))
    assert str(path) in str(info.value)


def test_missing_blob_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(BlobError, match="weight file is missing") as info:
        BlobFile(tmp_path / "weights" / "weight.bin")
    assert "weight.bin" in str(info.value)


# ---------------------------------------------------------------------------------------------
# executing programs made by nhkit's Core ML export

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


def test_fp32_bundle_backend_gives_identical_hashes_on_photos(packages: dict[str, Path],
                                                              photos: list[Path]) -> None:
    from nh_models import make_seed

    from nhkit.runtime.backends.coreml import CoreMLBackend
    from nhkit.runtime.backends.onnx import OnnxBackend
    from nhkit.runtime.hasher import Hasher

    seed = make_seed()
    ref = Hasher(OnnxBackend(packages["onnx"]), seed)
    cm = Hasher(CoreMLBackend(packages["fp32"]), seed)
    for photo in photos[:6]:
        a, b = ref.hash_file(photo), cm.hash_file(photo)
        assert a.hex == b.hex, photo.name
        scale = float(np.abs(a.embedding).max())
        assert float(np.abs(a.embedding - b.embedding).max()) <= 1e-5 * scale


def test_fp16_program_is_close_and_typed_fp16(packages: dict[str, Path]) -> None:
    prog = MLProgram.open(packages["fp16"])
    assert prog.compute_precision == "fp16"
    x = random_batch(1, seed=5)
    ref = onnx_embed(packages["onnx"], x)
    got = prog.predict({"image": x})["embedding"]
    rel = float(np.abs(got - ref).max() / np.abs(ref).max())
    assert 0 < rel < 5e-3, rel  # fp16 rounding is applied, but stays small


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

    model = ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS16,
                       compute_precision=ct.precision.FLOAT16, skip_model_load=True)
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


# ---------------------------------------------------------------------------------------------
# weight decompression vs coremltools' own materialisation

def _coremltools_constexpr_values(pkg: Path) -> dict[str, np.ndarray]:
    """Load the package with coremltools' milproto frontend (its own blob reader) and let each
    constexpr op materialise itself (`materialized_val_inference`)."""
    from coremltools.converters.mil.frontend.milproto.load import load as milproto_load
    from coremltools.proto import Model_pb2

    spec = Model_pb2.Model()
    spec.ParseFromString(_spec_path(pkg).read_bytes())
    prog = milproto_load(spec, spec.specificationVersion, str(_weights(pkg).parent))
    return {op.outputs[0].name: np.asarray(op.materialized_val_inference())
            for op in prog.functions["main"].operations if op.op_type.startswith("constexpr_")}


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
@pytest.mark.parametrize("variant, op_type", [
    ("int8", "constexpr_affine_dequantize"), ("pal8", "constexpr_lut_to_dense"),
    ("pal6", "constexpr_lut_to_dense"), ("pal4", "constexpr_lut_to_dense")])
def test_decompression_is_bit_exact_with_coremltools(packages: dict[str, Path], variant: str,
                                                     op_type: str) -> None:
    assert _assert_bit_exact(packages[variant], op_type) >= 2


@QUIET
@pytest.mark.parametrize("kind, config", [
    ("constexpr_blockwise_shift_scale",
     dict(quant="linear_symmetric", dtype="int4", granularity="per_block", block_size=16)),
    ("constexpr_blockwise_shift_scale",
     dict(quant="linear", dtype="uint8", granularity="per_channel")),
    ("constexpr_lut_to_dense", dict(nbits=3, granularity="per_grouped_channel", group_size=8)),
    ("constexpr_lut_to_dense", dict(nbits=1, granularity="per_tensor")),
    ("constexpr_lut_to_dense", dict(nbits=2, granularity="per_tensor", cluster_dim=2)),
    ("constexpr_lut_to_dense", dict(nbits=6, granularity="per_grouped_channel", group_size=16)),
])
def test_ios18_decompression_forms_are_bit_exact(tmp_path: Path, kind: str,
                                                 config: dict[str, object]) -> None:
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

    model = ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS18,
                       compute_precision=ct.precision.FLOAT32, skip_model_load=True)
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
    conv = sum(np.einsum("oi,ihw->ohw", wcd[:, :, i, j].astype(np.float64),
                         xp[:, i:i + 8, j:j + 8]) for i in range(3) for j in range(3))
    ref = wld.astype(np.float64) @ conv.mean(axis=(1, 2))
    assert np.abs(out[0] - ref).max() <= 1e-5 * np.abs(ref).max()


# ---------------------------------------------------------------------------------------------
# corrupt packages and unsupported programs

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
@pytest.mark.parametrize("delta, message", [(8, "not a 64-byte aligned"),
                                            (64, "no blob metadata at offset"),
                                            (1 << 30, "beyond the end")])
def test_bad_blob_offset_in_program(packages: dict[str, Path], tmp_path: Path, delta: int,
                                    message: str) -> None:
    pytest.importorskip("coremltools")
    from coremltools.proto import Model_pb2

    pkg = _copy(packages["fp32"], tmp_path)
    spec = Model_pb2.Model()
    spec.ParseFromString(_spec_path(pkg).read_bytes())
    block = spec.mlProgram.functions["main"].block_specializations["CoreML6"]
    op = next(o for o in block.operations
              if o.type == "const" and o.attributes["val"].WhichOneof("value") == "blobFileValue")
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


def _save_program(prog, tmp_path: Path, name: str = "m.mlpackage") -> Path:  # noqa: ANN001
    import coremltools as ct

    model = ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS16,
                       compute_precision=ct.precision.FLOAT32, skip_model_load=True)
    path = tmp_path / name
    model.save(str(path))
    return path


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
    types = [op.type for op in parse_model(_spec_path(path).read_bytes())
             .functions["main"].block.operations]
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


# ---------------------------------------------------------------------------------------------
# the backend: layouts, dtypes, manifest agreement

@QUIET
def test_backend_feeds_nhwc_and_fp16_inputs_as_the_program_declares(tmp_path: Path) -> None:
    ct = pytest.importorskip("coremltools")
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    from nhkit.runtime.backends.coreml import CoreMLBackend

    rng = np.random.default_rng(7)
    w = (rng.standard_normal((8, 3, 5, 5)) * 0.2).astype(np.float32)
    d = (rng.standard_normal((128, 8)) * 0.5).astype(np.float32)

    def body(x):  # noqa: ANN001, ANN202
        y = mb.conv(x=x, weight=w, strides=[4, 4], pad_type="custom", pad=[1, 2, 2, 1])
        y = mb.reduce_mean(x=y, axes=[2, 3])
        return mb.linear(x=y, weight=d, name="embedding")

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 3, 360, 360))],
                opset_version=ct.target.iOS16)
    def nchw(image):  # noqa: ANN001, ANN202
        return body(image)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 360, 360, 3))],
                opset_version=ct.target.iOS16)
    def nhwc(image):  # noqa: ANN001, ANN202
        return body(mb.transpose(x=image, perm=[0, 3, 1, 2]))

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 3, 360, 360), dtype=types.fp16)],
                opset_version=ct.target.iOS16)
    def half(image):  # noqa: ANN001, ANN202
        return body(mb.cast(x=image, dtype="fp32"))

    x = random_batch(2, seed=11)
    a = CoreMLBackend(_save_program(nchw, tmp_path, "a.mlpackage"))
    b = CoreMLBackend(_save_program(nhwc, tmp_path, "b.mlpackage"),
                      input_spec={"name": "image", "shape": [1, 360, 360, 3], "dtype": "float32",
                                  "layout": "NHWC", "quantization": None})
    c = CoreMLBackend(_save_program(half, tmp_path, "c.mlpackage"))
    assert (a.layout, b.layout, c.in_dtype) == ("NCHW", "NHWC", np.dtype(np.float16))
    ea, eb, ec = a.embed(x), b.embed(x), c.embed(x)
    assert ea.shape == (2, 128) and np.array_equal(ea, eb)
    # the fp16 input is the spec tensor rounded to fp16: close, not equal
    assert 0 < np.abs(ea - ec).max() < 1e-2 * np.abs(ea).max()
    assert a.describe()["name"] == "coreml-executor"
    with pytest.raises(ModelError, match="layout 'NCHW'.*program shape says NHWC"):
        CoreMLBackend(b.path, input_spec={"name": "image", "shape": [1, 360, 360, 3],
                                          "dtype": "float32", "layout": "NCHW",
                                          "quantization": None})


def test_backend_rejects_manifest_that_disagrees(packages: dict[str, Path]) -> None:
    from nhkit.runtime.backends.base import EmbeddingBackend
    from nhkit.runtime.backends.coreml import CoreMLBackend

    good = {"name": "image", "shape": [1, 3, 360, 360], "dtype": "float32", "layout": "NCHW",
            "quantization": None}
    backend = CoreMLBackend(packages["int8"], input_spec=good)
    assert isinstance(backend, EmbeddingBackend)
    assert backend.describe()["precision"] == "fp16"
    for key, bad, msg in [("name", "input", "name 'input'"), ("dtype", "int8", "dtype 'int8'"),
                          ("quantization", {"scale": 0.1, "zero_point": 0}, "quantized")]:
        with pytest.raises(ModelError, match=msg):
            CoreMLBackend(packages["int8"], input_spec={**good, key: bad})


# ---------------------------------------------------------------------------------------------
# macOS: compare with Core ML itself

@pytest.mark.skipif(sys.platform != "darwin",
                    reason="Core ML prediction (MLModel.predict) only runs on macOS; coremltools "
                           "cannot predict on other systems, which is why the executor exists")
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
        t = mb.transpose(x=hs, perm=[0, 2, 3, 1])                      # [1, 5, 6, 4]
        p = mb.pad(x=t, pad=[1, 0, 0, 2], mode="constant", constant_val=0.5)
        p = mb.pad(x=p, pad=[1, 1], mode="reflect")                    # [1, 5, 7, 8]
        e = mb.expand_dims(x=mb.reduce_sum(x=p, axes=[0], keep_dims=False), axes=[-1])
        s = mb.squeeze(x=e, axes=[3])                                  # [5, 7, 8]
        mm = mb.matmul(x=s, y=m, transpose_x=False, transpose_y=False)   # [5, 7, 5]
        mm2 = mb.matmul(x=mm, y=mm, transpose_x=True)                 # [5, 5, 5]
        r = mb.real_div(x=mm2, y=mb.add(x=mb.reduce_max(x=mm2, axes=[1, 2], keep_dims=True),
                                         y=np.float32(1.0)))
        c = mb.cast(x=mb.mul(x=r, y=np.float32(10.0)), dtype="int32")
        c = mb.cast(x=c, dtype="fp32")
        mx = mb.maximum(x=mb.sub(x=c, y=r), y=mb.minimum(x=r, y=np.float32(0.1)))
        return mb.clip(x=mx, alpha=-4.0, beta=4.0, name="out")

    path = _save_program(prog, tmp_path)
    p = MLProgram.open(path)
    counts = p.op_counts()
    for op in ("thresholded_relu", "transpose", "pad", "reduce_sum", "expand_dims", "squeeze",
               "matmul", "reduce_max", "real_div", "cast", "maximum", "minimum", "clip"):
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


@pytest.mark.parametrize("text, reason", [
    ('{"rootModelIdentifier": "a", "rootModelIdentifier": "b", "itemInfoEntries": {}}',
     "rootModelIdentifier: key appears twice"),
    ('{"rootModelIdentifier": NaN}', "not a JSON number"),
    ('{"rootModelIdentifier": "a", "itemInfoEntries": []}', "unreadable package manifest"),
    ("", "file is empty"),
])
def test_package_manifest_is_read_strictly(tmp_path: Path, text: str, reason: str) -> None:
    """Manifest.json follows nhkit's JSON policy (duplicate keys and NaN are errors), like
    every other JSON file nhkit reads."""
    from nhkit.runtime.coreml.executor import find_model_spec

    (tmp_path / "Manifest.json").write_text(text)
    with pytest.raises(CoreMLPackageError, match=reason):
        find_model_spec(tmp_path)
