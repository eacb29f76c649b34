"""Device reports: the bridges' contract. Valid reports round-trip exactly; every malformed
one is an error naming the file and the field, never something a check could pass."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from golden_support import write

from nhkit.runtime.errors import InputFileError
from nhkit.runtime.jsonfile import load_schema
from nhkit.runtime.report import load_report, parse_report, write_report


@pytest.fixture(scope="module")
def setup(golden_materials, tmp_path_factory):
    m = golden_materials
    path = tmp_path_factory.mktemp("report") / "report.json"
    write_report(m.report, path)
    return m.hasher, m.images, m.report, path


@pytest.fixture()
def robj(setup):
    return json.loads(setup[3].read_text())


def _err(path: Path) -> str:
    with pytest.raises(InputFileError) as ei:
        load_report(path)
    msg = str(ei.value)
    assert msg.startswith(str(path)), msg
    return msg


def test_roundtrip_exact_and_schema_valid(setup, tmp_path):
    _, images, report, path = setup
    obj = json.loads(path.read_text())
    jsonschema.Draft202012Validator(load_schema("device-report.v1.schema.json")).validate(obj)
    again = load_report(path)
    assert [c.id for c in again.cases] == [p.stem for p in images]
    for a, b in zip(again.cases, report.cases):
        assert a.projections.tobytes() == b.projections.tobytes()
        assert a.embedding.tobytes() == b.embedding.tobytes()
        assert a.hash == b.hash and a.digests == b.digests
        assert set(a.timings_ms) == {"decode", "resize", "normalise", "model", "project"}
    out = tmp_path / "r.json"
    write_report(again, out)
    assert out.read_text() == path.read_text()
    assert again.target == "onnx" and again.compute_unit == "cpu"


def test_bridge_style_report_is_accepted(robj, tmp_path):
    """What the Java core writes: optional target/fingerprint/orientation, extra notes, a
    failed case with only id and error, more platform keys, upper-case hash."""
    robj["bridge"] = {"name": "nhkit-android", "version": "0.1.0"}
    robj["platform"] = {
        "os": "Android",
        "os_version": "15",
        "device_model": "Pixel 8",
        "manufacturer": "Google",
        "sdk_int": 35,
    }
    robj["runtime"] = {
        "name": "litert",
        "version": "1.2.0",
        "compute_unit": "xnnpack",
        "threads": 4,
    }
    robj["bundle"].pop("target")
    robj["bundle"]["source_model_fingerprint"] = "cd" * 32
    robj["cases"][0]["extra"] = {"note": "decoder colour space sRGB"}
    robj["cases"][0]["hash"] = robj["cases"][0]["hash"].upper()
    robj["cases"][1] = {"id": robj["cases"][1]["id"], "error": "BitmapFactory returned null"}
    robj["extra"] = {"app": "demo"}
    r = load_report(write(tmp_path / "r.json", robj))
    assert r.target == "tflite"  # from the runtime name when bundle.target is absent
    assert r.cases[0].hash == robj["cases"][0]["hash"].lower()
    assert not r.cases[1].ok and r.cases[1].projections is None
    assert "Pixel 8" in r.describe()


def test_truncated_json(setup, tmp_path):
    p = tmp_path / "r.json"
    p.write_text(setup[3].read_text()[:3000])
    assert "truncated" in _err(p)


def test_not_json_at_all_and_not_utf8(tmp_path):
    p = tmp_path / "r.json"
    p.write_bytes(b"\xff\xfe\x00garbage")
    assert "not UTF-8" in _err(p)
    p.write_text("hash,id\n")
    assert "not valid JSON" in _err(p)


def test_nan_and_infinity_literals_named(setup, tmp_path):
    text = setup[3].read_text()
    p = tmp_path / "r.json"
    first_model = text.index('"model": ')
    bad = text[:first_model] + '"model": Infinity,' + text[text.index("\n", first_model) :]
    p.write_text(bad)
    assert "cases[0].timings_ms.model: Infinity is not a JSON number" in _err(p)


def test_nan_in_projections_and_embedding(robj, tmp_path):
    robj["cases"][2]["projections"][40] = "7ff8000000000000"
    robj["cases"][3]["embedding"][5] = "7f800000"
    msg = _err(write(tmp_path / "r.json", robj))
    assert "cases[2].projections[40]: nan (7ff8000000000000)" in msg
    assert "cases[3].embedding[5]: inf (7f800000)" in msg
    assert "must carry an 'error' instead" in msg


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (
            lambda r: r["cases"][0].__setitem__("hash", r["cases"][0]["hash"][:23]),
            "cases[0].hash: expected a 96-bit hash: exactly 24 hex digits",
        ),
        (
            lambda r: r["cases"][0].__setitem__("hash", r["cases"][0]["hash"] + "00"),
            "(26 characters)",
        ),
        (
            lambda r: r["cases"][1].pop("projections"),
            "cases[1].projections: missing (required field)",
        ),
        (
            lambda r: r["cases"][1]["embedding"].pop(),
            "cases[1].embedding: has 127 items, expected exactly 128",
        ),
        (
            lambda r: r["runtime"].__setitem__("threads", "4"),
            'runtime.threads: expected integer, got string "4"',
        ),
        (
            lambda r: r["bundle"].__setitem__("checksums_verified", 1),
            "bundle.checksums_verified: expected boolean, got number 1",
        ),
        (
            lambda r: r["bundle"].__setitem__("manifest_sha256", "ab"),
            "bundle.manifest_sha256: expected a sha256",
        ),
        (lambda r: r.pop("platform"), "platform: missing (required field)"),
        (
            lambda r: r["cases"][0].__setitem__("hsah", "x"),
            "cases[0].hsah: unknown field (put free-form data under 'extra')",
        ),
        (
            lambda r: r["cases"][0]["digests"].__setitem__("tensor", None),
            "cases[0].digests.tensor: expected string, got null",
        ),
        (
            lambda r: r["cases"][0]["timings_ms"].__setitem__("model", -1),
            "cases[0].timings_ms.model: must be >= 0, got -1",
        ),
        (
            lambda r: r["cases"][0]["timings_ms"].__setitem__("gpu_upload", "fast"),
            "cases[0].timings_ms.gpu_upload: expected number, got string",
        ),
        (lambda r: r.__setitem__("created", "yesterday"), "created: expected text matching"),
        (lambda r: r.__setitem__("cases", {}), "cases: expected array, got object"),
        (lambda r: r["cases"][0].__setitem__("error", ""), "cases[0].error: must not be empty"),
        (
            lambda r: r["cases"][3].__setitem__("id", r["cases"][0]["id"]),
            "cases[3].id: duplicate id 'c1-wide' (first at cases[0])",
        ),
        (
            lambda r: r["spec"].__setitem__("orientation", "rotate"),
            'spec.orientation: must be one of "apply", "ignore", got "rotate"',
        ),
    ],
)
def test_malformed_reports(robj, tmp_path, mutate, expected):
    mutate(robj)
    assert expected in _err(write(tmp_path / "r.json", robj))


def test_spec_of_another_version(robj, tmp_path):
    robj["spec"]["id"] = "nh-spec-v2"
    msg = _err(write(tmp_path / "r.json", robj))
    assert "spec id is 'nh-spec-v2'; this nhkit implements 'nh-spec-v1'" in msg


def test_other_format_version_and_golden_given_as_report(robj, tmp_path):
    robj["format_version"] = 2
    assert (
        "format_version: 2 is not supported; this nhkit reads nhkit-device-report version 1"
        in _err(write(tmp_path / "r.json", robj))
    )
    assert "(this looks like an nhkit golden set)" in _err(
        write(tmp_path / "g.json", {"format": "nhkit-golden", "format_version": 1})
    )


def test_many_problems_are_capped(robj, tmp_path):
    for i in range(30):
        robj["cases"][0]["projections"][i] = "zz"
    msg = _err(write(tmp_path / "r.json", robj))
    assert "30 problems" in msg and "... and 20 more" in msg
    assert "cases[0].projections[0]: expected a float64 bit pattern" in msg


def test_parse_report_from_object_names_source(robj):
    robj["cases"][0]["id"] = ""
    with pytest.raises(InputFileError, match=r"^dev\.json: cases\[0\]\.id: must not be empty"):
        parse_report(robj, "dev.json")
