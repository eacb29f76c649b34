"""`nhkit hash` and `nhkit distance` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest
from nh_models import build_tiny_model
from PIL import Image

from nhkit.runtime.backends.onnx import OnnxBackend
from nhkit.runtime.cli import main
from nhkit.runtime.errors import ModelError
from nhkit.runtime.hasher import Hasher
from nhkit.runtime.models import DEFAULT_MODEL_NAME, MODELS_DIR


def model_args(tiny_model) -> list[str]:
    return ["--model", str(tiny_model[0]), "--seed", str(tiny_model[1]), "--no-progress"]


def test_text_json_csv_agree(tiny_model, photos, capsys) -> None:
    files = [str(p) for p in photos[:4]]
    assert main(["hash", *model_args(tiny_model), *files]) == 0
    text = [line.split("  ") for line in capsys.readouterr().out.splitlines()]
    assert [p for _, p in text] == files and all(len(h) == 24 for h, _ in text)
    assert main(["hash", "--format", "json", *model_args(tiny_model), *files]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["hash"] for r in rows] == [h for h, _ in text]
    assert all(len(r["projections"]) == 96 and len(r["embedding"]) == 128 for r in rows)
    assert main(["hash", "--format", "csv", *model_args(tiny_model), *files]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["hash"] for r in table] == [h for h, _ in text]


def test_batching_and_workers_do_not_change_hashes(tiny_model, photos) -> None:
    hasher = Hasher.from_onnx(*tiny_model)
    one = {p: r.hex for p, r in hasher.hash_files(photos, batch_size=1, workers=1)}
    many = {p: r.hex for p, r in hasher.hash_files(photos, batch_size=5, workers=3)}
    assert one == many and len(one) == len(photos)
    assert hasher.hash_file(photos[0]).hex == one[str(photos[0])]
    rgb = np.asarray(Image.open(photos[0]).convert("RGB"))
    assert hasher.hash_rgb(rgb).hex == one[str(photos[0])]


def test_bad_files_are_reported_and_the_rest_hashed(tiny_model, photos, tmp_path, capsys) -> None:
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    good = [folder / "a.jpg", folder / "sub" / "b.jpg"]
    for src, dst in zip(photos, good):
        dst.write_bytes(src.read_bytes())
    (folder / "notes.jpg").write_text("not an image")
    (folder / "empty.png").write_bytes(b"")
    os.symlink(folder / "gone.jpg", folder / "dangling.jpg")
    (folder / "readme.txt").write_text("ignored: not an image suffix")
    code = main(["hash", "-r", *model_args(tiny_model), str(folder), str(tmp_path / "nope.jpg")])
    out = capsys.readouterr()
    assert code == 1
    hashed = [line.split("  ")[1] for line in out.out.splitlines()]
    assert hashed == [str(good[0]), str(good[1])]
    for name, reason in [
        ("notes.jpg", "not a recognised image format"),
        ("empty.png", "file is empty"),
        ("dangling.jpg", "cannot read file"),
        ("nope.jpg", "no such file"),
    ]:
        assert any(name in line and reason in line for line in out.err.splitlines()), name
    assert "2 hashed, 4 failed" in out.err


def test_directory_without_recursive_flag(tiny_model, tmp_path, capsys) -> None:
    assert main(["hash", *model_args(tiny_model), str(tmp_path)]) == 1
    assert "use -r" in capsys.readouterr().err


def test_distance(capsys) -> None:
    assert main(["distance", "0" * 24, "f" * 24]) == 0
    assert capsys.readouterr().out.strip() == "96"
    assert main(["distance", "0" * 24, "xyz"]) == 2
    assert "24 hex digits" in capsys.readouterr().err


def test_seed_without_model_is_an_error(tiny_model, photos, capsys) -> None:
    assert main(["hash", "--seed", str(tiny_model[1]), str(photos[0])]) == 2
    assert "--seed goes with --model" in capsys.readouterr().err


def test_default_model(photos, capsys) -> None:
    """Without --model, the shipped default model is used, or a clear message says it is absent."""
    shipped = (MODELS_DIR / DEFAULT_MODEL_NAME / "model.onnx").is_file()
    code = main(["hash", "--no-progress", str(photos[0])])
    out = capsys.readouterr()
    if shipped:
        assert code == 0 and len(out.out.split()[0]) == 24
    else:
        assert code == 2 and "--model" in out.err


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"in_shape": (3, 224, 224)}, r"expected input float32 \[1,3,360,360\].*found.*224"),
        ({"out_dim": 64}, r"expected one output of 128 floats, found"),
    ],
)
def test_wrong_model_interface(tmp_path, kwargs, expected) -> None:
    path = build_tiny_model(tmp_path / "wrong.onnx", **kwargs)
    with pytest.raises(ModelError, match=expected):
        OnnxBackend(path)


def test_corrupt_and_missing_model(tmp_path, tiny_model, capsys) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x01garbage")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        OnnxBackend(bad)
    assert (
        main(
            ["hash", "--model", str(tmp_path / "none.onnx"), "--seed", str(tiny_model[1]), str(bad)]
        )
        == 2
    )
    assert "none.onnx: model file not found" in capsys.readouterr().err
