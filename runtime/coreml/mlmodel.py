"""The parts of a Core ML model spec (Model.proto, FeatureTypes.proto, MIL.proto) the executor
needs, decoded with the wire reader in `wire.py` into small immutable Python objects.

Field numbers are those of coremltools' `mlmodel/format/*.proto` (BSD-3-Clause, Apple Inc.).
Only ML programs (`Model.mlProgram`, field 502) with tensor-typed values are supported; anything
else (neural networks, pipelines, lists, dictionaries, images) is rejected by name rather than
half-decoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .wire import Fields, WireError

# MILSpec.DataType enum -> short MIL name (the names coremltools prints: fp16, int8, ...)
MIL_DTYPES: dict[int, str] = {
    1: "bool",
    2: "string",
    10: "fp16",
    11: "fp32",
    12: "fp64",
    13: "bf16",
    21: "int8",
    22: "int16",
    23: "int32",
    24: "int64",
    25: "int4",
    31: "uint8",
    32: "uint16",
    33: "uint32",
    34: "uint64",
    35: "uint4",
    36: "uint2",
    37: "uint1",
    38: "uint6",
    39: "uint3",
    40: "fp8e4m3fn",
    41: "fp8e5m2",
}

# numpy dtypes for MIL types that have one (sub-byte types unpack to (u)int8)
NUMPY_DTYPES: dict[str, np.dtype] = {
    "bool": np.dtype(np.bool_),
    "fp16": np.dtype(np.float16),
    "fp32": np.dtype(np.float32),
    "fp64": np.dtype(np.float64),
    "int8": np.dtype(np.int8),
    "int16": np.dtype(np.int16),
    "int32": np.dtype(np.int32),
    "int64": np.dtype(np.int64),
    "uint8": np.dtype(np.uint8),
    "uint16": np.dtype(np.uint16),
    "uint32": np.dtype(np.uint32),
    "uint64": np.dtype(np.uint64),
    "int4": np.dtype(np.int8),
    "uint1": np.dtype(np.uint8),
    "uint2": np.dtype(np.uint8),
    "uint3": np.dtype(np.uint8),
    "uint4": np.dtype(np.uint8),
    "uint6": np.dtype(np.uint8),
}
SUB_BYTE_BITS: dict[str, int] = {
    "int4": 4,
    "uint1": 1,
    "uint2": 2,
    "uint3": 3,
    "uint4": 4,
    "uint6": 6,
}

# ArrayFeatureType.ArrayDataType -> MIL name
ARRAY_DTYPES: dict[int, str] = {
    65568: "fp32",
    65600: "fp64",
    131104: "int32",
    131080: "int8",
    65552: "fp16",
}

# Model.Type oneof field numbers -> names, to say what a non-ML-program model is
_MODEL_TYPES: dict[int, str] = {
    200: "pipelineClassifier",
    201: "pipelineRegressor",
    202: "pipeline",
    303: "neuralNetworkRegressor",
    403: "neuralNetworkClassifier",
    500: "neuralNetwork",
    502: "mlProgram",
    555: "customModel",
    556: "linkedModel",
}


class SpecError(ValueError):
    """The model spec is well-formed protobuf but not something the executor can run."""


@dataclass(frozen=True)
class TensorType:
    """A MIL tensor type; `shape` entries are None for unknown dimensions."""

    dtype: str
    shape: tuple[int | None, ...]


@dataclass(frozen=True)
class BlobRef:
    """A `BlobFileValue`: a tensor stored in a weight file, addressed by its metadata offset."""

    file_name: str
    offset: int


@dataclass(frozen=True)
class Value:
    """A MIL `Value`: either an immediate numpy array/string or a reference into a blob file."""

    type: TensorType
    immediate: np.ndarray | str | None = None
    blob: BlobRef | None = None


@dataclass(frozen=True)
class Binding:
    """One `Argument.Binding`: a variable name or an inline value."""

    name: str | None = None
    value: Value | None = None


@dataclass(frozen=True)
class Operation:
    type: str
    inputs: dict[str, tuple[Binding, ...]]
    outputs: tuple[tuple[str, TensorType], ...]
    attributes: dict[str, Value]
    has_blocks: bool = False

    @property
    def name(self) -> str:
        """The op's `name` attribute (coremltools always writes one), else its first output."""
        a = self.attributes.get("name")
        if a is not None and isinstance(a.immediate, str):
            return a.immediate
        return self.outputs[0][0] if self.outputs else "?"


@dataclass(frozen=True)
class Block:
    inputs: tuple[tuple[str, TensorType], ...]
    outputs: tuple[str, ...]
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class Function:
    inputs: tuple[tuple[str, TensorType], ...]
    opset: str
    blocks: dict[str, Block]

    @property
    def block(self) -> Block:
        """The block for the function's own opset (the one Core ML would run)."""
        if self.opset in self.blocks:
            return self.blocks[self.opset]
        if len(self.blocks) == 1:
            return next(iter(self.blocks.values()))
        raise SpecError(
            f"function has no block for its opset {self.opset!r} (has {sorted(self.blocks)})"
        )


@dataclass(frozen=True)
class Feature:
    """A model-level input/output description (multi-array features only)."""

    name: str
    dtype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class ModelSpec:
    specification_version: int
    inputs: tuple[Feature, ...]
    outputs: tuple[Feature, ...]
    functions: dict[str, Function] = field(default_factory=dict)
    program_version: int = 1


# ---------------------------------------------------------------------------------------------
# decoding


def _tensor_type(vt: Fields | None, where: str) -> TensorType:
    if vt is None:
        raise SpecError(f"{where}: value has no type")
    tt = vt.message(1)
    if tt is None:
        kinds = {2: "list", 3: "tuple", 4: "dictionary", 5: "state"}
        kind = next((kinds[n] for n in vt.numbers() if n in kinds), "unknown")
        raise SpecError(f"{where}: {kind} values are not supported (tensors only)")
    code = tt.uint(1)
    dtype = MIL_DTYPES.get(code)
    if dtype is None:
        raise SpecError(f"{where}: unknown MIL data type code {code}")
    dims: list[int | None] = []
    for d in tt.messages(3):
        const = d.message(1)
        dims.append(const.uint(1) if const is not None else None)
    rank = tt.int(2)
    if rank != len(dims) and not (rank == 0 and not dims):
        raise SpecError(f"{where}: tensor rank {rank} but {len(dims)} dimensions")
    return TensorType(dtype, tuple(dims))


def _named_types(msgs: list[Fields], where: str) -> tuple[tuple[str, TensorType], ...]:
    return tuple((m.str(1), _tensor_type(m.message(2), f"{where} {m.str(1)!r}")) for m in msgs)


def _immediate(tv: Fields, t: TensorType, where: str) -> np.ndarray | str:
    """Decode a TensorValue the way coremltools writes it (see its backend `helper.py`):
    fp32 -> floats, int32/int16/uint16 -> ints, int64 -> longInts, bool -> bools, strings ->
    strings, fp64 -> doubles, and fp16/int8/uint8/uint32/sub-byte types -> raw little-endian
    bytes (sub-byte values packed LSB first)."""
    from .blob import unpack_sub_byte  # local: avoid an import cycle

    shape = tuple(int(d) if d is not None else -1 for d in t.shape)
    if any(d < 0 for d in shape):
        raise SpecError(f"{where}: immediate value with an unknown dimension")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    kind = next((n for n in (1, 2, 3, 4, 5, 6, 7) if tv.has(n)), None)
    if kind is None:
        if count == 0:
            return np.zeros(shape, dtype=NUMPY_DTYPES.get(t.dtype, np.float32))
        raise SpecError(f"{where}: empty immediate value")
    payload = tv.message(kind)
    assert payload is not None
    if kind == 4:  # strings
        vals = payload.strings(1)
        if t.dtype == "string" and not shape:
            if len(vals) != 1:
                raise SpecError(f"{where}: scalar string with {len(vals)} values")
            return vals[0]
        raise SpecError(f"{where}: string tensors are not supported")
    npdt = NUMPY_DTYPES.get(t.dtype)
    if npdt is None:
        raise SpecError(f"{where}: immediate values of type {t.dtype} are not supported")
    if kind == 1:
        arr = payload.packed_fixed(1, "<f4")
    elif kind == 6:
        arr = payload.packed_fixed(1, "<f8")
    elif kind == 2:
        arr = np.array(payload.packed_varints(1, signed=True), dtype=np.int64)
    elif kind == 5:
        arr = np.array(payload.packed_varints(1, signed=True), dtype=np.int64)
    elif kind == 3:
        arr = np.array(payload.packed_varints(1), dtype=np.int64) != 0
    else:  # 7: bytes
        raw = payload.bytes(1)
        raw_b = bytes(raw) if raw is not None else b""
        if t.dtype in SUB_BYTE_BITS:
            arr = unpack_sub_byte(raw_b, t.dtype, count, where)
        else:
            if len(raw_b) != count * npdt.itemsize:
                raise SpecError(f"{where}: {len(raw_b)} bytes for {count} x {t.dtype}")
            arr = np.frombuffer(raw_b, dtype=npdt.newbyteorder("<")).astype(npdt)
    if arr.size != count:
        raise SpecError(f"{where}: {arr.size} values for shape {list(shape)}")
    return arr.astype(npdt, copy=False).reshape(shape)


def _value(v: Fields, where: str) -> Value:
    t = _tensor_type(v.message(2), where)
    imm = v.message(3)
    blob = v.message(5)
    if imm is not None:
        tensor = imm.message(1)
        if tensor is None:
            raise SpecError(f"{where}: only tensor immediate values are supported")
        return Value(t, immediate=_immediate(tensor, t, where))
    if blob is not None:
        return Value(t, blob=BlobRef(blob.str(1), blob.uint(2)))
    raise SpecError(f"{where}: value has neither an immediate nor a blob file value")


def _operation(op: Fields, where: str) -> Operation:
    op_type = op.str(1)
    here = f"{where} op {op_type!r}"
    inputs: dict[str, tuple[Binding, ...]] = {}
    for name, arg in op.map(2).items():
        bindings = []
        for b in arg.messages(1):
            if b.has(1):
                bindings.append(Binding(name=b.str(1)))
            elif b.has(2):
                vb = b.message(2)
                assert vb is not None
                bindings.append(Binding(value=_value(vb, f"{here} input {name!r}")))
            else:
                raise SpecError(f"{here}: input {name!r} has an empty binding")
        inputs[name] = tuple(bindings)
    outputs = _named_types(op.messages(3), f"{here} output")
    attributes = {k: _value(v, f"{here} attribute {k!r}") for k, v in op.map(5).items()}
    return Operation(op_type, inputs, outputs, attributes, has_blocks=op.has(4))


def _block(b: Fields, where: str) -> Block:
    ops = tuple(_operation(o, f"{where} #{i}") for i, o in enumerate(b.messages(3)))
    return Block(_named_types(b.messages(1), f"{where} input"), tuple(b.strings(2)), ops)


def _feature(f: Fields, where: str) -> Feature:
    name = f.str(1)
    ft = f.message(3)
    arr = ft.message(5) if ft is not None else None
    if arr is None:
        raise SpecError(
            f"{where} {name!r}: only multi-array features are supported "
            "(image, dictionary and sequence features are not)"
        )
    code = arr.uint(2)
    dtype = ARRAY_DTYPES.get(code)
    if dtype is None:
        raise SpecError(f"{where} {name!r}: unknown multi-array data type {code}")
    return Feature(name, dtype, tuple(arr.packed_varints(1, signed=True)))


def parse_model(data: bytes) -> ModelSpec:
    """Decode a serialized `CoreML.Specification.Model` holding an ML program."""
    try:
        model = Fields(data)
        version = model.int(1)
        prog = model.message(502)
        if prog is None:
            present = [_MODEL_TYPES.get(n, f"field {n}") for n in model.numbers() if n >= 200]
            raise SpecError(
                f"not an ML program (model type: {', '.join(present) if present else 'none'})"
            )
        desc = model.message(2)
        inputs = tuple(_feature(f, "input") for f in desc.messages(1)) if desc else ()
        outputs = tuple(_feature(f, "output") for f in desc.messages(10)) if desc else ()
        functions: dict[str, Function] = {}
        for fname, fn in prog.map(2).items():
            blocks = {k: _block(b, f"function {fname!r} block {k!r}") for k, b in fn.map(3).items()}
            functions[fname] = Function(
                _named_types(fn.messages(1), f"function {fname!r} input"), fn.str(2), blocks
            )
        return ModelSpec(version, inputs, outputs, functions, prog.int(1))
    except WireError as exc:
        raise SpecError(f"corrupt model spec: {exc}") from None
