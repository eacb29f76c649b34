"""The committed conformance vectors are exactly what the reference runtime produces, and their
construction rules (splitmix64, hex floats) match the README's words."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

VECTORS = Path(__file__).resolve().parent / "vectors"
sys.path.insert(0, str(VECTORS))
import generate  # noqa: E402


def test_committed_vectors_are_regenerated_byte_identically() -> None:
    proc = subprocess.run(
        [sys.executable, str(VECTORS / "generate.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_splitmix64_closed_form_matches_the_sequential_definition() -> None:
    seed, mask = 0x0123456789ABCDEF, (1 << 64) - 1
    state, ref = seed, []
    for _ in range(20):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        ref.append(z ^ (z >> 31))
    assert generate.splitmix64(seed, 20).tolist() == ref
    # Published first output of SplitMix64 seeded with 0.
    assert int(generate.splitmix64(0, 1)[0]) == 0xE220A8397B1DCDAF


@pytest.mark.parametrize("name", sorted(generate.GENERATORS))
def test_vector_file_structure(name: str) -> None:
    doc = json.loads((VECTORS / name).read_text())
    assert doc["schema"] == "nhkit-vectors-v1"
    assert doc["algorithm"].startswith("nh-spec-v1/")
    ids = [t["tcId"] for g in doc["testGroups"] for t in g["tests"]]
    assert ids == list(range(1, len(ids) + 1)) and doc["numberOfTests"] == len(ids)
    for g in doc["testGroups"]:
        for t in g["tests"]:
            assert t["result"] in ("valid", "invalid")
            assert set(t) == {"tcId", "comment", "flags", "result", "input", "expected"}


def test_small_resize_vectors_agree_with_the_independent_oracle() -> None:
    import resize_oracle  # tests/resize_oracle.py: slow port of the spec text

    doc = json.loads((VECTORS / "resize.json").read_text())
    checked = 0
    for t in doc["testGroups"][0]["tests"]:
        w, h = t["input"]["width"], t["input"]["height"]
        if w * h > 40_000:
            continue
        p = t["input"]["prng"]
        img = generate.prng_image(int(p["seed"], 16), w, h, p.get("levels"))
        out = np.asarray(resize_oracle.resize(img, 360), dtype=np.uint8)
        assert hashlib.sha256(out.tobytes()).hexdigest() == t["expected"]["sha256"], t["comment"]
        checked += 1
    assert checked >= 8


def _schema_errors(doc: dict) -> list[str]:
    from jsonschema import Draft202012Validator

    schema = json.loads((VECTORS / doc["jsonSchema"]).read_text())
    Draft202012Validator.check_schema(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:120]}"
        for e in Draft202012Validator(schema).iter_errors(doc)
    ]


@pytest.mark.parametrize("name", sorted(generate.GENERATORS))
def test_vector_file_matches_its_json_schema_and_explains_its_flags(name: str) -> None:
    """Every vector file names its JSON Schema (tests/vectors/schemas/) and passes it, and its
    `notes` explain exactly the flags its tests use."""
    doc = json.loads((VECTORS / name).read_text())
    assert doc["jsonSchema"] == f"schemas/{name.removesuffix('.json')}.schema.json"
    assert _schema_errors(doc) == []
    used = {f for g in doc["testGroups"] for t in g["tests"] for f in t["flags"]}
    assert set(doc["notes"]) == used
    assert all(len(text) > 20 for text in doc["notes"].values())


def test_schemas_reject_broken_vector_files() -> None:
    hexdoc = json.loads((VECTORS / "hex.json").read_text())
    hexdoc["testGroups"][0]["tests"][0]["expected"]["hex"] = "ABC"
    assert any("expected/hex" in e for e in _schema_errors(hexdoc))
    seed = json.loads((VECTORS / "seed.json").read_text())
    bad = seed["testGroups"][0]["tests"][2]
    assert bad["result"] == "invalid"
    bad["expected"] = {"sha256": "0" * 64}  # an invalid test has nothing to expect
    del seed["testGroups"][0]["tests"][0]["input"]["length"]
    errors = _schema_errors(seed)
    assert any("tests/2/expected" in e for e in errors)
    assert any("tests/0/input" in e and "length" in e for e in errors)
    proj = json.loads((VECTORS / "projection.json").read_text())
    proj["testGroups"][0]["tests"][0]["expected"]["projections"].pop()
    proj["testGroups"][0]["tests"][0]["flags"].append("not a flag")
    errors = _schema_errors(proj)
    assert any("expected/projections" in e for e in errors)
    assert any("flags" in e for e in errors)


def test_runtime_constants_are_the_specs() -> None:
    """tests/vectors/spec/spec.json states the spec's constants; the Python runtime's own must
    be those (Swift and Java check theirs against the same file)."""
    from nhkit.runtime import hashing, resize, seed, spec
    from nhkit.runtime.orientation import EXIF_ORIENTATION_TAG
    from nhkit.runtime.tensor import NORMALISE_TABLE

    path = VECTORS / generate.SPEC_FILE
    doc = json.loads(path.read_text())
    assert _schema_errors_at(doc, path.parent) == []
    c = doc["constants"]
    assert doc["spec"] == spec.SPEC_ID
    assert (c["input_size"], c["resize"], c["normalise"]) == (
        spec.INPUT_SIZE,
        spec.RESIZE_METHOD,
        spec.NORMALISE_METHOD,
    )
    assert (c["embedding_dim"], c["hash_bits"], c["hash_hex_digits"]) == (
        spec.EMBEDDING_DIM,
        spec.HASH_BITS,
        hashing.HEX_DIGITS,
    )
    assert c["resize_precision_bits"] == resize.PRECISION_BITS and resize.SIZE == c["input_size"]
    assert (c["seed_rows"], c["seed_cols"]) == (spec.HASH_BITS, spec.EMBEDDING_DIM)
    assert (c["seed_f32_bytes"], c["seed_dat_header_bytes"], c["seed_dat_bytes"]) == (
        seed.SEED_BYTES,
        seed.DAT_HEADER_BYTES,
        seed.DAT_BYTES,
    )
    assert list(spec.ORIENTATIONS) == c["orientation_policies"]
    assert EXIF_ORIENTATION_TAG == c["exif_orientation_tag"]
    assert spec.DEFAULT_MAX_PIXELS == c["default_max_pixels"]
    assert c["canonical_layout"] == "NCHW" and c["input_channels"] == 3
    assert NORMALISE_TABLE[0] == np.float32(-1.0) and NORMALISE_TABLE[255] == np.float32(1.0)
    # resize.py writes a = -0.5 inside its kernel expression; resize_coefficients.json pins the
    # kernel's output, so here only the stated value is compared.
    assert c["bicubic_a"] == -0.5


def _schema_errors_at(doc: dict, base: Path) -> list[str]:
    from jsonschema import Draft202012Validator

    schema = json.loads((base / doc["jsonSchema"]).read_text())
    return [e.message for e in Draft202012Validator(schema).iter_errors(doc)]


def _reader_index() -> dict:
    return json.loads((VECTORS / generate.READERS_DIR / "index.json").read_text())


def _reader_cases() -> list[dict]:
    return _reader_index()["cases"]


def test_reader_index_matches_its_schema_and_the_folder() -> None:
    """readers/index.json passes its JSON Schema, lists every file in readers/ once, has a
    valid and an invalid case for each reader, and the schema rejects a broken index."""
    index = _reader_index()
    base = VECTORS / generate.READERS_DIR
    assert _schema_errors_at(index, base) == []
    listed = [c["file"] for c in index["cases"]]
    on_disk = sorted(p.name for p in base.glob("*.json") if p.name != "index.json")
    assert sorted(listed) == on_disk and len(set(listed)) == len(listed)
    for reader in ("golden", "report", "manifest", "cases"):
        verdicts = {c["result"] for c in index["cases"] if c["reader"] == reader}
        assert verdicts == {"valid", "invalid"}, reader
    broken = json.loads(json.dumps(index))
    broken["cases"][0]["error"] = "images[0].hash"  # a valid case names no error
    broken["cases"][1]["reader"] = "manifests"
    broken["model_cases"][0]["set"] = []
    errors = _schema_errors_at(broken, base)
    assert len(errors) >= 3, errors


def _read_manifest(path: Path) -> None:
    from nhkit.runtime.bundle import parse_manifest

    parse_manifest(path.read_bytes(), str(path))


def _read_cases(path: Path) -> None:
    from nhkit.runtime.bundle import parse_cases

    parse_cases(path.read_bytes(), str(path))


@pytest.mark.parametrize("case", _reader_cases(), ids=lambda c: c["file"])
def test_reader_vectors_get_the_same_verdict_here(case: dict, tmp_path: Path) -> None:
    """tests/vectors/readers/: golden files, device reports, bundle manifests and self-test
    cases with the verdict every reader must reach (Swift and Java read the same files);
    duplicate keys are rejected everywhere."""
    from nhkit.runtime.errors import InputFileError
    from nhkit.runtime.golden import load_golden
    from nhkit.runtime.report import load_report

    path = VECTORS / generate.READERS_DIR / case["file"]
    read = {
        "golden": load_golden,
        "report": load_report,
        "manifest": _read_manifest,
        "cases": _read_cases,
    }[case["reader"]]
    if case["result"] == "valid":
        read(path)
    else:
        with pytest.raises(InputFileError) as info:
            read(path)
        assert case["error"] in str(info.value) and case["file"] in str(info.value)
