"""Open an `.mlpackage` and run its ML program in numpy, on any OS, without coremltools.

coremltools converts and saves on Linux but refuses to predict there, so nothing else can check a
Core ML bundle's hashes in Linux CI. `MLProgram.open(path).predict({"image": x})` does: it reads
the model spec (wire reader, `mlmodel.py`), loads constants from the weight blob file (`blob.py`),
materialises the weight decompression ops at load time, and then executes the remaining ops in
program order (`ops.py`).

Never a wrong answer: an op type the executor does not implement, a parameter it does not
understand, or an op whose result disagrees with the shape or dtype the program declares, fails
with the op's type, position and name instead of computing something else.

Precision: programs typed fp32 run in float32. In programs typed fp16, every fp16-typed op output
is rounded to float16 (values are carried as exactly-representable float32). This is an
*approximation* of device behaviour: the GPU and Neural Engine keep fp16 intermediates but
accumulate convolutions and reductions with their own internal precision and order, which
numpy's float32 accumulation does not reproduce bit for bit. That order is the CPU's BLAS
kernels' own, so where a value sits on a float16 rounding boundary two machines can round it
differently: an fp16 program's hash can then differ by a fragile bit between machines (the
default coreml-fp16 bundle's 32 check images: 2 fragile flips on one x86 machine, 3 on an AVX-512
EPYC; the TFLite bundles were identical on both, and coreml-fp32 matched the reference exactly).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..errors import InputFileError, ModelError
from ..jsonfile import parse_json_bytes
from .blob import BlobError, BlobFile
from .mlmodel import (
    NUMPY_DTYPES,
    Feature,
    ModelSpec,
    Operation,
    SpecError,
    TensorType,
    Value,
    parse_model,
)
from .ops import COMPUTE_OPS, CONSTEXPR_OPS, OpError, decompress, round_to_fp16

DEFAULT_MODEL_PATH = "com.apple.CoreML/model.mlmodel"
MODEL_PATH_PREFIX = "@model_path/"


_BLAS_CONTROLLER: Any = None


def _blas_limit(threads: int | None) -> Any:
    """A context limiting BLAS threads during a prediction (threadpoolctl, a runtime dependency).

    Why: every matmul here is small (at most ~10 M multiply-adds), so a second BLAS thread gains
    little, while OpenBLAS threads spin-waiting on a busy 2-core machine cost more than they
    gain: benchmarks/results/coreml_executor.md measured the fp32 variant at 0.019 s/image with
    one BLAS thread and 0.038 s (3x the CPU time) with BLAS's default threads. The controller is
    created on first use because it inspects the loaded libraries."""
    global _BLAS_CONTROLLER
    if threads is None:
        return contextlib.nullcontext()
    if _BLAS_CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=threads, user_api="blas")


class CoreMLPackageError(ModelError):
    """An .mlpackage is missing pieces, corrupt, or not an ML program the executor can load."""


class UnsupportedOpError(CoreMLPackageError):
    """The program uses an op (or an op form) the executor does not implement."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        op_type: str,
        index: int,
        op_name: str,
        detail: str = "",
    ) -> None:
        self.op_type = op_type
        self.index = index
        self.op_name = op_name
        extra = f": {detail}" if detail else ""
        super().__init__(
            path, f"unsupported op {op_type!r} at position {index} (name {op_name!r}){extra}"
        )


def find_model_spec(package: Path) -> Path:
    """The root model spec of a package, located through its Manifest.json like Core ML does."""
    manifest = package / "Manifest.json"
    if not manifest.is_file():
        raise CoreMLPackageError(manifest, "package manifest is missing (not an .mlpackage?)")
    try:
        # Strict JSON (duplicate keys and NaN rejected), the policy of every nhkit reader.
        info = parse_json_bytes(manifest.read_bytes(), str(manifest), what="package manifest")
        root = info["rootModelIdentifier"]
        rel = info["itemInfoEntries"][root]["path"]
    except InputFileError as exc:
        raise CoreMLPackageError(manifest, f"unreadable package manifest: {exc.reason}") from None
    except OSError as exc:
        raise CoreMLPackageError(
            manifest, f"cannot read package manifest: {exc.strerror or exc}"
        ) from None
    except (KeyError, TypeError, IndexError) as exc:
        raise CoreMLPackageError(manifest, f"unreadable package manifest ({exc!r})") from None
    if not isinstance(rel, str) or rel.startswith("/") or ".." in PurePosixPath(rel).parts:
        raise CoreMLPackageError(manifest, f"root model path {rel!r} leaves the package")
    spec = package / "Data" / rel
    if not spec.is_file():
        raise CoreMLPackageError(spec, "model spec file is missing")
    return spec


@dataclass
class _Step:
    """One compute op, ready to run: resolved constant args and names of dynamic ones."""

    index: int
    op: Operation
    fn: Any
    const_args: dict[str, Any]
    dyn_args: dict[str, str]
    cache: dict[str, Any]


class MLProgram:
    """A loaded ML program: `predict` maps input arrays to output arrays."""

    def __init__(
        self, spec: ModelSpec, model_dir: Path, source: Path, function: str = "main"
    ) -> None:
        """Load `spec` whose `@model_path` is `model_dir`; `source` is named in errors."""
        self.source = source
        self.spec = spec
        self.model_dir = model_dir
        self._blobs: dict[Path, BlobFile] = {}
        if spec.program_version != 1:
            raise CoreMLPackageError(
                source, f"ML program version {spec.program_version}, expected 1"
            )
        if function not in spec.functions:
            raise CoreMLPackageError(
                source, f"program has no function {function!r} (has {sorted(spec.functions)})"
            )
        fn = spec.functions[function]
        try:
            self.block = fn.block
        except SpecError as exc:
            raise CoreMLPackageError(source, str(exc)) from None
        self.opset = fn.opset
        self.input_types: dict[str, TensorType] = dict(fn.inputs)
        self.output_names: tuple[str, ...] = self.block.outputs
        self.inputs: tuple[Feature, ...] = spec.inputs
        self.outputs: tuple[Feature, ...] = spec.outputs
        self.constants: dict[str, np.ndarray | str] = {}
        self.constexpr_values: dict[str, np.ndarray] = {}
        self.types: dict[str, TensorType] = dict(fn.inputs)
        self.steps: list[_Step] = []
        try:
            self._load()
        finally:
            for b in self._blobs.values():
                b.close()
            self._blobs.clear()
        self.compute_precision = (
            "fp16"
            if any(t.dtype == "fp16" for s in self.steps for _, t in s.op.outputs)
            else "fp32"
        )

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], function: str = "main") -> MLProgram:
        """Open an `.mlpackage` directory (or a bare `model.mlmodel` with `weights/` beside it)."""
        p = Path(path)
        if not p.exists():
            raise CoreMLPackageError(p, "no such model package")
        spec_path = find_model_spec(p) if p.is_dir() else p
        try:
            data = spec_path.read_bytes()
        except OSError as exc:
            raise CoreMLPackageError(
                spec_path, f"cannot read model spec ({exc.strerror})"
            ) from None
        try:
            spec = parse_model(data)
        except SpecError as exc:
            raise CoreMLPackageError(spec_path, str(exc)) from None
        return cls(spec, spec_path.parent, spec_path, function)

    def _blob_file(self, file_name: str) -> BlobFile:
        if not file_name.startswith(MODEL_PATH_PREFIX):
            raise CoreMLPackageError(
                self.source, f"weight file {file_name!r} is not under {MODEL_PATH_PREFIX}"
            )
        rel = PurePosixPath(file_name[len(MODEL_PATH_PREFIX) :])
        if rel.is_absolute() or ".." in rel.parts:
            raise CoreMLPackageError(self.source, f"weight file {file_name!r} leaves the package")
        path = self.model_dir.joinpath(*rel.parts)
        if path not in self._blobs:
            self._blobs[path] = BlobFile(path)  # raises BlobError naming the file
        return self._blobs[path]

    def _value(self, v: Value) -> np.ndarray | str:
        if v.immediate is not None:
            return v.immediate
        assert v.blob is not None
        shape = tuple(d for d in v.type.shape if d is not None)
        if len(shape) != len(v.type.shape):
            raise CoreMLPackageError(self.source, "blob value with an unknown dimension")
        return self._blob_file(v.blob.file_name).read(v.blob.offset, v.type.dtype, shape)

    def _load(self) -> None:
        for index, op in enumerate(self.block.operations):
            if op.has_blocks:
                raise UnsupportedOpError(
                    self.source,
                    op.type,
                    index,
                    op.name,
                    "control flow (nested blocks) is not supported",
                )
            if op.type == "const":
                self._load_const(index, op)
            elif op.type in CONSTEXPR_OPS:
                self._load_constexpr(index, op)
            elif op.type in COMPUTE_OPS:
                self._plan(index, op)
            else:
                raise UnsupportedOpError(self.source, op.type, index, op.name)
        for name in self.output_names:
            if name not in self.types:
                raise CoreMLPackageError(self.source, f"program output {name!r} is never computed")

    def _store_const(self, index: int, op: Operation, value: np.ndarray | str) -> None:
        if len(op.outputs) != 1:
            raise CoreMLPackageError(self.source, f"op #{index} {op.type} must have one output")
        name, t = op.outputs[0]
        if not isinstance(value, str):
            self._check(index, op, name, t, value)
            if value.dtype == np.float16:  # carried as float32 (exact), typed fp16
                value = value.astype(np.float32)
        self.constants[name] = value
        self.types[name] = t

    def _load_const(self, index: int, op: Operation) -> None:
        val = op.attributes.get("val")
        if val is None:
            raise CoreMLPackageError(self.source, f"const op #{index} {op.name!r} has no value")
        try:
            self._store_const(index, op, self._value(val))
        except BlobError:
            raise
        except (SpecError, ValueError) as exc:
            raise CoreMLPackageError(self.source, f"const op #{index} {op.name!r}: {exc}") from None

    def _load_constexpr(self, index: int, op: Operation) -> None:
        params: dict[str, Any] = {}
        for k, v in op.attributes.items():
            if k != "name":
                params[k] = self._value(v)
        for k, bindings in op.inputs.items():  # iOS18 constexpr ops may chain through inputs
            if len(bindings) != 1:
                raise UnsupportedOpError(
                    self.source,
                    op.type,
                    index,
                    op.name,
                    f"parameter {k!r} has {len(bindings)} bindings",
                )
            b = bindings[0]
            if b.value is not None:
                params[k] = self._value(b.value)
            elif b.name in self.constexpr_values:
                params[k] = self.constexpr_values[b.name]
            elif b.name in self.constants:
                params[k] = self.constants[b.name]
            else:
                raise UnsupportedOpError(
                    self.source, op.type, index, op.name, f"parameter {k!r} is not a constant"
                )
        try:
            value = decompress(op.type, params)
        except OpError as exc:
            raise UnsupportedOpError(self.source, op.type, index, op.name, str(exc)) from None
        self.constexpr_values[op.outputs[0][0]] = value
        self._store_const(index, op, value)

    def _plan(self, index: int, op: Operation) -> None:
        const_args: dict[str, Any] = {}
        dyn_args: dict[str, str] = {}
        for k, bindings in op.inputs.items():
            if len(bindings) != 1:
                raise UnsupportedOpError(
                    self.source,
                    op.type,
                    index,
                    op.name,
                    f"parameter {k!r} has {len(bindings)} bindings",
                )
            b = bindings[0]
            if b.value is not None:
                v = self._value(b.value)
                if isinstance(v, np.ndarray) and v.dtype == np.float16:
                    v = v.astype(np.float32)
                const_args[k] = v
            elif b.name in self.constants:
                const_args[k] = self.constants[b.name]
            elif b.name in self.types:
                dyn_args[k] = b.name
            else:
                raise CoreMLPackageError(
                    self.source,
                    f"op #{index} {op.type} {op.name!r} uses {b.name!r} before it is defined",
                )
        if len(op.outputs) != 1:
            raise UnsupportedOpError(
                self.source, op.type, index, op.name, f"{len(op.outputs)} outputs (expected 1)"
            )
        for name, t in op.outputs:
            self.types[name] = t
        self.steps.append(_Step(index, op, COMPUTE_OPS[op.type], const_args, dyn_args, {}))

    def _check(
        self, index: int, op: Operation, name: str, t: TensorType, value: np.ndarray
    ) -> None:
        """The value must have the declared shape (where known) and a matching dtype family."""
        shape = t.shape
        if len(shape) != value.ndim or any(
            d is not None and d != s for d, s in zip(shape, value.shape)
        ):
            raise CoreMLPackageError(
                self.source,
                f"op #{index} {op.type} {op.name!r}: output "
                f"{name!r} has shape {list(value.shape)}, the "
                f"program declares {list(shape)}",
            )
        want = NUMPY_DTYPES.get(t.dtype)
        ok = want is not None and (
            value.dtype == want or (t.dtype == "fp16" and value.dtype == np.float32)
        )
        if not ok:
            raise CoreMLPackageError(
                self.source,
                f"op #{index} {op.type} {op.name!r}: output "
                f"{name!r} is {value.dtype}, the program "
                f"declares {t.dtype}",
            )

    # -- running ---------------------------------------------------------------------------

    def predict(
        self, feeds: Mapping[str, np.ndarray], *, blas_threads: int | None = 1
    ) -> dict[str, np.ndarray]:
        """Run the program. Inputs must match the declared names, shapes and dtypes exactly
        (no implicit conversion, so a layout or dtype mistake fails instead of hashing wrong).
        Outputs come back in their declared dtype (fp16 outputs as float16).

        `blas_threads` caps BLAS threads for the call (see `_blas_limit`); None leaves BLAS as
        configured."""
        with _blas_limit(blas_threads):
            return self._predict(feeds)

    def _predict(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        env: dict[str, Any] = dict(self.constants)
        for name, t in self.input_types.items():
            if name not in feeds:
                raise ValueError(f"{self.source}: missing input {name!r}")
            x = np.asarray(feeds[name])
            want = NUMPY_DTYPES.get(t.dtype)
            if x.dtype != want:
                raise ValueError(f"{self.source}: input {name!r} must be {t.dtype}, got {x.dtype}")
            if x.ndim != len(t.shape) or any(
                d is not None and d != s for d, s in zip(t.shape, x.shape)
            ):
                raise ValueError(
                    f"{self.source}: input {name!r} must have shape "
                    f"{list(t.shape)}, got {list(x.shape)}"
                )
            env[name] = x.astype(np.float32) if t.dtype == "fp16" else x
        extra = set(feeds) - set(self.input_types)
        if extra:
            raise ValueError(f"{self.source}: unknown inputs {sorted(extra)}")
        for step in self.steps:
            args = dict(step.const_args)
            for k, ref in step.dyn_args.items():
                args[k] = env[ref]
            op = step.op
            try:
                y = step.fn(args, step.cache)
            except (OpError, KeyError, ValueError, TypeError) as exc:
                raise UnsupportedOpError(
                    self.source, op.type, step.index, op.name, f"{type(exc).__name__}: {exc}"
                ) from None
            name, t = op.outputs[0]
            if t.dtype == "fp16":
                y = round_to_fp16(np.asarray(y, dtype=np.float32))
            elif t.dtype == "fp32":
                y = np.asarray(y, dtype=np.float32)
            else:
                y = np.asarray(y)
            self._check(step.index, op, name, t, y)
            env[name] = y
        out: dict[str, np.ndarray] = {}
        for name in self.output_names:
            v = env[name]
            if self.types[name].dtype == "fp16":
                v = np.asarray(v).astype(np.float16)
            out[name] = np.asarray(v)
        return out

    def op_counts(self) -> dict[str, int]:
        """Op type -> count over the whole block (for reports and tests)."""
        counts: dict[str, int] = {}
        for op in self.block.operations:
            counts[op.type] = counts.get(op.type, 0) + 1
        return counts
