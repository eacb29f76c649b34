"""nh-spec-v1 step 1, one file per stored mode: the committed set in tests/decode_modes/ (the Swift
and Java test decoders read the same decode_modes.json and check what they can read).

make.py checks each file against an oracle computed from the arrays it was made from; here the
runtime's decode is checked against the committed digests, the files against their generator
(byte for byte) and the vector file against its JSON Schema."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nhkit.runtime.decode import decode_image
from nhkit.runtime.errors import ImageDecodeError

MODES = Path(__file__).parents[1] / "decode_modes"
DOC = json.loads((MODES / "decode_modes.json").read_text())
TESTS = [t for g in DOC["testGroups"] for t in g["tests"]]


@pytest.mark.parametrize("t", TESTS, ids=lambda t: t["input"]["file"])
def test_decode_mode(t: dict) -> None:
    path = MODES / t["input"]["file"]
    with Image.open(path) as im:  # the file is what the vector says it is
        assert (im.format, im.mode, im.size) == (
            t["input"]["format"],
            t["input"]["mode"],
            (t["input"]["width"], t["input"]["height"]),
        )
    if t["result"] == "invalid":
        with pytest.raises(ImageDecodeError) as err:
            decode_image(path)
        assert t["input"]["file"] in str(err.value) and t["input"]["mode"] in str(err.value)
        return
    d = decode_image(path)
    rgb = np.ascontiguousarray(d.rgb)
    e = t["expected"]
    assert rgb.dtype == np.uint8 and rgb.shape == (e["height"], e["width"], 3)
    assert d.orientation == e["orientation"]
    assert hashlib.sha256(rgb.tobytes()).hexdigest() == e["decoded"], t["comment"]


def test_set_covers_the_specs_table() -> None:
    """Every row of spec step 1's table has a file (PA, CMYK lossless, 16-bit grey/RGB(A),
    palette with tRNS, the rejected modes) and every EXIF orientation 1..8 is applied."""
    modes = {t["input"]["mode"] for t in TESTS}
    assert {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "I;16"} <= modes
    assert {"I", "F", "LAB"} <= {t["input"]["mode"] for t in TESTS if t["result"] == "invalid"}
    flags = {f for t in TESTS for f in t["flags"]}
    assert {"SixteenBit", "Transparency", "Animated", "PaletteIndexOutOfRange"} <= flags
    orientations = {t["expected"]["orientation"] for t in TESTS if "Orientation" in t["flags"]}
    assert orientations == set(range(1, 9))


def test_vector_file_matches_its_schema_and_explains_its_flags() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((MODES / DOC["jsonSchema"]).read_text())
    Draft202012Validator.check_schema(schema)
    assert [e.message for e in Draft202012Validator(schema).iter_errors(DOC)] == []
    assert set(DOC["notes"]) == {f for t in TESTS for f in t["flags"]}
    assert (
        [t["tcId"] for t in TESTS]
        == list(range(1, len(TESTS) + 1))
        == [*range(1, DOC["numberOfTests"] + 1)]
    )
    broken = json.loads(json.dumps(DOC))
    broken["testGroups"][0]["tests"][0]["expected"]["decoded"] = "abc"
    assert list(Draft202012Validator(schema).iter_errors(broken))


def test_files_are_reproduced_byte_identically_by_make_py() -> None:
    proc = subprocess.run(
        [sys.executable, str(MODES / "make.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_files_stay_tiny() -> None:
    sizes = [
        p.stat().st_size for p in MODES.iterdir() if p.suffix in (".png", ".jpg", ".gif", ".tif")
    ]
    assert len(sizes) == len(TESTS) and max(sizes) < 4096
