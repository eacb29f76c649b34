"""Fuzz targets for every Python parser and reader: arbitrary bytes (or JSON values) give a
result or an NhkitError, never another exception.

Used twice: tests/test_fuzz.py runs each target under a short deterministic hypothesis profile
(part of the suite), benchmarks/fuzz.py runs them long and writes benchmarks/results/fuzz.md.
A target is a hypothesis strategy plus a function of one drawn value; the function raises only
the documented errors (everything else is a finding).
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from nhkit.runtime.errors import NhkitError

# ----- seeds: small valid inputs that mutations start from -------------------------------------


def _valid_golden_json() -> dict[str, Any]:
    from nhkit.runtime.golden import GoldenImage, GoldenSet, ModelInfo
    from nhkit.runtime.hashing import bits_from_projections, bits_to_hex, fragile_mask
    from nhkit.runtime.spec import Spec

    rng = np.random.default_rng(1)
    images = []
    for i in range(2):
        p = rng.standard_normal(96)
        images.append(
            GoldenImage(
                id=f"im{i}",
                hash=bits_to_hex(bits_from_projections(p)),
                projections=p,
                fragile=fragile_mask(p, 0.1),
                embedding=rng.standard_normal(128).astype(np.float32),
            )
        )
    g = GoldenSet(spec=Spec(fragile_margin=0.1), model=ModelInfo(name="m"), images=images)
    return g.to_json()


def _valid_report_json() -> dict[str, Any]:
    from nhkit.runtime.digest import StageDigests
    from nhkit.runtime.hashing import bits_from_projections, bits_to_hex
    from nhkit.runtime.report import BundleRef, DeviceReport, ReportCase
    from nhkit.runtime.spec import Spec

    rng = np.random.default_rng(2)
    emb = rng.standard_normal(128).astype(np.float32)
    proj = rng.standard_normal(96)
    case = ReportCase(
        id="c1",
        digests=StageDigests("0" * 64, "1" * 64, "2" * 64),
        embedding=emb,
        projections=proj,
        hash=bits_to_hex(bits_from_projections(proj)),
        timings_ms={"decode": 1.0, "resize": 1.0, "normalise": 1.0, "model": 1.0, "project": 1.0},
        orientation=1,
    )
    r = DeviceReport(
        bridge={"name": "fuzz", "version": "1"},
        platform={"os": "x", "os_version": "1", "device_model": "y"},
        runtime={"name": "litert", "version": "1", "compute_unit": "cpu", "threads": 1},
        bundle=BundleRef(bundle_id="b", manifest_sha256="3" * 64, checksums_verified=True),
        spec=Spec(),
        created="2026-01-01T00:00:00Z",
        cases=[case, ReportCase(id="c2", error="decoder failed")],
    )
    return r.to_json()


def _images() -> list[bytes]:
    from PIL import Image

    rng = np.random.default_rng(3)
    rgb = Image.fromarray(rng.integers(0, 256, (9, 7, 3), dtype=np.uint8))
    out = []
    for fmt, im in (
        ("PNG", rgb),
        ("JPEG", rgb),
        ("GIF", rgb.convert("P")),
        ("BMP", rgb),
        ("TIFF", rgb),
        ("PNG", rgb.convert("LA")),
        ("WEBP", rgb),
    ):
        buf = io.BytesIO()
        im.save(buf, fmt)
        out.append(buf.getvalue())
    return out


def _onnx_bytes() -> bytes:
    from nhkit.export import testmodels as tm

    data: bytes = tm.spatial_flatten_onnx().SerializeToString()
    return data


def _mutated(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """A seed with a few bytes replaced, then possibly cut short or extended."""

    @st.composite
    def strategy(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(0, 8))):
            if data:
                data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
        if cut is not None:
            del data[cut:]
        return bytes(data) + draw(st.binary(max_size=8))

    return strategy()


def _json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    _json_containers,
    max_leaves=20,
)


def _mutated_doc(doc: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid document with one value somewhere replaced by an arbitrary JSON value."""
    paths: list[tuple[Any, ...]] = []

    def walk(o: Any, p: tuple[Any, ...]) -> None:
        paths.append(p)
        if isinstance(o, dict):
            for k, v in o.items():
                walk(v, p + (k,))
        elif isinstance(o, list):
            for i, v in enumerate(o[:3]):
                walk(v, p + (i,))

    walk(doc, ())

    @st.composite
    def strategy(draw: st.DrawFn) -> Any:
        out = json.loads(json.dumps(doc))
        path = draw(st.sampled_from(paths))
        value = draw(JSON)
        if not path:
            return value
        parent = out
        for k in path[:-1]:
            parent = parent[k]
        parent[path[-1]] = value
        return out

    return strategy()


# ----- targets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    what: str
    strategy: Callable[[], st.SearchStrategy[Any]]  # built lazily (seeds need onnx, Pillow)
    run: Callable[[Any], object]


def _in_file(data: bytes, suffix: str, fn: Callable[[Path], object]) -> object:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"input{suffix}"
        p.write_bytes(data)
        return fn(p)


def _hex(text: str) -> object:
    from nhkit.runtime.hashing import hamming, hex_to_bits

    bits = hex_to_bits(text)
    return hamming(text, bits)


def _floathex(items: list[str]) -> object:
    from nhkit.runtime.floathex import hex_to_f32, hex_to_f64

    return hex_to_f32(items), hex_to_f64(items)


def _seed(data: bytes) -> object:
    from nhkit.runtime.seed import parse_seed

    return parse_seed(data)


def _json_bytes(data: bytes) -> object:
    from nhkit.runtime.jsonfile import parse_json_bytes

    return parse_json_bytes(data, "fuzz.json")


def _documents(obj: Any) -> object:
    from nhkit.runtime.bundle import validate_cases, validate_manifest
    from nhkit.runtime.golden import parse_golden
    from nhkit.runtime.report import parse_report

    for parse in (parse_golden, parse_report, validate_manifest, validate_cases):
        try:
            parse(obj)
        except NhkitError:
            pass
    return None


def _golden(obj: Any) -> object:
    from nhkit.runtime.golden import parse_golden

    return parse_golden(obj, "fuzz-golden.json")


def _report(obj: Any) -> object:
    from nhkit.runtime.report import parse_report

    return parse_report(obj, "fuzz-report.json")


def _model_json(data: bytes) -> object:
    from nhkit.runtime.models import read_model_json

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "model.json").write_bytes(data)
        return read_model_json(Path(d) / "model.onnx")


def _bundle_zip(data: bytes) -> object:
    from nhkit.runtime.bundle import load_bundle

    def load(p: Path) -> object:
        with load_bundle(p) as b:
            return b.bundle_id

    return _in_file(data, ".zip", load)


@st.composite
def _zip_archives(draw: st.DrawFn) -> bytes:
    """Well-formed zips with arbitrary names and contents (paths, tops, manifests)."""
    names = st.sampled_from(
        [
            "b/manifest.json",
            "b/seed.f32",
            "b/selftest/cases.json",
            "../x",
            "/abs",
            "b/a/../../c",
            "b\\win",
            "b/",
            "c/manifest.json",
            "b/model.tflite",
        ]
    ) | st.text(min_size=1, max_size=12)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in draw(st.lists(names, max_size=5, unique=True)):
            content = draw(st.binary(max_size=64) | st.just(b'{"format": "nhkit-bundle"}'))
            try:
                zf.writestr(name, content)
            except (ValueError, OSError, IndexError):  # names zipfile itself cannot store
                pass
    return buf.getvalue()


def _bundle_folder(files: dict[str, bytes]) -> object:
    from nhkit.runtime.bundle import load_bundle

    with tempfile.TemporaryDirectory() as d:
        for name, content in files.items():
            p = Path(d) / "b" / name
            p.parent.mkdir(parents=True, exist_ok=True)
            if not p.parent.is_dir() or p.is_dir():
                continue
            p.write_bytes(content)
        with load_bundle(Path(d) / "b") as b:
            return b.bundle_id


def _wire(data: bytes) -> object:
    from nhkit.runtime.coreml.mlmodel import SpecError, parse_model
    from nhkit.runtime.coreml.wire import Fields, WireError

    try:
        f = Fields(data)
        for n in f.numbers()[:4]:
            for read in (
                f.uint,
                f.int,
                f.str,
                f.bytes,
                f.message,
                f.messages,
                f.strings,
                f.packed_varints,
                f.map,
            ):
                try:
                    read(n)
                except WireError:
                    pass
        parse_model(data)
    except (WireError, SpecError):  # the wire layer's documented errors (ValueErrors)
        pass
    return None


def _mlpackage(data: bytes) -> object:
    """A package whose model spec is the fuzzed bytes: MLProgram.open must say ModelError."""
    from nhkit.runtime.coreml.executor import MLProgram

    with tempfile.TemporaryDirectory() as d:
        pkg = Path(d) / "m.mlpackage"
        spec = pkg / "Data" / "com.apple.CoreML" / "model.mlmodel"
        spec.parent.mkdir(parents=True)
        spec.write_bytes(data)
        (pkg / "Manifest.json").write_text(
            json.dumps(
                {
                    "fileFormatVersion": "1.0.0",
                    "rootModelIdentifier": "r",
                    "itemInfoEntries": {"r": {"path": "com.apple.CoreML/model.mlmodel"}},
                }
            )
        )
        return MLProgram.open(pkg)


def _blob(args: tuple[bytes, int, str, tuple[int, ...]]) -> object:
    from nhkit.runtime.coreml.blob import BlobFile

    data, offset, dtype, shape = args

    def read(p: Path) -> object:
        f = BlobFile(p)
        try:
            return f.read(offset, dtype, shape)
        finally:
            f.close()

    return _in_file(data, ".bin", read)


def _onnx(data: bytes) -> object:
    from nhkit.runtime.digest import onnx_fingerprint

    return _in_file(data, ".onnx", onnx_fingerprint)


def _decode(data: bytes) -> object:
    from nhkit.runtime.decode import decode_image

    return decode_image(data, max_pixels=4_000_000, name="fuzz")


@st.composite
def _blob_args(draw: st.DrawFn) -> tuple[bytes, int, str, tuple[int, ...]]:
    import struct

    # a plausible header: count, version 2, then metadata records at 64-byte offsets
    header = struct.pack("<II", draw(st.integers(0, 3)), draw(st.sampled_from([1, 2, 2, 3])))
    body = draw(st.binary(max_size=300))
    meta = struct.pack(
        "<IIQQQ",
        draw(st.sampled_from([0xDEADBEEF, 0xDEADBEEF, 0])),
        draw(st.integers(0, 12)),
        draw(st.integers(0, 1 << 40)),
        draw(st.integers(0, 1 << 40)),
        draw(st.integers(0, 8)),
    )
    data = header.ljust(64, b"\0") + meta + body
    dtype = draw(st.sampled_from(["fp32", "fp16", "int8", "uint8", "int4", "uint6", "x"]))
    shape = tuple(draw(st.lists(st.integers(0, 1 << 20), max_size=3)))
    return data, draw(st.sampled_from([64, 0, 1, 10_000])), dtype, shape


@st.composite
def _seed_sized(draw: st.DrawFn) -> bytes:
    """Bytes of a valid seed size (or one off), random floats with a few patched bytes
    (hypothesis' own binary() is too slow at 48 KiB)."""
    size = draw(st.sampled_from([49152, 49280, 49151, 49281]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    data = bytearray(rng.standard_normal(size // 4 + 1).astype("<f4").tobytes()[:size])
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, size - 4))
        data[i : i + 4] = draw(
            st.sampled_from(
                [b"\x00\x00\xc0\x7f", b"\x00\x00\x80\x7f", b"\x00\x00\x80\x3f", b"\x01\x00\x00\x00"]
            )
        )
    return bytes(data)


TARGETS: list[Target] = [
    Target(
        "hex",
        "hash hex parsing (hashing.hex_to_bits, hamming)",
        lambda: (
            st.text(max_size=30) | st.text("0123456789abcdefABCDEF \n", min_size=23, max_size=25)
        ),
        _hex,
    ),
    Target(
        "floathex",
        "float bit patterns (floathex.hex_to_f32/f64)",
        lambda: st.lists(st.text("0123456789abcdefABx", max_size=17), max_size=3),
        _floathex,
    ),
    Target(
        "seed",
        "seed files (seed.parse_seed)",
        lambda: st.binary(max_size=200) | _seed_sized(),
        _seed,
    ),
    Target(
        "json-bytes",
        "strict JSON reading (jsonfile.parse_json_bytes)",
        lambda: (
            st.binary(max_size=200)
            | JSON.map(lambda o: json.dumps(o).encode())
            | st.text(max_size=60).map(str.encode)
        ),
        _json_bytes,
    ),
    Target(
        "json-documents",
        "golden, report, manifest, cases validation on any JSON value",
        lambda: JSON,
        _documents,
    ),
    Target(
        "golden-mutated",
        "golden files: a valid file with one value replaced",
        lambda: _mutated_doc(_valid_golden_json()),
        _golden,
    ),
    Target(
        "report-mutated",
        "device reports: a valid report with one value replaced",
        lambda: _mutated_doc(_valid_report_json()),
        _report,
    ),
    Target(
        "model-json",
        "model.json next to an ONNX file (models.read_model_json)",
        lambda: st.binary(max_size=100) | JSON.map(lambda o: json.dumps(o).encode()),
        _model_json,
    ),
    Target(
        "bundle-zip",
        "bundle zips: arbitrary bytes and arbitrary archives (load_bundle)",
        lambda: st.binary(max_size=200) | _zip_archives(),
        _bundle_zip,
    ),
    Target(
        "bundle-folder",
        "bundle folders with arbitrary files (load_bundle)",
        lambda: st.dictionaries(
            st.sampled_from(["manifest.json", "seed.f32", "selftest/cases.json", "model.tflite"]),
            st.binary(max_size=64) | JSON.map(lambda o: json.dumps(o).encode()),
            max_size=4,
        ),
        _bundle_folder,
    ),
    Target(
        "coreml-wire",
        "protobuf wire reader and Core ML spec parser (coreml.wire, mlmodel)",
        lambda: st.binary(max_size=300),
        _wire,
    ),
    Target(
        "coreml-package",
        "a Core ML package with an arbitrary model spec (MLProgram.open)",
        lambda: st.binary(max_size=300),
        _mlpackage,
    ),
    Target(
        "coreml-blob", "Core ML weight blobs (coreml.blob.BlobFile)", lambda: _blob_args(), _blob
    ),
    Target(
        "onnx",
        "ONNX weights fingerprint reader (onnx_wire, digest.onnx_fingerprint)",
        lambda: st.binary(max_size=200) | _mutated([_onnx_bytes()]),
        _onnx,
    ),
    Target(
        "image-decode",
        "image decoding (decode.decode_image) on arbitrary and mutated files",
        lambda: st.binary(max_size=200) | _mutated(_images()),
        _decode,
    ),
]


def check(target: Target, value: Any) -> None:
    """Run one input; an NhkitError is a clean rejection, anything else propagates (a finding)."""
    try:
        target.run(value)
    except NhkitError:
        pass
