"""The Core ML embedding backend (nhkit.runtime.backends.coreml) on the executor.

Split from the former tests/test_coreml_executor.py; tests that need packages made by
coremltools skip when it is not installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from coreml_helpers import QUIET, _save_program
from coreml_testmodel import random_batch

from nhkit.runtime.errors import ModelError


def test_fp32_bundle_backend_gives_identical_hashes_on_photos(
    packages: dict[str, Path], photos: list[Path]
) -> None:
    from nh_models import make_seed

    from nhkit.runtime.backends.coreml import CoreMLBackend
    from nhkit.runtime.backends.onnx import OnnxBackend
    from nhkit.runtime.hasher import Hasher

    seed = make_seed()
    ref = Hasher(OnnxBackend(packages["onnx"]), seed)
    cm = Hasher(CoreMLBackend(packages["fp32"]), seed)
    for photo in photos[:6]:
        a, b = ref.hash_file(photo), cm.hash_file(photo)
        assert a.hex == b.hex, photo.name
        scale = float(np.abs(a.embedding).max())
        assert float(np.abs(a.embedding - b.embedding).max()) <= 1e-5 * scale


@QUIET
def test_backend_feeds_nhwc_and_fp16_inputs_as_the_program_declares(tmp_path: Path) -> None:
    ct = pytest.importorskip("coremltools")
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    from nhkit.runtime.backends.coreml import CoreMLBackend

    rng = np.random.default_rng(7)
    w = (rng.standard_normal((8, 3, 5, 5)) * 0.2).astype(np.float32)
    d = (rng.standard_normal((128, 8)) * 0.5).astype(np.float32)

    def body(x):  # noqa: ANN001, ANN202
        y = mb.conv(x=x, weight=w, strides=[4, 4], pad_type="custom", pad=[1, 2, 2, 1])
        y = mb.reduce_mean(x=y, axes=[2, 3])
        return mb.linear(x=y, weight=d, name="embedding")

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 3, 360, 360))], opset_version=ct.target.iOS16)
    def nchw(image):  # noqa: ANN001, ANN202
        return body(image)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 360, 360, 3))], opset_version=ct.target.iOS16)
    def nhwc(image):  # noqa: ANN001, ANN202
        return body(mb.transpose(x=image, perm=[0, 3, 1, 2]))

    @mb.program(
        input_specs=[mb.TensorSpec(shape=(1, 3, 360, 360), dtype=types.fp16)],
        opset_version=ct.target.iOS16,
    )
    def half(image):  # noqa: ANN001, ANN202
        return body(mb.cast(x=image, dtype="fp32"))

    x = random_batch(2, seed=11)
    a = CoreMLBackend(_save_program(nchw, tmp_path, "a.mlpackage"))
    b = CoreMLBackend(
        _save_program(nhwc, tmp_path, "b.mlpackage"),
        input_spec={
            "name": "image",
            "shape": [1, 360, 360, 3],
            "dtype": "float32",
            "layout": "NHWC",
            "quantization": None,
        },
    )
    c = CoreMLBackend(_save_program(half, tmp_path, "c.mlpackage"))
    assert (a.layout, b.layout, c.in_dtype) == ("NCHW", "NHWC", np.dtype(np.float16))
    ea, eb, ec = a.embed(x), b.embed(x), c.embed(x)
    assert ea.shape == (2, 128) and np.array_equal(ea, eb)
    # the fp16 input is the spec tensor rounded to fp16: close, not equal
    assert 0 < np.abs(ea - ec).max() < 1e-2 * np.abs(ea).max()
    assert a.describe()["name"] == "coreml-executor"
    with pytest.raises(ModelError, match="layout 'NCHW'.*program shape says NHWC"):
        CoreMLBackend(
            b.path,
            input_spec={
                "name": "image",
                "shape": [1, 360, 360, 3],
                "dtype": "float32",
                "layout": "NCHW",
                "quantization": None,
            },
        )


def test_backend_rejects_manifest_that_disagrees(packages: dict[str, Path]) -> None:
    from nhkit.runtime.backends.base import EmbeddingBackend
    from nhkit.runtime.backends.coreml import CoreMLBackend

    good = {
        "name": "image",
        "shape": [1, 3, 360, 360],
        "dtype": "float32",
        "layout": "NCHW",
        "quantization": None,
    }
    backend = CoreMLBackend(packages["int8"], input_spec=good)
    assert isinstance(backend, EmbeddingBackend)
    assert backend.describe()["precision"] == "fp16"
    for key, bad, msg in [
        ("name", "input", "name 'input'"),
        ("dtype", "int8", "dtype 'int8'"),
        ("quantization", {"scale": 0.1, "zero_point": 0}, "quantized"),
    ]:
        with pytest.raises(ModelError, match=msg):
            CoreMLBackend(packages["int8"], input_spec={**good, key: bad})
