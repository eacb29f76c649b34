"""The Core ML model spec parser (nhkit.runtime.coreml.mlmodel).

Split from the former tests/test_coreml_executor.py; tests that need packages made by
coremltools skip when it is not installed."""

from __future__ import annotations

import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from coreml_helpers import QUIET, _copy, _weights, _spec_path, _varint, _key, _ld, _save_program
from coreml_testmodel import coreml_packages, onnx_embed, random_batch

from nhkit.runtime.coreml.blob import BlobError, BlobFile, unpack_sub_byte
from nhkit.runtime.coreml.executor import CoreMLPackageError, MLProgram, UnsupportedOpError
from nhkit.runtime.coreml.mlmodel import SpecError, parse_model
from nhkit.runtime.coreml.ops import round_to_fp16
from nhkit.runtime.coreml.wire import Fields, WireError
from nhkit.runtime.errors import ModelError


def test_parse_model_names_non_program_models() -> None:
    nn_model = _key(1, 0) + _varint(4) + _ld(500, b"")
    with pytest.raises(SpecError, match="not an ML program.*neuralNetwork"):
        parse_model(nn_model)
    with pytest.raises(SpecError, match="corrupt model spec"):
        parse_model(_ld(502, b"\x12\x05ab"))
