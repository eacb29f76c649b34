"""Read the weights and metadata of an ONNX file with the protobuf wire reader, no `onnx` package.

Why not `import onnx`: the model's identity (docs/bundle-format.md's weights fingerprint) is
needed by the light runtime (golden sets, `Hasher.identity`), which must not depend on the
export extra. An ONNX file is a protobuf `ModelProto`; the few messages the fingerprint needs
(GraphProto initializers, Constant nodes, TensorProto, metadata_props) are decoded here with the
same schema-less reader the Core ML executor uses (`coreml/wire.py`). Field numbers are those of
onnx/onnx.proto (Apache-2.0, the ONNX project).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .coreml.wire import Fields, WireError
from .errors import ModelError

# ModelProto
_MODEL_GRAPH = 7
_MODEL_METADATA = 14
# GraphProto
_GRAPH_NODE = 1
_GRAPH_INITIALIZER = 5
# NodeProto
_NODE_OUTPUT = 2
_NODE_OP_TYPE = 4
_NODE_ATTRIBUTE = 5
# AttributeProto
_ATTR_NAME = 1
_ATTR_TENSOR = 5
# TensorProto
_T_DIMS, _T_DATA_TYPE, _T_FLOAT, _T_INT32, _T_STRING, _T_INT64 = 1, 2, 4, 5, 6, 7
_T_NAME, _T_RAW, _T_DOUBLE, _T_UINT64, _T_EXTERNAL, _T_LOCATION = 8, 9, 10, 11, 13, 14
_LOCATION_EXTERNAL = 1

# TensorProto.DataType -> (numpy dtype, typed field holding the values when raw_data is absent).
# float16 values sit in int32_data as their 16-bit patterns; bool, (u)int8 and (u)int16 as ints.
_DTYPES: dict[int, tuple[np.dtype, int]] = {
    1: (np.dtype("<f4"), _T_FLOAT),
    2: (np.dtype("u1"), _T_INT32),
    3: (np.dtype("i1"), _T_INT32),
    4: (np.dtype("<u2"), _T_INT32),
    5: (np.dtype("<i2"), _T_INT32),
    6: (np.dtype("<i4"), _T_INT32),
    7: (np.dtype("<i8"), _T_INT64),
    9: (np.dtype("bool"), _T_INT32),
    10: (np.dtype("<f2"), _T_INT32),
    11: (np.dtype("<f8"), _T_DOUBLE),
    12: (np.dtype("<u4"), _T_UINT64),
    13: (np.dtype("<u8"), _T_UINT64),
}


@dataclass(frozen=True)
class OnnxWeights:
    """What identifies an ONNX model: its named weight tensors and its metadata properties."""

    tensors: dict[str, np.ndarray]
    metadata: dict[str, str]


def _tensor(t: Fields, base: Path, where: str) -> np.ndarray:
    code = t.int(_T_DATA_TYPE)
    if code not in _DTYPES:
        raise WireError(f"{where}: tensor data type {code} is not supported")
    dtype, typed_field = _DTYPES[code]
    dims = t.packed_varints(_T_DIMS, signed=True)
    if any(d < 0 for d in dims):
        raise WireError(f"{where}: negative dimension in {dims}")
    count = math.prod(dims)  # Python ints: a numpy product could wrap around to a small count
    raw: bytes | None
    if t.int(_T_LOCATION) == _LOCATION_EXTERNAL:
        raw = _external(t, base, where)
    else:
        raw_view = t.bytes(_T_RAW)
        raw = bytes(raw_view) if raw_view is not None else None
    if raw is not None:
        if len(raw) != count * dtype.itemsize:
            raise WireError(f"{where}: {len(raw)} data bytes for {count} {dtype.name} values")
        arr = np.frombuffer(raw, dtype=dtype)
    elif typed_field == _T_FLOAT:
        arr = t.packed_fixed(_T_FLOAT, "<f4")
    elif typed_field == _T_DOUBLE:
        arr = t.packed_fixed(_T_DOUBLE, "<f8")
    elif typed_field == _T_INT64:
        arr = np.array(t.packed_varints(_T_INT64, signed=True), dtype="<i8")
    elif typed_field == _T_UINT64:
        arr = np.array(t.packed_varints(_T_UINT64), dtype="<u8").astype(dtype)
    else:  # int32_data: two's complement varints
        vals = np.array(t.packed_varints(_T_INT32, signed=True), dtype=np.int64)
        if dtype == np.dtype("<f2"):
            arr = vals.astype("<u2").view("<f2")
        else:
            arr = vals.astype(dtype)
    if arr.size != count:
        raise WireError(f"{where}: {arr.size} values for shape {dims}")
    return arr.reshape(dims)


def _external(t: Fields, base: Path, where: str) -> bytes:
    """A tensor stored outside the .onnx file (onnx's external data: location, offset, length)."""
    info = {e.str(1): e.str(2) for e in t.messages(_T_EXTERNAL)}
    loc = info.get("location")
    if not loc:
        raise WireError(f"{where}: external data without a location")
    path = (base / loc).resolve()
    if base.resolve() not in path.parents:
        raise WireError(f"{where}: external data {loc!r} lies outside the model's folder")
    try:
        offset, length = int(info.get("offset", "0")), info.get("length")
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(int(length)) if length is not None else f.read()
    except (OSError, ValueError) as exc:
        raise WireError(f"{where}: cannot read external data {loc!r}: {exc}") from None


def read_onnx_weights(path: str | os.PathLike[str]) -> OnnxWeights:
    """Initializers and Constant-node tensors of the main graph (named by output), and
    metadata_props; a file that is not a readable ONNX model is a ModelError naming it."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelError(p, f"cannot read model file: {exc.strerror or exc}") from None
    try:
        model = Fields(data)
        graph = model.message(_MODEL_GRAPH)
        if graph is None:
            raise WireError("no graph")
        tensors: dict[str, np.ndarray] = {}
        for i, init in enumerate(graph.messages(_GRAPH_INITIALIZER)):
            tensors[init.str(_T_NAME)] = _tensor(init, p.parent, f"initializer {i}")
        for i, node in enumerate(graph.messages(_GRAPH_NODE)):
            if node.str(_NODE_OP_TYPE) != "Constant":
                continue
            for attr in node.messages(_NODE_ATTRIBUTE):
                t = attr.message(_ATTR_TENSOR)
                if attr.str(_ATTR_NAME) == "value" and t is not None:
                    outputs = node.strings(_NODE_OUTPUT)
                    if not outputs:
                        raise WireError(f"Constant node {i} has no output")
                    tensors[outputs[0]] = _tensor(t, p.parent, f"Constant node {i}")
        metadata = {e.str(1): e.str(2) for e in model.messages(_MODEL_METADATA)}
    except (WireError, RecursionError) as exc:
        raise ModelError(p, f"not a readable ONNX model: {exc}") from None
    return OnnxWeights(tensors=tensors, metadata=metadata)
