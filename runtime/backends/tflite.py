"""TFLite / LiteRT backend: runs a bundle's model.tflite exactly as a phone would feed it.

Why it lives in the runtime (not export/): `nhkit selftest` and golden checks run TFLite bundles
on servers too, and the int8 input quantization implemented here is the normative one the
bridges copy (docs/bundle-format.md): a device that quantizes differently would drift."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError, NhkitError
from ..spec import EMBEDDING_DIM, INPUT_SIZE
from ..tensor import NORMALISE_TABLE, Layout, to_layout
from .base import check_batch, check_embeddings


def round_half_away(x: np.ndarray) -> np.ndarray:
    """Round to nearest, ties away from zero (C `roundf`, Swift `.rounded()`), in float64.

    float32 inputs are exact in float64, and |x| + 0.5 is exact there too, so this is the exact
    mathematical rounding of the float32 quotient, reproducible in every language."""
    x64 = np.asarray(x, dtype=np.float64)
    return np.sign(x64) * np.floor(np.abs(x64) + 0.5)


def quantize_input(t: np.ndarray, scale: float, zero_point: int, offset: float = 0.0) -> np.ndarray:
    """Spec values -> int8: clamp(round_half_away(float32(t - offset) / float32(scale)) + zp).

    The subtraction and the division are float32 (each one correctly rounded IEEE operation), so
    every platform gets the same quotient; rounding and clamping are exact. `offset` is what the
    model adds back after dequantizing its input (INPUT_OFFSET_TENSOR); 0 leaves t as it is."""
    shifted = np.asarray(t, dtype=np.float32) - np.float32(offset)
    q = shifted / np.float32(scale)
    return np.clip(round_half_away(q) + int(zero_point), -128, 127).astype(np.int8)


def input_lut(scale: float, zero_point: int, offset: float = 0.0) -> list[int]:
    """The int8 value for each pixel byte 0..255 (quantize_input of the spec's normalise table).

    Written into int8-input manifests so a bridge can quantize by table lookup on the RGB bytes,
    bit-identical to this backend without reimplementing float rounding."""
    return [int(v) for v in quantize_input(NORMALISE_TABLE, scale, zero_point, offset)]


# The name of the tensor an int8-input model computes as DEQUANTIZE(input) + constant: the mark
# that the constant is the input's offset (the export's exact int8 input, docs/bundle-format.md:
# a zero point of -128 and an offset of -1 hold the spec's 256 values exactly, which no integer
# zero point alone can). A reader takes the offset from the model, never guesses it from an ADD.
INPUT_OFFSET_TENSOR = "nhkit_input_offset"


def model_input_offset(interp: Any, input_index: int) -> float:
    """The offset an int8-input model adds to its dequantized input (0.0 when it adds none):
    the constant of the ADD that writes INPUT_OFFSET_TENSOR from DEQUANTIZE(input)."""
    ops = interp._get_ops_details()  # noqa: SLF001 (the interpreter's only op listing)
    names = {int(d["index"]): d["name"] for d in interp.get_tensor_details()}
    dq = [o for o in ops if o["op_name"] == "DEQUANTIZE" and input_index in set(o["inputs"])]
    if len(dq) != 1:
        return 0.0
    dq_out = int(dq[0]["outputs"][0])
    for o in ops:
        if o["op_name"] != "ADD" or names.get(int(o["outputs"][0])) != INPUT_OFFSET_TENSOR:
            continue
        ins = [int(i) for i in o["inputs"]]
        if dq_out not in ins or len(ins) != 2:
            raise ValueError(f"{INPUT_OFFSET_TENSOR} does not add a constant to the input")
        const = np.asarray(interp.get_tensor(ins[1 - ins.index(dq_out)]), dtype=np.float32)
        if const.size != 1:
            raise ValueError(f"{INPUT_OFFSET_TENSOR} adds {const.size} values, not one constant")
        return float(const.reshape(()))
    return 0.0


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """(q - zero_point) * scale in float32, as the manifest specifies for int8 outputs."""
    return (np.asarray(q, dtype=np.int32) - int(zero_point)).astype(np.float32) * np.float32(scale)


# The manifest fields a mismatch is reported under (as jsonfile.field_path writes them).
_IN = "model.inputs[0]"
_OUT = "model.outputs[0]"


class TfliteBackend:
    """An EmbeddingBackend over ai_edge_litert's Interpreter.

    Accepts the canonical NCHW float32 batch; converts to the model's layout (inferred from the
    input shape, or given) and dtype (int8 input quantized with the model's scale/zero point,
    int8 output dequantized), and loops over the batch when the model is fixed at batch 1."""

    name = "litert"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        threads: int | None = None,
        input_spec: Mapping[str, Any] | None = None,
        output_spec: Mapping[str, Any] | None = None,
    ) -> None:
        """`input_spec` / `output_spec`: a bundle manifest's input and output entries, checked
        against the model (see _input_problems, _output_problems)."""
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise NhkitError(
                "running a TFLite bundle needs the LiteRT runtime, which the light "
                "install leaves out: pip install 'nhkit[tflite]'"
            ) from None

        self.path = Path(model_path)
        if not self.path.is_file():
            raise ModelError(self.path, "TFLite model file not found")
        self.threads = threads
        try:
            self.interp = Interpreter(
                model_path=str(self.path), num_threads=int(threads) if threads else None
            )
            self.interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            msg = str(exc).strip().splitlines()
            raise ModelError(
                self.path, f"not a loadable TFLite model: {msg[0][:300] if msg else exc}"
            ) from None
        ins, outs = self.interp.get_input_details(), self.interp.get_output_details()
        if len(ins) != 1 or len(outs) != 1:
            raise ModelError(
                self.path,
                f"expected 1 input and 1 output, found {len(ins)} inputs and {len(outs)} outputs",
            )
        self.inp, self.out = ins[0], outs[0]
        shape = tuple(int(v) for v in self.inp["shape"])
        layout: Layout | None = None
        if len(shape) == 4 and shape[1:] == (INPUT_SIZE, INPUT_SIZE, 3):
            layout = "NHWC"
        elif len(shape) == 4 and shape[1:] == (3, INPUT_SIZE, INPUT_SIZE):
            layout = "NCHW"
        if layout is None:
            raise ModelError(
                self.path,
                f"expected input [1,{INPUT_SIZE},{INPUT_SIZE},3] (NHWC) "
                f"or [1,3,{INPUT_SIZE},{INPUT_SIZE}] (NCHW), found {list(shape)}",
            )
        self.layout: Layout = layout
        self.batch = shape[0]
        self.in_dtype = np.dtype(self.inp["dtype"])
        self.out_dtype = np.dtype(self.out["dtype"])
        if self.in_dtype not in (np.float32, np.int8) or self.out_dtype not in (
            np.float32,
            np.int8,
        ):
            raise ModelError(
                self.path,
                f"unsupported I/O dtypes {self.in_dtype.name} -> "
                f"{self.out_dtype.name} (float32 or int8 expected)",
            )
        if int(np.prod(self.out["shape"])) != EMBEDDING_DIM * self.batch:
            raise ModelError(
                self.path,
                f"expected an output of {EMBEDDING_DIM} floats per image, "
                f"found shape {list(self.out['shape'])}",
            )
        self.in_q = self.inp["quantization"]
        self.in_offset = 0.0
        if self.in_dtype == np.int8:
            try:
                self.in_offset = model_input_offset(self.interp, int(self.inp["index"]))
            except ValueError as exc:
                raise ModelError(self.path, f"int8 input: {exc}") from None
        self.out_q = self.out["quantization"]
        problems = []
        if input_spec is not None:
            problems += self._input_problems(input_spec, shape)
        if output_spec is not None:
            problems += self._output_problems(output_spec)
        if problems:
            raise ModelError(
                self.path,
                "bundle manifest does not match the TFLite model: " + "; ".join(problems),
            )

    def _input_problems(self, spec: Mapping[str, Any], shape: tuple[int, ...]) -> list[str]:
        """A bundle manifest's input entry must describe this model exactly: a device feeds the
        model what the manifest says (shape, dtype, layout, int8 quantization and its lookup
        table), so a manifest that disagrees would make every device hash wrong. Problems are
        named by manifest field (`model.inputs[0].shape`)."""
        problems = []
        if list(spec.get("shape", [])) != list(shape):
            problems.append(f"{_IN}.shape {spec.get('shape')} (model: {list(shape)})")
        if spec.get("dtype") != self.in_dtype.name:
            problems.append(f"{_IN}.dtype {spec.get('dtype')!r} (model: {self.in_dtype.name})")
        if spec.get("layout") != self.layout:
            problems.append(f"{_IN}.layout {spec.get('layout')!r} (model shape says {self.layout})")
        q = spec.get("quantization")
        if self.in_dtype == np.int8:
            scale, zero_point = float(self.in_q[0]), int(self.in_q[1])
            if not isinstance(q, Mapping):
                problems.append(f"{_IN}.quantization missing (the model takes int8 input)")
            else:
                offset = q.get("offset", 0.0)
                if q.get("scale") != scale or q.get("zero_point") != zero_point:
                    problems.append(
                        f"{_IN}.quantization scale {q.get('scale')!r} / zero point "
                        f"{q.get('zero_point')!r} (model: {scale!r} / "
                        f"{zero_point})"
                    )
                elif offset != self.in_offset:
                    problems.append(
                        f"{_IN}.quantization.offset {offset!r} (model adds {self.in_offset!r} "
                        "to its dequantized input)"
                    )
                elif "lut" in q and q["lut"] != input_lut(scale, zero_point, self.in_offset):
                    problems.append(
                        f"{_IN}.quantization.lut is not the model's input quantization "
                        "of the 256 pixel values"
                    )
        elif q is not None:
            problems.append(f"{_IN}.quantization given (the model takes float input)")
        return problems

    def _output_problems(self, spec: Mapping[str, Any]) -> list[str]:
        """The manifest's output entry must be the model's output: a device reads the output
        buffer with the manifest's shape, dtype and int8 scale/zero point (this backend uses the
        model's own, so without this check Python would hash right and every device wrong)."""
        problems = []
        shape = [int(v) for v in self.out["shape"]]
        if list(spec.get("shape", [])) != shape:
            problems.append(f"{_OUT}.shape {spec.get('shape')} (model: {shape})")
        if spec.get("dtype") != self.out_dtype.name:
            problems.append(f"{_OUT}.dtype {spec.get('dtype')!r} (model: {self.out_dtype.name})")
        q = spec.get("quantization")
        if self.out_dtype == np.int8:
            scale, zero_point = float(self.out_q[0]), int(self.out_q[1])
            if not isinstance(q, Mapping):
                problems.append(f"{_OUT}.quantization missing (the model gives int8 output)")
            elif q.get("scale") != scale or q.get("zero_point") != zero_point:
                problems.append(
                    f"{_OUT}.quantization scale {q.get('scale')!r} / zero point "
                    f"{q.get('zero_point')!r} (model: {scale!r} / {zero_point})"
                )
        elif q is not None:
            problems.append(f"{_OUT}.quantization given (the model gives float output)")
        return problems

    def _prepare(self, chunk: np.ndarray) -> np.ndarray:
        x = to_layout(chunk, "NCHW", self.layout)
        if self.in_dtype == np.int8:
            return quantize_input(x, self.in_q[0], self.in_q[1], self.in_offset)
        return np.ascontiguousarray(x, dtype=np.float32)

    def _run(self, x: np.ndarray) -> np.ndarray:
        self.interp.set_tensor(self.inp["index"], x)
        self.interp.invoke()
        y = self.interp.get_tensor(self.out["index"])
        if self.out_dtype == np.int8:
            return dequantize(y, self.out_q[0], self.out_q[1])
        return np.asarray(y, dtype=np.float32).copy()

    def embed(self, batch: np.ndarray) -> np.ndarray:
        b = check_batch(batch)
        n = b.shape[0]
        if self.batch == n:
            out = self._run(self._prepare(b)).reshape(n, -1)
        else:
            step = self.batch
            if n % step:
                raise ValueError(
                    f"{self.path}: batch of {n} is not a multiple of the model's fixed batch {step}"
                )
            out = np.concatenate(
                [
                    self._run(self._prepare(b[i : i + step])).reshape(step, -1)
                    for i in range(0, n, step)
                ]
            )
        return check_embeddings(out, n, str(self.path))

    def describe(self) -> dict[str, Any]:
        try:
            from ai_edge_litert import __version__ as version
        except ImportError:  # pragma: no cover
            version = "unknown"
        return {
            "name": "litert",
            "version": str(version),
            "compute_unit": "xnnpack",
            "threads": self.threads or 0,
            "input_dtype": self.in_dtype.name,
            "layout": self.layout,
        }
