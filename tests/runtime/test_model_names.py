"""Shipped models by name: a new default must not strand users of the old one, so every model
the package carries stays loadable as `--model NAME` (with its own seed), and a path keeps
meaning that file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nhkit.runtime.cli import main
from nhkit.runtime.errors import ModelError, NhkitError
from nhkit.runtime.hasher import Hasher
from nhkit.runtime.models import (
    DEFAULT_MODEL_NAME,
    installed_models,
    model_name_argument,
    shipped_model,
)

INSTALLED = installed_models()


def test_the_default_is_installed_and_every_model_names_itself() -> None:
    assert DEFAULT_MODEL_NAME in INSTALLED
    for name in INSTALLED:
        shipped = shipped_model(name)
        # model.json's name is what bundles, hash lists and golden files record
        assert shipped.meta.name == name
        assert shipped.meta.fingerprint and shipped.meta.seed_sha256


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        ("nhkit-mnv3s-v1", "nhkit-mnv3s-v1"),
        ("some-model", "some-model"),  # a name, even if not installed: shipped_model says so
        ("model.onnx", None),
        ("models/nhkit-mnv3s-v1", None),
        ("", None),
    ],
)
def test_what_counts_as_a_name(value: str | None, expected: str | None) -> None:
    assert model_name_argument(value) == expected


def test_an_existing_file_is_a_path_even_without_suffix(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("nhkit-mnv3s-v1").write_bytes(b"not a model")
    assert model_name_argument("nhkit-mnv3s-v1") is None


@pytest.mark.parametrize("name", INSTALLED)
def test_hash_by_name_equals_hash_by_path(name: str, photos) -> None:
    shipped = shipped_model(name)
    by_name = Hasher.from_onnx(name)
    by_path = Hasher.from_onnx(shipped.onnx, shipped.seed)
    a, b = by_name.hash_file(photos[0]), by_path.hash_file(photos[0])
    assert a.hex == b.hex
    assert by_name.identity.name == name
    assert by_name.identity.fingerprint == shipped.meta.fingerprint
    assert by_name.spec.fragile_margin == shipped.fragile_margin


def test_each_name_is_its_own_model() -> None:
    """Two names must never resolve to the same weights: a hash list records the name."""
    fingerprints = {shipped_model(n).meta.fingerprint for n in INSTALLED}
    assert len(fingerprints) == len(INSTALLED)


def test_unknown_name_lists_what_is_installed() -> None:
    with pytest.raises(ModelError) as err:
        Hasher.from_onnx("nhkit-no-such-model")
    assert "not installed" in str(err.value)
    for name in INSTALLED:
        assert name in str(err.value)


def test_a_shipped_model_refuses_another_seed(tiny_model) -> None:
    with pytest.raises(NhkitError, match="has its own seed"):
        Hasher.from_onnx(DEFAULT_MODEL_NAME, tiny_model[1])
    # its own seed, given explicitly, is fine
    Hasher.from_onnx(DEFAULT_MODEL_NAME, shipped_model().seed)


@pytest.mark.parametrize("name", INSTALLED)
def test_cli_hash_by_name(name: str, photos, capsys) -> None:
    assert main(["hash", "--model", name, "--format", "json", "--no-progress", str(photos[0])]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    expected = Hasher.from_onnx(name).hash_file(photos[0]).hex
    assert row["hash"] == expected


def test_cli_unknown_name_is_a_clear_error(photos, capsys) -> None:
    assert main(["hash", "--model", "nhkit-nope", "--no-progress", str(photos[0])]) == 2
    err = capsys.readouterr().err
    assert "nhkit-nope" in err and "not installed" in err
