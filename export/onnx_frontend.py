"""ONNX front end: load, check, simplify and lower a NeuralHash-format model to the internal graph.

The internal graph and its op vocabulary are in ir.py; this module only reads ONNX (with the
`onnx` package of the export extra) and emits those ops, so an unsupported model fails here with
a list of offending ops instead of a stack trace deep inside a converter.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from nhkit.runtime.digest import weights_fingerprint
from nhkit.runtime.errors import ModelError
from nhkit.runtime.spec import EMBEDDING_DIM, INPUT_SIZE

from .ir import Graph, Node, UnsupportedModelError, node_shape

EXPECTED_INPUT = (1, 3, INPUT_SIZE, INPUT_SIZE)

# ONNX op types the lowering understands. Everything else is reported as unsupported.
SUPPORTED_ONNX_OPS: frozenset[str] = frozenset(
    {
        "Conv",
        "BatchNormalization",
        "Pad",
        "Relu",
        "Clip",
        "HardSwish",
        "HardSigmoid",
        "Sigmoid",
        "Add",
        "Sub",
        "Mul",
        "Div",
        "GlobalAveragePool",
        "ReduceMean",
        "Flatten",
        "Gemm",
        "MatMul",
        "Reshape",
        "Squeeze",
        "Unsqueeze",
        "Identity",
        "Dropout",
        "Constant",
        "Slice",
        "Resize",
    }
)


class SimplifyWarning(UserWarning):
    """onnxsim failed; the unsimplified model is lowered instead (usually still fine)."""


class ModelInterfaceError(ModelError):
    """The model's input or output does not have the NeuralHash interface."""


# --------------------------------------------------------------------------------------------
# Loading, fingerprint, simplification


def load_onnx(path: str | os.PathLike[str]) -> Any:
    """Read and structurally check an ONNX file; any failure is a ModelError naming the file."""
    import onnx

    p = Path(path)
    if not p.exists():
        raise ModelError(p, "model file does not exist")
    if not p.is_file():
        raise ModelError(p, "model path is not a file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelError(p, f"cannot read model file: {exc.strerror or exc}") from None
    if not data:
        raise ModelError(p, "model file is empty")
    try:
        model = onnx.load_from_string(data)
    except Exception as exc:  # protobuf DecodeError and friends
        raise ModelError(p, f"not a valid ONNX model (cannot parse protobuf: {exc})") from None
    if not model.graph.node:
        raise ModelError(p, "not a valid ONNX model (the graph has no nodes)")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ModelError(p, f"ONNX model fails the ONNX checker: {exc}") from None
    return model


def model_fingerprint(model: Any) -> str:
    """docs/bundle-format.md's weights fingerprint of a loaded onnx ModelProto.

    The formula is nhkit.runtime.digest.weights_fingerprint (the runtime reads files without
    the onnx package: digest.onnx_fingerprint); this extracts the tensors with onnx's own
    numpy_helper, which the tests use to check the runtime's reader against."""
    from onnx import numpy_helper

    tensors: dict[str, np.ndarray] = {}
    for init in model.graph.initializer:
        tensors[init.name] = numpy_helper.to_array(init)
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    tensors[node.output[0]] = numpy_helper.to_array(a.t)
    return weights_fingerprint(tensors)


def simplify(model: Any) -> Any:
    """Run onnxsim with the batch fixed to 1 so shape arithmetic (Shape/Gather/Concat) folds away.

    The internal graph still treats the batch as free: reshapes keep dim 0 as the batch. If
    onnxsim is missing or fails, warn and return the model unchanged: the lowering handles a
    plain exported model, onnxsim only removes clutter."""
    try:
        import onnxsim
    except ImportError:
        warnings.warn(
            "onnxsim is not installed; lowering the model without simplification",
            SimplifyWarning,
            stacklevel=2,
        )
        return model
    inp = _graph_inputs(model)
    overwrite = {inp[0].name: list(EXPECTED_INPUT)} if len(inp) == 1 else None
    try:
        simplified, _ = onnxsim.simplify(model, check_n=0, overwrite_input_shapes=overwrite)
    except Exception as exc:
        warnings.warn(
            f"onnxsim failed ({type(exc).__name__}: {exc}); lowering the model "
            "without simplification",
            SimplifyWarning,
            stacklevel=2,
        )
        return model
    return simplified


def load_graph(path: str | os.PathLike[str], *, use_onnxsim: bool = True) -> Graph:
    """The whole front end: file -> checked, simplified, lowered internal graph."""
    model = load_onnx(path)
    check_interface(model, source=str(path))
    dynamic = isinstance(_dims(_graph_inputs(model)[0])[0], str)
    if use_onnxsim:
        model = simplify(model)  # fixes the batch to 1, so remember what it was
    graph = lower(model, source=str(path))
    graph.dynamic_batch = dynamic
    return graph


# --------------------------------------------------------------------------------------------
# Interface check


def _graph_inputs(model: Any) -> list[Any]:
    init_names = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in init_names]


def _dims(value_info: Any) -> list[int | str]:
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return []
    out: list[int | str] = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        else:
            out.append(d.dim_param or "?")
    return out


def _fmt_dims(dims: Iterable[int | str]) -> str:
    return "[" + ",".join(str(d) for d in dims) + "]"


def check_interface(model: Any, *, source: str = "model") -> None:
    """One float32 input [N or 1, 3, 360, 360] and one output with 128 values per image."""
    from onnx import TensorProto

    inputs = _graph_inputs(model)
    if len(inputs) != 1:
        raise ModelInterfaceError(
            source,
            f"expected exactly 1 input (float32 [N,3,{INPUT_SIZE},{INPUT_SIZE}]), found "
            f"{len(inputs)}: {[i.name for i in inputs]}",
        )
    inp = inputs[0]
    elem = inp.type.tensor_type.elem_type
    dims = _dims(inp)
    ok_shape = (
        len(dims) == 4
        and (dims[0] == 1 or isinstance(dims[0], str))
        and dims[1:] == [3, INPUT_SIZE, INPUT_SIZE]
    )
    if elem != TensorProto.FLOAT or not ok_shape:
        raise ModelInterfaceError(
            source,
            f"input {inp.name!r}: expected float32 [N or 1,3,{INPUT_SIZE},{INPUT_SIZE}] "
            f"(NCHW), found {TensorProto.DataType.Name(elem).lower()} {_fmt_dims(dims)}",
        )
    outputs = list(model.graph.output)
    if len(outputs) != 1:
        raise ModelInterfaceError(
            source,
            f"expected exactly 1 output ({EMBEDDING_DIM} floats), found {len(outputs)}: "
            f"{[o.name for o in outputs]}",
        )
    out = outputs[0]
    odims = _dims(out)
    oelem = out.type.tensor_type.elem_type
    known = [d for d in odims[1:] if isinstance(d, int)]
    ok_out = (
        len(odims) >= 2
        and len(known) == len(odims) - 1
        and int(np.prod(known)) == EMBEDDING_DIM
        and (odims[0] == 1 or isinstance(odims[0], str))
    )
    if oelem != TensorProto.FLOAT or not ok_out:
        raise ModelInterfaceError(
            source,
            f"output {out.name!r}: expected float32 [N,{EMBEDDING_DIM}] (or [N,"
            f"{EMBEDDING_DIM},1,1]), found {TensorProto.DataType.Name(oelem).lower()} "
            f"{_fmt_dims(odims)}",
        )


# --------------------------------------------------------------------------------------------
# Lowering


_SAFE = re.compile(r"[^A-Za-z0-9_]")


class _Lowerer:
    """Walks the ONNX nodes once, emitting internal nodes and tracking every value's shape."""

    def __init__(self, model: Any, source: str) -> None:
        from onnx import numpy_helper

        self.source = source
        self.model = model
        self.consts: dict[str, np.ndarray] = {}
        for init in model.graph.initializer:
            self.consts[init.name] = numpy_helper.to_array(init)
        self.alias: dict[str, str] = {}  # ONNX value -> internal value (Identity etc.)
        self.names: dict[str, str] = {}  # ONNX value name -> sanitized internal name
        self.used: set[str] = set()
        self.nodes: list[Node] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.graph_consts: dict[str, np.ndarray] = {}
        self.consumers: dict[str, list[Any]] = {}
        for node in model.graph.node:
            for i in node.input:
                if i:
                    self.consumers.setdefault(i, []).append(node)
        self.output_onnx = model.graph.output[0].name
        self.skip: set[int] = set()  # indices of ONNX nodes already absorbed by a fusion
        self.index_of: dict[str, int] = {n.output[0]: i for i, n in enumerate(model.graph.node)}
        self.pending_pad: dict[str, tuple[str, tuple[int, int, int, int], Any]] = {}

    # -- names and values -------------------------------------------------------------------

    def iname(self, onnx_name: str) -> str:
        """A deterministic identifier-safe internal name for an ONNX value."""
        if onnx_name in self.names:
            return self.names[onnx_name]
        base = _SAFE.sub("_", onnx_name) or "v"
        if not base[0].isalpha():
            base = "v_" + base
        name = base
        k = 1
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        self.names[onnx_name] = name
        return name

    def resolve(self, onnx_name: str) -> str:
        while onnx_name in self.alias:
            onnx_name = self.alias[onnx_name]
        return onnx_name

    def is_const(self, onnx_name: str) -> bool:
        return self.resolve(onnx_name) in self.consts

    def const(self, onnx_name: str) -> np.ndarray:
        return self.consts[self.resolve(onnx_name)]

    def value(self, onnx_name: str) -> str:
        """Internal name of a non-constant value that must already exist."""
        r = self.resolve(onnx_name)
        name = self.iname(r)
        if name not in self.shapes:
            raise UnsupportedModelError(
                self.source,
                f"value {onnx_name!r} is used before it is "
                "produced (graph not in topological order)",
            )
        return name

    def emit(
        self, op: str, inputs: list[str], onnx_out: str, attrs: dict[str, Any], src: str
    ) -> str:
        out = self.iname(onnx_out)
        node = Node(op=op, inputs=inputs, output=out, attrs=attrs, name=src)
        self.shapes[out] = node_shape(node, self.shapes, self.graph_consts)
        self.nodes.append(node)
        return out

    def single_consumer(self, onnx_name: str, op_type: str) -> Any | None:
        """The only consumer of a value if it is of op_type and the value is not the output."""
        cons = self.consumers.get(onnx_name, [])
        if len(cons) == 1 and cons[0].op_type == op_type and onnx_name != self.output_onnx:
            return cons[0]
        return None

    def fail(self, node: Any, reason: str) -> UnsupportedModelError:
        return UnsupportedModelError(
            self.source, f"node {node.name or node.output[0]!r} ({node.op_type}): {reason}"
        )

    # -- driver -----------------------------------------------------------------------------

    def run(self) -> Graph:
        from onnx import helper

        model = self.model
        bad = sorted(
            {
                (n.op_type, n.name or n.output[0])
                for n in model.graph.node
                if n.op_type not in SUPPORTED_ONNX_OPS or n.domain not in ("", "ai.onnx")
            }
        )
        if bad:
            types = sorted({t for t, _ in bad})
            listing = ", ".join(f"{name} ({t})" for t, name in bad[:30])
            more = f" and {len(bad) - 30} more" if len(bad) > 30 else ""
            raise UnsupportedModelError(
                self.source,
                f"unsupported ONNX op types {types}; offending nodes: "
                f"{listing}{more}. Supported: {sorted(SUPPORTED_ONNX_OPS)}",
            )
        inp = _graph_inputs(model)[0]
        in_dims = _dims(inp)
        dynamic = isinstance(in_dims[0], str)
        in_name = self.iname(inp.name)
        self.shapes[in_name] = EXPECTED_INPUT
        for idx, node in enumerate(model.graph.node):
            if idx in self.skip:
                continue
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            handler = getattr(self, "_op_" + node.op_type)
            handler(node, attrs, idx)
        if self.pending_pad:
            onnx_out, (_, _, pnode) = next(iter(self.pending_pad.items()))
            raise self.fail(pnode, "a Pad is only supported directly before a Conv")
        out_onnx = self.resolve(self.output_onnx)
        if out_onnx in self.consts:
            raise UnsupportedModelError(self.source, "the model output is a constant")
        out = self.value(self.output_onnx)
        shape = self.shapes[out]
        if int(np.prod(shape[1:])) != EMBEDDING_DIM:
            raise ModelInterfaceError(
                self.source,
                f"output {self.output_onnx!r}: expected "
                f"[N,{EMBEDDING_DIM}], lowered graph gives {list(shape)}",
            )
        if len(shape) != 2:
            out = self.emit("flatten", [out], self.output_onnx + "__flat", {}, "output_flatten")
        used = {i for n in self.nodes for i in n.inputs}
        consts = {k: v for k, v in self.graph_consts.items() if k in used}
        return Graph(
            input_name=in_name,
            input_shape=EXPECTED_INPUT,
            nodes=self.nodes,
            output_name=out,
            constants=consts,
            shapes=dict(self.shapes),
            dynamic_batch=dynamic,
        )

    # -- helpers for operands ---------------------------------------------------------------

    def _binary_operand(self, onnx_name: str, other_rank: int, node: Any) -> str:
        """Register a constant operand (normalised to 0-d or the other operand's rank)."""
        c = np.asarray(self.const(onnx_name), dtype=np.float32)
        if c.size == 1:
            c = c.reshape(())
        else:
            if c.ndim > other_rank:
                if c.shape[0] == 1 and c.ndim == other_rank + 1:
                    c = c.reshape(c.shape[1:])
                else:
                    raise self.fail(
                        node,
                        f"constant of shape {list(c.shape)} does not broadcast "
                        f"against a rank-{other_rank} tensor",
                    )
            c = c.reshape((1,) * (other_rank - c.ndim) + c.shape)
        name = self.iname(self.resolve(onnx_name) + "__const")
        # np.array, not np.ascontiguousarray: the latter turns a 0-d scalar into shape (1,).
        self.graph_consts[name] = np.array(c, dtype=np.float32, order="C")
        return name

    def _int_list(self, node: Any, idx: int) -> list[int] | None:
        if len(node.input) <= idx or not node.input[idx]:
            return None
        if not self.is_const(node.input[idx]):
            raise self.fail(node, f"input {idx} ({node.input[idx]!r}) must be a constant")
        return [int(v) for v in np.asarray(self.const(node.input[idx])).ravel()]

    def _float_list(self, node: Any, idx: int) -> list[float] | None:
        if len(node.input) <= idx or not node.input[idx]:
            return None
        if not self.is_const(node.input[idx]):
            raise self.fail(node, f"input {idx} ({node.input[idx]!r}) must be a constant")
        values = [float(v) for v in np.asarray(self.const(node.input[idx])).ravel()]
        return values or None

    def _float_scalar(self, node: Any, idx: int) -> float | None:
        if len(node.input) <= idx or not node.input[idx]:
            return None
        if not self.is_const(node.input[idx]):
            raise self.fail(node, f"input {idx} ({node.input[idx]!r}) must be a constant")
        return float(np.asarray(self.const(node.input[idx])).ravel()[0])

    def _fold_const(self, node: Any, value: np.ndarray) -> None:
        self.consts[node.output[0]] = value

    # -- ops --------------------------------------------------------------------------------

    def _op_Constant(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        from onnx import numpy_helper

        if "value" in attrs:
            self.consts[node.output[0]] = numpy_helper.to_array(attrs["value"])
        elif "value_float" in attrs:
            self.consts[node.output[0]] = np.array(attrs["value_float"], dtype=np.float32)
        elif "value_floats" in attrs:
            self.consts[node.output[0]] = np.array(attrs["value_floats"], dtype=np.float32)
        elif "value_int" in attrs:
            self.consts[node.output[0]] = np.array(attrs["value_int"], dtype=np.int64)
        elif "value_ints" in attrs:
            self.consts[node.output[0]] = np.array(attrs["value_ints"], dtype=np.int64)
        else:
            raise self.fail(node, f"unsupported Constant attribute {sorted(attrs)}")

    def _op_Identity(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        self.alias[node.output[0]] = self.resolve(node.input[0])

    def _op_Dropout(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        # Inference: Dropout is the identity (a mask output, if any, must be unused).
        if len(node.output) > 1 and node.output[1] and self.consumers.get(node.output[1]):
            raise self.fail(node, "the Dropout mask output is used")
        self.alias[node.output[0]] = self.resolve(node.input[0])

    def _op_Pad(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        mode = attrs.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode != "constant":
            raise self.fail(node, f"Pad mode {mode!r} (only constant zero padding is supported)")
        pads = attrs.get("pads")
        if pads is None:
            pads = self._int_list(node, 1)
        value = attrs.get("value", None)
        if value is None:
            value = self._float_scalar(node, 2) or 0.0
        if value != 0.0:
            raise self.fail(node, f"Pad value {value} (only zero padding is supported)")
        x = node.input[0]
        rank = len(self.shapes[self.value(x)])
        axes = self._int_list(node, 3)
        full = [0] * (2 * rank)
        if pads is None or rank != 4:
            raise self.fail(node, "Pad must have constant pads on a 4-d tensor")
        if axes is None:
            axes = list(range(rank))
        for k, ax in enumerate(axes):
            ax = ax % rank
            full[ax] = pads[k]
            full[ax + rank] = pads[k + len(axes)]
        if full[0] or full[1] or full[4] or full[5]:
            raise self.fail(node, f"Pad on batch or channel axes (pads={pads})")
        if min(full) < 0:
            raise self.fail(node, f"negative Pad (cropping) is not supported (pads={pads})")
        conv = self.single_consumer(node.output[0], "Conv")
        if conv is None:
            raise self.fail(node, "a Pad is only supported when its only consumer is a Conv")
        self.pending_pad[node.output[0]] = (x, (full[2], full[3], full[6], full[7]), node)

    def _op_Conv(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        x = node.input[0]
        extra = (0, 0, 0, 0)
        if x in self.pending_pad:
            px, extra, _ = self.pending_pad.pop(x)
            x = px
        xin = self.value(x)
        xshape = self.shapes[xin]
        if len(xshape) != 4:
            raise self.fail(node, f"Conv on a rank-{len(xshape)} tensor (only 2-d convs)")
        if not self.is_const(node.input[1]):
            raise self.fail(node, "Conv weight must be a constant")
        w = np.asarray(self.const(node.input[1]), dtype=np.float32)
        if w.ndim != 4:
            raise self.fail(node, f"Conv weight of rank {w.ndim} (only 2-d convs)")
        o = w.shape[0]
        if len(node.input) > 2 and node.input[2]:
            if not self.is_const(node.input[2]):
                raise self.fail(node, "Conv bias must be a constant")
            b = np.asarray(self.const(node.input[2]), dtype=np.float32).reshape(o)
        else:
            b = np.zeros(o, dtype=np.float32)
        group = int(attrs.get("group", 1))
        strides = tuple(int(s) for s in attrs.get("strides", (1, 1)))
        dil = tuple(int(d) for d in attrs.get("dilations", (1, 1)))
        kh, kw = w.shape[2], w.shape[3]
        ks = attrs.get("kernel_shape")
        if ks is not None and tuple(ks) != (kh, kw):
            raise self.fail(node, f"kernel_shape {ks} disagrees with weight {list(w.shape)}")
        if xshape[1] != w.shape[1] * group:
            raise self.fail(
                node,
                f"input has {xshape[1]} channels, weight {list(w.shape)} with "
                f"group={group} expects {w.shape[1] * group}",
            )
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("NOTSET", ""):
            p = attrs.get("pads", (0, 0, 0, 0))
            pads: tuple[int, ...] = (int(p[0]), int(p[1]), int(p[2]), int(p[3]))
        elif auto == "VALID":
            pads = (0, 0, 0, 0)
        elif auto in ("SAME_UPPER", "SAME_LOWER"):
            pads_hw = []
            for size, k, s, d in (
                (xshape[2], kh, strides[0], dil[0]),
                (xshape[3], kw, strides[1], dil[1]),
            ):
                out = -(-size // s)
                total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
                small, big = total // 2, total - total // 2
                pads_hw.append((small, big) if auto == "SAME_UPPER" else (big, small))
            pads = (pads_hw[0][0], pads_hw[1][0], pads_hw[0][1], pads_hw[1][1])
        else:
            raise self.fail(node, f"auto_pad {auto!r}")
        pads = (pads[0] + extra[0], pads[1] + extra[1], pads[2] + extra[2], pads[3] + extra[3])
        out_name = node.output[0]
        bn = self.single_consumer(out_name, "BatchNormalization")
        if bn is not None:
            scale, shift = self._bn_affine(bn)
            w = w * scale.reshape(-1, 1, 1, 1).astype(np.float32)
            b = (b.astype(np.float64) * scale + shift).astype(np.float32)
            self.skip.add(self.index_of[bn.output[0]])
            out_name = bn.output[0]
        self.emit(
            "conv",
            [xin],
            out_name,
            {
                "weight": np.ascontiguousarray(w, dtype=np.float32),
                "bias": np.ascontiguousarray(b, dtype=np.float32),
                "strides": strides,
                "pads": pads,
                "dilations": dil,
                "groups": group,
            },
            node.name or node.output[0],
        )

    def _bn_affine(self, bn: Any) -> tuple[np.ndarray, np.ndarray]:
        """BatchNormalization (inference) as y = x*scale + shift, computed in float64."""
        from onnx import helper

        attrs = {a.name: helper.get_attribute_value(a) for a in bn.attribute}
        if attrs.get("training_mode", 0):
            raise self.fail(bn, "BatchNormalization in training mode")
        if len(bn.output) > 1 and any(o for o in bn.output[1:]):
            raise self.fail(bn, "BatchNormalization with running-statistics outputs")
        for i in range(1, 5):
            if not self.is_const(bn.input[i]):
                raise self.fail(bn, f"BatchNormalization input {i} must be a constant")
        gamma, beta, mean, var = (
            np.asarray(self.const(bn.input[i]), dtype=np.float64).ravel() for i in range(1, 5)
        )
        eps = float(attrs.get("epsilon", 1e-5))
        scale = gamma / np.sqrt(var + eps)
        return scale, beta - mean * scale

    def _op_BatchNormalization(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        # A BatchNorm not directly after a Conv: lower to mul + add with per-channel constants.
        x = self.value(node.input[0])
        rank = len(self.shapes[x])
        scale, shift = self._bn_affine(node)
        shape = (1, -1) + (1,) * (rank - 2)
        sname = self.iname(node.output[0] + "__bn_scale")
        tname = self.iname(node.output[0] + "__bn_shift")
        self.graph_consts[sname] = scale.astype(np.float32).reshape(shape)
        self.graph_consts[tname] = shift.astype(np.float32).reshape(shape)
        mid = self.emit(
            "mul", [x, sname], node.output[0] + "__bn_mul", {}, node.name or node.output[0]
        )
        self.emit("add", [mid, tname], node.output[0], {}, node.name or node.output[0])

    def _unary(self, op: str, node: Any, attrs: dict[str, Any]) -> None:
        self.emit(
            op, [self.value(node.input[0])], node.output[0], attrs, node.name or node.output[0]
        )

    def _op_Relu(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        self._unary("relu", node, {})

    def _op_Sigmoid(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        self._unary("sigmoid", node, {})

    def _op_HardSwish(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        self._unary("hardswish", node, {})

    def _op_HardSigmoid(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        self._unary(
            "hardsigmoid",
            node,
            {"alpha": float(attrs.get("alpha", 0.2)), "beta": float(attrs.get("beta", 0.5))},
        )

    def _op_Clip(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        lo = attrs.get("min")
        hi = attrs.get("max")
        if lo is None:
            lo = self._float_scalar(node, 1)
        if hi is None:
            hi = self._float_scalar(node, 2)
        self._unary(
            "clip",
            node,
            {
                "min": float("-inf") if lo is None else float(lo),
                "max": float("inf") if hi is None else float(hi),
            },
        )

    def _binary(self, op: str, node: Any) -> None:
        a, b = node.input[0], node.input[1]
        ca, cb = self.is_const(a), self.is_const(b)
        if ca and cb:
            fn = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[op]
            self._fold_const(node, fn(self.const(a), self.const(b)))
            return
        if ca or cb:
            t = self.value(b if ca else a)
            c = self._binary_operand(a if ca else b, len(self.shapes[t]), node)
            ins = [c, t] if ca else [t, c]
        else:
            ta, tb = self.value(a), self.value(b)
            if len(self.shapes[ta]) != len(self.shapes[tb]):
                raise self.fail(
                    node,
                    f"operands of different rank {list(self.shapes[ta])} and "
                    f"{list(self.shapes[tb])}",
                )
            try:
                np.broadcast_shapes(self.shapes[ta], self.shapes[tb])
            except ValueError:
                raise self.fail(
                    node,
                    f"operands {list(self.shapes[ta])} and "
                    f"{list(self.shapes[tb])} do not broadcast",
                ) from None
            ins = [ta, tb]
        self.emit(op, ins, node.output[0], {}, node.name or node.output[0])

    def _op_Add(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        self._binary("add", node)

    def _op_Sub(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        self._binary("sub", node)

    def _op_Mul(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        self._binary("mul", node)

    def _op_Div(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        self._binary("div", node)

    def _op_GlobalAveragePool(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        x = self.value(node.input[0])
        if len(self.shapes[x]) != 4:
            raise self.fail(node, "GlobalAveragePool on a non-4-d tensor")
        self.emit("global_avg_pool", [x], node.output[0], {}, node.name or node.output[0])

    def _op_ReduceMean(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        x = self.value(node.input[0])
        rank = len(self.shapes[x])
        axes = attrs.get("axes")
        if axes is None:
            axes = self._int_list(node, 1)
        keep = int(attrs.get("keepdims", 1))
        if rank != 4 or axes is None or sorted(a % 4 for a in axes) != [2, 3]:
            raise self.fail(
                node,
                f"ReduceMean is supported only over the spatial axes [2, 3] of "
                f"a 4-d tensor (axes={axes})",
            )
        src = node.name or node.output[0]
        if keep:
            self.emit("global_avg_pool", [x], node.output[0], {}, src)
        else:
            mid = self.emit("global_avg_pool", [x], node.output[0] + "__gap", {}, src)
            self.emit("flatten", [mid], node.output[0], {}, src)

    def _op_Slice(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        """A window of the spatial axes (a view cut from the image, training/multiview.py)."""
        x = self.value(node.input[0])
        shape = self.shapes[x]
        starts, ends = self._int_list(node, 1), self._int_list(node, 2)
        axes = self._int_list(node, 3) or list(range(len(starts or [])))
        steps = self._int_list(node, 4) or [1] * len(axes)
        if len(shape) != 4 or starts is None or ends is None:
            raise self.fail(node, "Slice is supported on a 4-d tensor with constant bounds")
        box = [0, 0, shape[2], shape[3]]
        for a, st, en, step in zip(axes, starts, ends, steps):
            a %= 4
            size = shape[a]
            st, en = (v + size if v < 0 else v for v in (st, en))
            st, en = max(0, min(st, size)), max(0, min(en, size))
            if step != 1:
                raise self.fail(node, f"Slice with step {step} (only 1)")
            if a in (0, 1):
                if (st, en) != (0, size):
                    raise self.fail(node, "Slice of the batch or channel axis")
                continue
            box[a - 2], box[a] = st, en - st
        self.emit("crop", [x], node.output[0], {"box": tuple(box)}, node.name or node.output[0])

    def _op_Resize(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        """Bilinear with half-pixel centres only: the one convention every target shares."""
        x = self.value(node.input[0])
        shape = self.shapes[x]
        mode = attrs.get("mode", b"nearest")
        ctm = attrs.get("coordinate_transformation_mode", b"half_pixel")
        mode, ctm = (v.decode() if isinstance(v, bytes) else v for v in (mode, ctm))
        policy = attrs.get("keep_aspect_ratio_policy", b"stretch")
        policy = policy.decode() if isinstance(policy, bytes) else policy
        if len(shape) != 4 or mode != "linear" or ctm != "half_pixel":
            raise self.fail(
                node,
                f"Resize is supported as 4-d linear with half_pixel coordinates "
                f"(got mode={mode}, coordinate_transformation_mode={ctm})",
            )
        if int(attrs.get("antialias", 0)) or policy != "stretch":
            raise self.fail(node, "Resize with antialias or a kept aspect ratio")
        axes = [a % 4 for a in attrs.get("axes", [0, 1, 2, 3])]
        sizes = self._int_list(node, 3)
        if sizes is None:
            scales = self._float_list(node, 2)
            if scales is None:
                raise self.fail(node, "Resize without constant sizes or scales")
            sizes = [int(np.floor(shape[a] * sc)) for a, sc in zip(axes, scales)]
        out = dict(zip(axes, sizes))
        if any(out.get(a, shape[a]) != shape[a] for a in (0, 1)):
            raise self.fail(node, "Resize of the batch or channel axis")
        size = (int(out.get(2, shape[2])), int(out.get(3, shape[3])))
        self.emit(
            "resize_bilinear", [x], node.output[0], {"size": size}, node.name or node.output[0]
        )

    def _reshape_to(self, node: Any, x: str, target: list[int]) -> None:
        """Reshape with dim 0 kept as the batch; rank 2 results become `flatten`."""
        src = node.name or node.output[0]
        shape = self.shapes[x]
        if not target or target[0] not in (0, -1, 1):
            raise self.fail(node, f"reshape to {target} would mix the batch dimension")
        rest = list(target[1:])
        n_rest = int(np.prod(shape[1:]))
        for i, d in enumerate(rest):
            if d == 0:
                rest[i] = shape[i + 1]
        if rest.count(-1) > 1:
            raise self.fail(node, f"reshape target {target} has more than one -1")
        if -1 in rest:
            known = int(np.prod([d for d in rest if d != -1]))
            rest[rest.index(-1)] = n_rest // known if known else 0
        if int(np.prod(rest)) != n_rest:
            raise self.fail(node, f"cannot reshape {list(shape)} to {target}")
        if len(rest) == 1:
            if len(shape) == 2:
                self.alias[node.output[0]] = self.resolve(node.input[0])
            else:
                self.emit("flatten", [x], node.output[0], {}, src)
        elif tuple(rest) == tuple(shape[1:]):
            self.alias[node.output[0]] = self.resolve(node.input[0])
        else:
            self.emit("reshape", [x], node.output[0], {"shape": tuple(rest)}, src)

    def _op_Reshape(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        if self.is_const(node.input[0]):
            const_target = self._int_list(node, 1) or []
            self._fold_const(node, np.reshape(self.const(node.input[0]), const_target))
            return
        x = self.value(node.input[0])
        shape = self._int_list(node, 1)
        if shape is None:
            raise self.fail(node, "Reshape without a constant shape")
        target = shape
        if target and target[0] == 1 and self.shapes[x][0] == 1:
            target = [0] + target[1:]
        self._reshape_to(node, x, target)

    def _op_Flatten(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        x = self.value(node.input[0])
        axis = int(attrs.get("axis", 1))
        if axis != 1:
            raise self.fail(node, f"Flatten with axis={axis} (only axis=1)")
        if len(self.shapes[x]) == 2:
            self.alias[node.output[0]] = self.resolve(node.input[0])
        else:
            self.emit("flatten", [x], node.output[0], {}, node.name or node.output[0])

    def _op_Squeeze(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        x = self.value(node.input[0])
        shape = self.shapes[x]
        axes = attrs.get("axes")
        if axes is None:
            axes = self._int_list(node, 1)
        if axes is None:
            axes = [i for i, d in enumerate(shape) if d == 1 and i != 0]
        axes = sorted(a % len(shape) for a in axes)
        if 0 in axes:
            raise self.fail(node, "Squeeze of the batch dimension")
        target = [0] + [d for i, d in enumerate(shape) if i not in axes and i != 0]
        self._reshape_to(node, x, target)

    def _op_Unsqueeze(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        x = self.value(node.input[0])
        shape = list(self.shapes[x])
        axes = attrs.get("axes")
        if axes is None:
            axes = self._int_list(node, 1)
        if axes is None:
            raise self.fail(node, "Unsqueeze without axes")
        out_rank = len(shape) + len(axes)
        axes = sorted(a % out_rank for a in axes)
        if 0 in axes:
            raise self.fail(node, "Unsqueeze in front of the batch dimension")
        out: list[int] = []
        it = iter(shape)
        for i in range(out_rank):
            out.append(1 if i in axes else next(it))
        self._reshape_to(node, x, [0] + out[1:])

    def _dense(self, node: Any, x: str, w: np.ndarray, b: np.ndarray, out: str) -> None:
        shape = self.shapes[x]
        if len(shape) != 2:
            raise self.fail(
                node, f"dense on a rank-{len(shape)} tensor {list(shape)} (flatten first)"
            )
        if w.shape[1] != shape[1]:
            raise self.fail(node, f"weight {list(w.shape)} does not fit input {list(shape)}")
        self.emit(
            "dense",
            [x],
            out,
            {
                "weight": np.ascontiguousarray(w, dtype=np.float32),
                "bias": np.ascontiguousarray(b, dtype=np.float32),
            },
            node.name or node.output[0],
        )

    def _op_Gemm(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        x = self.value(node.input[0])
        if int(attrs.get("transA", 0)):
            raise self.fail(node, "Gemm with transA=1")
        if not self.is_const(node.input[1]):
            raise self.fail(node, "Gemm weight (B) must be a constant")
        bmat = np.asarray(self.const(node.input[1]), dtype=np.float64)
        w = bmat if int(attrs.get("transB", 0)) else bmat.T
        w = w * float(attrs.get("alpha", 1.0))
        if len(node.input) > 2 and node.input[2]:
            if not self.is_const(node.input[2]):
                raise self.fail(node, "Gemm bias (C) must be a constant")
            c = np.asarray(self.const(node.input[2]), dtype=np.float64)
            if c.size not in (1, w.shape[0]):
                raise self.fail(node, f"Gemm bias of shape {list(c.shape)}")
            b = np.broadcast_to(c.ravel(), (w.shape[0],)) * float(attrs.get("beta", 1.0))
        else:
            b = np.zeros(w.shape[0])
        self._dense(node, x, w.astype(np.float32), b.astype(np.float32), node.output[0])

    def _op_MatMul(self, node: Any, attrs: dict[str, Any], idx: int) -> None:
        x = self.value(node.input[0])
        if not self.is_const(node.input[1]):
            raise self.fail(node, "MatMul with a non-constant right operand")
        m = np.asarray(self.const(node.input[1]), dtype=np.float32)
        if m.ndim != 2:
            raise self.fail(node, f"MatMul weight of rank {m.ndim}")
        w = m.T
        b = np.zeros(w.shape[0], dtype=np.float32)
        out = node.output[0]
        add = self.single_consumer(out, "Add")
        if add is not None:
            other = add.input[1] if add.input[0] == out else add.input[0]
            if self.is_const(other) and np.asarray(self.const(other)).size in (1, w.shape[0]):
                c = np.asarray(self.const(other), dtype=np.float32).ravel()
                b = np.broadcast_to(c, (w.shape[0],)).astype(np.float32)
                self.skip.add(self.index_of[add.output[0]])
                out = add.output[0]
        self._dense(node, x, w, b, out)


def lower(model: Any, *, source: str = "model") -> Graph:
    """ONNX ModelProto (ideally simplified) -> internal Graph; raises UnsupportedModelError."""
    check_interface(model, source=source)
    return _Lowerer(model, source).run()
