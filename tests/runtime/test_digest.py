"""runtime/digest.py: the one home of stage digests, seed sha256 and model identity.

The weights fingerprint is read by nhkit's own protobuf reader (the light runtime has no `onnx`
package); here it is checked against `nhkit.export.onnx_frontend.model_fingerprint`, which
extracts the same tensors with onnx's numpy_helper, on every kind of tensor storage ONNX files
use."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from nh_models import build_tiny_model, make_seed

from nhkit.runtime.digest import (
    ModelIdentity,
    onnx_fingerprint,
    seed_sha256,
    sha256_file,
    stage_digests,
)
from nhkit.runtime.errors import ModelError
from nhkit.runtime.hasher import Hasher
from nhkit.runtime.models import read_model_json, recorded_seed_sha256, shipped_model
from nhkit.runtime.seed import load_seed, seed_to_f32_bytes

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from nhkit.export import testmodels as tm  # noqa: E402
from nhkit.export.onnx_frontend import model_fingerprint  # noqa: E402

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"


def _both(model, path: Path) -> tuple[str, str]:
    onnx.save(model, str(path))
    return onnx_fingerprint(path), model_fingerprint(onnx.load(str(path)))


def test_default_model_fingerprint_matches_onnx_and_model_json() -> None:
    shipped = shipped_model()
    mine = onnx_fingerprint(shipped.onnx)
    assert mine == model_fingerprint(onnx.load(str(shipped.onnx)))
    assert shipped.meta.fingerprint == mine  # model.json records what the file holds


@pytest.mark.parametrize(
    "make",
    [
        lambda: tm.tiny_onnx(seed=4),
        tm.spatial_flatten_onnx,
        lambda: tm.mobilenet_v3_small_onnx(width=0.25, seed=2),
    ],
)
def test_test_models_fingerprint_matches_onnx(make, tmp_path: Path) -> None:
    a, b = _both(make(), tmp_path / "m.onnx")
    assert a == b


def test_typed_fields_and_constant_nodes_match_onnx(tmp_path: Path) -> None:
    """Tensors stored in the typed fields (float_data, int32_data for small ints, float16 and
    bool, int64_data, double_data, uint64_data) and Constant nodes, not only raw_data."""
    rng = np.random.default_rng(0)
    typed = [
        helper.make_tensor("f32", TensorProto.FLOAT, [2, 3], rng.standard_normal(6).tolist()),
        helper.make_tensor("i8", TensorProto.INT8, [4], [-128, -1, 0, 127]),
        helper.make_tensor("u8", TensorProto.UINT8, [3], [0, 7, 255]),
        helper.make_tensor("i16", TensorProto.INT16, [2], [-32768, 32767]),
        helper.make_tensor("u16", TensorProto.UINT16, [2], [0, 65535]),
        helper.make_tensor("i32", TensorProto.INT32, [2], [-(2**31), 2**31 - 1]),
        helper.make_tensor("i64", TensorProto.INT64, [3], [-(2**63), -5, 2**63 - 1]),
        helper.make_tensor("b", TensorProto.BOOL, [3], [True, False, True]),
        helper.make_tensor(
            "f16", TensorProto.FLOAT16, [3], np.array([1.5, -2.0, 65504.0], np.float16).tolist()
        ),
        helper.make_tensor("f64", TensorProto.DOUBLE, [2], [np.pi, -1e300]),
        helper.make_tensor("u32", TensorProto.UINT32, [2], [0, 2**32 - 1]),
        helper.make_tensor("u64", TensorProto.UINT64, [2], [0, 2**64 - 1]),
        helper.make_tensor("scalar", TensorProto.FLOAT, [], [3.25]),
        helper.make_tensor("empty", TensorProto.FLOAT, [0, 4], []),
        numpy_helper.from_array(rng.standard_normal((2, 2)).astype(np.float32), "raw32"),
        numpy_helper.from_array(np.array([1, 2], np.int64), "raw64"),
    ]
    const_typed = helper.make_tensor("c", TensorProto.INT64, [2], [1, -1])
    const_raw = numpy_helper.from_array(np.arange(4, dtype=np.float32), "craw")
    nodes = [
        helper.make_node("Constant", [], ["shape_c"], value=const_typed),
        helper.make_node("Constant", [], ["raw_c"], value=const_raw),
        helper.make_node("Constant", [], ["float_c"], value_float=2.0),
        helper.make_node("Identity", ["x"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        typed,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    a, b = _both(model, tmp_path / "typed.onnx")
    assert a == b


def test_external_data_matches_onnx(tmp_path: Path) -> None:
    model = tm.tiny_onnx(seed=1)
    path = tmp_path / "ext.onnx"
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="ext.weights",
        size_threshold=0,
    )
    assert (tmp_path / "ext.weights").is_file()
    inline = tmp_path / "inline.onnx"
    onnx.save(model, str(inline))
    assert (
        onnx_fingerprint(path)
        == model_fingerprint(onnx.load(str(path)))
        == onnx_fingerprint(inline)
    )


def test_external_data_outside_the_model_folder_is_refused(tmp_path: Path) -> None:
    model = tm.tiny_onnx(seed=1)
    (tmp_path / "sub").mkdir()
    onnx.save_model(
        model,
        str(tmp_path / "w.onnx"),
        save_as_external_data=True,
        location="w.bin",
        size_threshold=0,
    )
    # same length, so the protobuf's length prefixes stay valid
    data = (tmp_path / "w.onnx").read_bytes().replace(b"w.bin", b"../ab")
    (tmp_path / "sub" / "w.onnx").write_bytes(data)
    with pytest.raises(ModelError, match="outside the model's folder"):
        onnx_fingerprint(tmp_path / "sub" / "w.onnx")


def test_fingerprint_changes_with_weights_not_metadata(tmp_path: Path) -> None:
    a = tm.tiny_onnx(seed=1)
    b = tm.tiny_onnx(seed=1)
    b.metadata_props.append(onnx.StringStringEntryProto(key="k", value="v"))
    b.doc_string = "other"
    fa, _ = _both(a, tmp_path / "a.onnx")
    fb, _ = _both(b, tmp_path / "b.onnx")
    fc, _ = _both(tm.tiny_onnx(seed=2), tmp_path / "c.onnx")
    assert fa == fb != fc


@pytest.mark.parametrize("data", [b"", b"not a model", b"\x08\x96\x01" * 3, b"\x3a\x05\x0a\x03abc"])
def test_unreadable_onnx_is_a_model_error(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "bad.onnx"
    p.write_bytes(data)
    with pytest.raises(ModelError, match="bad.onnx"):
        onnx_fingerprint(p)


def test_seed_sha256_is_the_seed_f32_bytes() -> None:
    shipped = shipped_model()
    seed = load_seed(shipped.seed)
    assert seed_sha256(seed) == sha256_file(shipped.seed) == shipped.meta.seed_sha256
    assert seed_sha256(load_seed(shipped.seed.with_name("seed.dat"))) == seed_sha256(seed)


def test_stage_digests_are_the_hashers() -> None:
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    h = Hasher(_NoModel(), make_seed(), with_digests=True)
    p = h.prepare_rgb(rgb)
    assert p.digests == stage_digests(rgb, p.rgb360)


class _NoModel:
    """A backend without a model file behind it (e.g. one an application wrote itself)."""

    name = "app-backend"

    def embed(self, batch: np.ndarray) -> np.ndarray:
        return np.zeros((batch.shape[0], 128), np.float32)

    def describe(self) -> dict[str, object]:
        return {"name": self.name}


def test_identity_of_the_shipped_model() -> None:
    h = Hasher.from_onnx()
    ident = h.identity
    shipped = shipped_model()
    assert ident == ModelIdentity(
        shipped.name, onnx_fingerprint(shipped.onnx), sha256_file(shipped.seed)
    )
    assert h.identity is ident  # cached
    assert shipped.name in ident.short() and ident.fingerprint[:12] in ident.short()
    assert ident.fingerprint in ident.describe() and ident.seed_sha256 in ident.describe()


def test_identity_of_an_onnx_file_and_seed(tiny_model) -> None:
    model, seed = tiny_model
    ident = Hasher.from_onnx(model, seed).identity
    assert ident.name == "model"
    assert ident.fingerprint == model_fingerprint(onnx.load(str(model)))
    assert ident.seed_sha256 == seed_sha256(load_seed(seed))


def test_identity_needs_a_model(tiny_model) -> None:
    with pytest.raises(ModelError, match="no known identity"):
        _ = Hasher(_NoModel(), make_seed()).identity


def test_model_json_reader(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "model.onnx")
    assert read_model_json(model).name is None and recorded_seed_sha256(model) is None
    (tmp_path / "model.json").write_text(
        '{"name": "m", "fragile_margin": 0.2, "seed_sha256": "AB' + "0" * 62 + '"}'
    )
    meta = read_model_json(model)
    assert (meta.name, meta.fragile_margin) == ("m", 0.2)
    assert recorded_seed_sha256(model) == "ab" + "0" * 62
    (tmp_path / "model.json").write_text('{"fragile_margin": -1}')
    with pytest.raises(ModelError, match="model.json.*fragile_margin"):
        read_model_json(model)
    (tmp_path / "model.json").write_text('{"name": "a", "name": "b"}')
    with pytest.raises(ModelError, match="model.json.*twice"):
        read_model_json(model)


def test_seed_hash_from_onnx_metadata(tmp_path: Path) -> None:
    m = tm.tiny_onnx(seed=1)
    want = seed_sha256(make_seed(7))
    m.metadata_props.append(onnx.StringStringEntryProto(key="nhkit.seed_sha256", value=want))
    onnx.save(m, str(tmp_path / "m.onnx"))
    assert recorded_seed_sha256(tmp_path / "m.onnx") == want
    assert want == __import__("hashlib").sha256(seed_to_f32_bytes(make_seed(7))).hexdigest()


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            out.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_runtime_never_imports_export() -> None:
    offenders = [
        str(p.relative_to(RUNTIME))
        for p in sorted(RUNTIME.rglob("*.py"))
        if any(
            m.startswith("nhkit.export") or m.startswith("..export") or m.startswith("...export")
            for m in _imports(p)
        )
    ]
    assert offenders == []


def test_file_format_modules_load_no_image_library() -> None:
    code = (
        "import sys\n"
        "import nhkit.runtime.digest, nhkit.runtime.golden, nhkit.runtime.report\n"
        "import nhkit.runtime.bundle_expect, nhkit.runtime.check, nhkit.runtime.compare\n"
        "bad = [m for m in ('PIL', 'nhkit.runtime.hasher', 'nhkit.export', 'onnx')"
        " if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_onnx_tensor_with_overflowing_dims_is_a_model_error(tmp_path: Path) -> None:
    """Dimensions whose product wraps around in int64 (2^33 * 2^31 = 2^64 -> 0) must not pass
    the size check as an empty tensor (found while writing the fuzz targets)."""
    t = TensorProto(name="w", data_type=TensorProto.FLOAT)  # no data, as a fuzzer writes it
    t.dims.extend([2**33, 2**31])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        [t],
    )
    p = tmp_path / "dims.onnx"
    p.write_bytes(helper.make_model(graph).SerializeToString())
    with pytest.raises(ModelError, match="dims.onnx: not a readable ONNX model: initializer 0"):
        onnx_fingerprint(p)
