"""The Core ML model spec parser (nhkit.runtime.coreml.mlmodel).

Split from the former tests/test_coreml_executor.py; tests that need packages made by
coremltools skip when it is not installed."""

from __future__ import annotations

import pytest
from coreml_helpers import _key, _ld, _varint

from nhkit.runtime.coreml.mlmodel import SpecError, parse_model


def test_parse_model_names_non_program_models() -> None:
    nn_model = _key(1, 0) + _varint(4) + _ld(500, b"")
    with pytest.raises(SpecError, match="not an ML program.*neuralNetwork"):
        parse_model(nn_model)
    with pytest.raises(SpecError, match="corrupt model spec"):
        parse_model(_ld(502, b"\x12\x05ab"))
