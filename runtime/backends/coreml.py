"""Core ML backend: runs a bundle's `model.mlpackage` with nhkit's own ML-program executor.

Why not coremltools: it cannot predict off macOS, and the runtime install must stay light. The
executor (`nhkit.runtime.coreml`) reads the package itself and runs it in numpy, so Linux CI,
`nhkit hash --bundle` and the export verification all see what the Core ML program computes
(fp16 programs approximately: see the executor's module docstring)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..coreml.executor import MLProgram
from ..errors import ModelError
from ..spec import EMBEDDING_DIM, INPUT_SIZE
from ..tensor import Layout, to_layout
from .base import check_batch, check_embeddings

_NP_DTYPES: dict[str, np.dtype] = {"fp32": np.dtype(np.float32), "fp16": np.dtype(np.float16)}
_MANIFEST_DTYPES: dict[str, str] = {"float32": "fp32", "float16": "fp16"}
# The manifest fields a mismatch is reported under (as jsonfile.field_path writes them).
_IN = "model.inputs[0]"
_OUT = "model.outputs[0]"


class CoreMLBackend:
    """An EmbeddingBackend over an ML program (.mlpackage).

    Takes the canonical NCHW float32 batch and feeds the program the way the bundle manifest's
    input entry says (`layout` NCHW or NHWC, `dtype` float32 or float16); without a manifest entry
    the layout is inferred from the program's input shape. The program's declared input shape,
    dtype and name must agree with the manifest, so a mismatched bundle fails at load time. Models
    fixed at batch 1 are run image by image."""

    name = "coreml-executor"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        input_spec: Mapping[str, Any] | None = None,
        output_spec: Mapping[str, Any] | None = None,
        output_name: str | None = None,
    ) -> None:
        self.path = Path(model_path)
        self.program = MLProgram.open(self.path)  # raises ModelError subclasses naming the file
        names = list(self.program.input_types)
        if len(names) != 1:
            raise ModelError(self.path, f"expected 1 program input, found {names}")
        self.input_name = names[0]
        t = self.program.input_types[self.input_name]
        shape = tuple(t.shape)
        if t.dtype not in _NP_DTYPES:
            raise ModelError(
                self.path,
                f"input {self.input_name!r} is {t.dtype}; only fp32 and fp16 inputs are supported",
            )
        layout: Layout | None = None
        if shape[1:] == (3, INPUT_SIZE, INPUT_SIZE):
            layout = "NCHW"
        elif shape[1:] == (INPUT_SIZE, INPUT_SIZE, 3):
            layout = "NHWC"
        if len(shape) != 4 or layout is None or shape[0] is None:
            raise ModelError(
                self.path,
                f"expected input [1,3,{INPUT_SIZE},{INPUT_SIZE}] (NCHW) or "
                f"[1,{INPUT_SIZE},{INPUT_SIZE},3] (NHWC), found {list(shape)}",
            )
        problems = []
        if input_spec is not None:
            problems += self._input_problems(input_spec, shape, t.dtype, layout)
        self.layout: Layout = layout
        self.batch = int(shape[0] or 1)  # the shape checks above leave no unknown dims
        self.in_dtype = _NP_DTYPES[t.dtype]
        outs = list(self.program.output_names)
        if output_name is not None and output_name not in outs:
            raise ModelError(self.path, f"no output {output_name!r}; the program has {outs}")
        if output_name is None and len(outs) != 1:
            raise ModelError(self.path, f"expected 1 program output, found {outs}")
        self.output_name = output_name or outs[0]
        oshape = self.program.types[self.output_name].shape
        known = [d for d in oshape if d is not None]
        if len(known) != len(oshape) or int(np.prod(known)) != EMBEDDING_DIM * self.batch:
            raise ModelError(
                self.path,
                f"expected an output of {EMBEDDING_DIM} floats per image, "
                f"found shape {list(oshape)}",
            )
        if output_spec is not None:
            problems += self._output_problems(output_spec)
        if problems:
            raise ModelError(
                self.path,
                "bundle manifest does not match the Core ML program: " + "; ".join(problems),
            )

    def _input_problems(
        self, spec: Mapping[str, Any], shape: tuple[int | None, ...], dtype: str, layout: Layout
    ) -> list[str]:
        """The manifest's input entry against the program's declared input, named by manifest
        field (`model.inputs[0].shape`): a device feeds what the manifest says."""
        problems = []
        if spec.get("name") != self.input_name:
            problems.append(f"{_IN}.name {spec.get('name')!r} (program: {self.input_name!r})")
        if list(spec.get("shape", [])) != list(shape):
            problems.append(f"{_IN}.shape {spec.get('shape')} (program: {list(shape)})")
        if _MANIFEST_DTYPES.get(str(spec.get("dtype"))) != dtype:
            problems.append(f"{_IN}.dtype {spec.get('dtype')!r} (program: {dtype})")
        if spec.get("layout") != layout:
            problems.append(f"{_IN}.layout {spec.get('layout')!r} (program shape says {layout})")
        if spec.get("quantization") is not None:
            problems.append(f"{_IN}.quantization: quantized input (Core ML takes floats)")
        return problems

    def _output_problems(self, spec: Mapping[str, Any]) -> list[str]:
        """The manifest's output entry against the program's declared output: a device reads
        the output the manifest names, with its shape and dtype."""
        problems = []
        t = self.program.types[self.output_name]
        if spec.get("name") != self.output_name:
            problems.append(f"{_OUT}.name {spec.get('name')!r} (program: {self.output_name!r})")
        if list(spec.get("shape", [])) != list(t.shape):
            problems.append(f"{_OUT}.shape {spec.get('shape')} (program: {list(t.shape)})")
        if _MANIFEST_DTYPES.get(str(spec.get("dtype"))) != t.dtype:
            problems.append(f"{_OUT}.dtype {spec.get('dtype')!r} (program: {t.dtype})")
        if spec.get("quantization") is not None:
            problems.append(f"{_OUT}.quantization: quantized output (Core ML bundles give floats)")
        return problems

    def _run(self, x: np.ndarray) -> np.ndarray:
        feed = to_layout(x, "NCHW", self.layout).astype(self.in_dtype)
        y = self.program.predict({self.input_name: np.ascontiguousarray(feed)})[self.output_name]
        return np.asarray(y, dtype=np.float32).reshape(x.shape[0], -1)

    def embed(self, batch: np.ndarray) -> np.ndarray:
        b = check_batch(batch)
        n = b.shape[0]
        step = self.batch
        if n % step:
            raise ValueError(
                f"{self.path}: batch of {n} is not a multiple of the model's fixed batch {step}"
            )
        out = (
            np.concatenate([self._run(b[i : i + step]) for i in range(0, n, step)])
            if n
            else np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        )
        return check_embeddings(out, n, str(self.path))

    def describe(self) -> dict[str, Any]:
        from .. import __version__

        return {
            "name": self.name,
            "version": __version__,
            "compute_unit": "cpu-numpy",
            "threads": 0,
            "precision": self.program.compute_precision,
            "input_dtype": self.in_dtype.name,
            "layout": self.layout,
        }
