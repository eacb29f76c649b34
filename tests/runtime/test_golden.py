"""Golden sets: create, round-trip exactly, reject every malformed file with file + field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from golden_support import MARGIN, write

from nhkit.runtime.cli import main
from nhkit.runtime.compare import Tolerance
from nhkit.runtime.errors import InputFileError, NhkitError
from nhkit.runtime.golden import (
    GoldenSet,
    ToleranceRule,
    image_ids,
    load_golden,
    parse_golden,
    write_golden,
)
from nhkit.runtime.hashing import hex_to_bits


@pytest.fixture(scope="module")
def setup(golden_materials, tmp_path_factory):
    m = golden_materials
    path = tmp_path_factory.mktemp("golden-set") / "golden.json"
    write_golden(m.golden, path)
    return m.hasher, m.images, load_golden(path), path


@pytest.fixture()
def gobj(setup):
    """A fresh, valid golden-file object to break."""
    return json.loads(setup[3].read_text())


def test_create_records_everything_per_image(setup):
    hasher, images, golden, path = setup
    g = load_golden(path)
    assert [im.id for im in g.images] == [p.stem for p in images]
    assert g.spec == hasher.spec and g.spec.fragile_margin == MARGIN
    assert g.model.fingerprint and len(g.model.fingerprint) == 64
    assert g.model.seed_sha256 and g.model.backend["name"] == "onnxruntime"
    for im, p in zip(g.images, images):
        r = hasher.hash_file(p)
        assert im.hash == r.hex
        # projections survive JSON bit for bit (hex bit patterns, not decimals)
        assert im.projections.tobytes() == r.projections.tobytes()
        assert np.array_equal(im.fragile, np.abs(r.projections) < MARGIN)
        assert im.digests is not None and im.file == p.name and len(im.sha256) == 64
        assert im.lossless == (p.suffix == ".png")
    assert g.by_id["c5-jpeg"].orientation == 6
    assert any(im.fragile.any() for im in g.images)


def test_write_load_roundtrip_is_identical(setup, tmp_path):
    _, _, _, path = setup
    g = load_golden(path)
    out = tmp_path / "again.json"
    write_golden(g, out)
    assert out.read_text() == path.read_text()


def test_cli_create_and_refuse_overwrite(tiny_model, setup, tmp_path, capsys):
    model, seed = tiny_model
    images = setup[1]
    out = tmp_path / "g.json"
    args = [
        "golden",
        "create",
        *map(str, images),
        "--model",
        str(model),
        "--seed",
        str(seed),
        "--margin",
        str(MARGIN),
        "-o",
        str(out),
        "--tolerance",
        "3",
    ]
    assert main(args) == 0
    g = load_golden(out)
    assert len(g.images) == 5 and g.tolerance.hamming == 3 and g.tolerance.lossy_hamming == 6
    assert [im.hash for im in g.images] == [im.hash for im in setup[2].images]
    assert main(args) == 2
    assert "exists; use --force" in capsys.readouterr().err


def test_cli_create_bad_image_is_an_error_naming_it(tiny_model, setup, tmp_path, capsys):
    bad = tmp_path / "broken.png"
    bad.write_bytes(setup[1][0].read_bytes()[:60])
    rc = main(
        [
            "golden",
            "create",
            str(setup[1][0]),
            str(bad),
            "--model",
            str(tiny_model[0]),
            "--seed",
            str(tiny_model[1]),
            "-o",
            str(tmp_path / "g.json"),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "broken.png" in err and not (tmp_path / "g.json").exists()


def test_image_ids_collide_with_a_clear_error():
    assert image_ids(["a/x.png", "b/y.jpg"]) == ["x", "y"]
    with pytest.raises(NhkitError, match=r"b/x.jpg: id 'x' is also the id of a/x.png"):
        image_ids(["a/x.png", "b/x.jpg"])
    assert image_ids(["a/x.png", "b/x.jpg"], "path") == ["a/x.png", "b/x.jpg"]


def test_tolerance_rule_most_specific_wins(setup):
    g = load_golden(setup[3])
    g.set_rule(ToleranceRule("coreml", "*", 3, 8, 0))
    g.set_rule(ToleranceRule("coreml", "cpuAndGPU", 4, 9, 0))
    g.set_rule(ToleranceRule("coreml", "cpuAndGPU", 5, 10, 1, bundle_id="b-int8"))
    assert g.tolerance_for("tflite", "xnnpack", "x").hamming == g.tolerance.hamming
    assert g.tolerance_for("coreml", "cpuOnly", "b").hamming == 3
    assert g.tolerance_for("coreml", "cpuAndGPU", "b").hamming == 4
    t = g.tolerance_for("coreml", "cpuAndGPU", "b-int8")
    assert (t.hamming, t.lossy_hamming, t.nonfragile_flips) == (5, 10, 1)
    assert "bundle b-int8" in t.source
    g.set_rule(ToleranceRule("coreml", "*", 6, 8, 0))  # same key: replaced, not duplicated
    assert len(g.rules) == 3 and g.tolerance_for("coreml", "cpuOnly").hamming == 6


# ----- malformed golden files: each a clear error naming the file and the field --------------


def _err(path: Path) -> str:
    with pytest.raises(InputFileError) as ei:
        load_golden(path)
    msg = str(ei.value)
    assert msg.startswith(str(path)), msg
    return msg


def test_truncated_json(setup, tmp_path):
    p = tmp_path / "t.json"
    p.write_text(setup[3].read_text()[:700])
    assert "not valid JSON" in _err(p) and "truncated" in _err(p)


def test_empty_and_missing_file(tmp_path):
    p = tmp_path / "empty.json"
    p.write_text("  \n")
    assert "file is empty" in _err(p)
    assert "golden file not found" in _err(tmp_path / "nope.json")


def test_nan_literal_named_by_field(gobj, tmp_path):
    text = json.dumps(gobj).replace('"fragile_margin": 0.05', '"fragile_margin": NaN', 1)
    p = tmp_path / "nan.json"
    p.write_text(text)
    assert "spec.fragile_margin: NaN is not a JSON number" in _err(p)


def test_nan_in_projections(gobj, tmp_path):
    gobj["images"][1]["projections"][7] = "7ff8000000000000"
    assert "images[1].projections[7]: nan (7ff8000000000000); projections must be finite" in _err(
        write(tmp_path / "g.json", gobj)
    )


def test_other_spec_version(gobj, tmp_path):
    gobj["spec"]["id"] = "nh-spec-v2"
    msg = _err(write(tmp_path / "g.json", gobj))
    assert "spec id is 'nh-spec-v2'" in msg and "nh-spec-v1" in msg


def test_other_format_version_and_other_format(gobj, tmp_path):
    gobj["format_version"] = 2
    assert "format_version: 2 is not supported" in _err(write(tmp_path / "g.json", gobj))
    gobj["format_version"] = 1
    gobj["format"] = "nhkit-device-report"
    assert "looks like an nhkit device self-test report" in _err(write(tmp_path / "g.json", gobj))


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (
            lambda g: g["images"][0].__setitem__("hash", "abc"),
            "images[0].hash: expected a 96-bit hash: exactly 24 hex digits, "
            'got "abc" (3 characters)',
        ),
        (
            lambda g: g["images"][2].__setitem__("projections", g["images"][2]["projections"][:95]),
            "images[2].projections: has 95 items, expected exactly 96",
        ),
        (
            lambda g: g["images"][0].__setitem__("lossless", "yes"),
            'images[0].lossless: expected boolean, got string "yes"',
        ),
        (
            lambda g: g["tolerance"].__setitem__("hamming", 2.5),
            "tolerance.hamming: expected integer, got number 2.5",
        ),
        (lambda g: g["images"][3].pop("fragile"), "images[3].fragile: missing (required field)"),
        (lambda g: g["images"][0].__setitem__("hsah", "x"), "images[0].hsah: unknown field"),
        (
            lambda g: g["images"][1]["embedding"].__setitem__(0, "3F800000"),
            "images[1].embedding[0]: expected a float32 bit pattern",
        ),
        (lambda g: g.__setitem__("images", []), "images: has 0 items, expected at least 1"),
        (
            lambda g: g["images"][1].__setitem__("id", g["images"][0]["id"]),
            "images[1].id: duplicate id 'c1-wide' (first at images[0])",
        ),
    ],
)
def test_schema_and_semantic_violations(gobj, tmp_path, mutate, expected):
    mutate(gobj)
    assert expected in _err(write(tmp_path / "g.json", gobj))


def test_hash_must_be_the_signs_of_the_projections(gobj, tmp_path):
    h = gobj["images"][0]["hash"]
    gobj["images"][0]["hash"] = ("0" if h[0] != "0" else "f") + h[1:]
    assert "images[0].hash: does not match the signs of images[0].projections" in _err(
        write(tmp_path / "g.json", gobj)
    )


def test_fragile_mask_must_match_the_margin(gobj, tmp_path):
    gobj["spec"]["fragile_margin"] = 0.2
    assert "images[0].fragile: is not the mask |projection| < 0.2" in _err(
        write(tmp_path / "g.json", gobj)
    )


def test_duplicate_json_keys_are_refused(setup, tmp_path):
    text = (
        setup[3]
        .read_text()
        .replace(
            '"format": "nhkit-golden",', '"format": "nhkit-golden", "format": "nhkit-golden",', 1
        )
    )
    p = tmp_path / "dup.json"
    p.write_text(text)
    assert "format: key appears twice" in _err(p)


def test_several_problems_are_all_listed(gobj, tmp_path):
    gobj["images"][0]["hash"] = "zz"
    gobj["images"][4]["orientation"] = 9
    msg = _err(write(tmp_path / "g.json", gobj))
    assert (
        "2 problems" in msg
        and "images[0].hash" in msg
        and "images[4].orientation: must be <= 8, got 9" in msg
    )


def test_parse_golden_rejects_top_level_array():
    with pytest.raises(InputFileError, match=r"\(top level\): expected a JSON object, got array"):
        parse_golden([1, 2], "x.json")


def test_golden_set_refuses_duplicate_ids_in_memory(setup):
    g = setup[2]
    with pytest.raises(NhkitError, match="duplicate image id"):
        GoldenSet(spec=g.spec, model=g.model, images=[g.images[0], g.images[0]])


def test_fragile_mask_is_stored_in_hash_bit_order(setup):
    g = load_golden(setup[3])
    im = g.images[0]
    obj = json.loads(setup[3].read_text())["images"][0]
    assert np.array_equal(hex_to_bits(obj["fragile"]).astype(bool), im.fragile)
    assert Tolerance(1, 2).describe().startswith("lossless <= 1 bits, lossy <= 2 bits")
