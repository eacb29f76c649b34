"""Internal graph -> TensorFlow `tf.function` (tf.nn ops, NHWC) -> TFLite flatbuffer, per variant.

Why build the function ourselves instead of onnx2tf: the internal graph already has explicit pads
and folded BatchNorm, so each node maps to one or two TFLite builtins we choose (CONV_2D,
DEPTHWISE_CONV_2D, PAD, HARD_SWISH, MEAN, FULLY_CONNECTED, ...), NHWC is native (no transposes
around every conv), and nothing is downloaded at run time.

Variants (see export/variants.py for their drift budgets):
  fp32          plain float conversion
  fp16          float16 weights (dequantized to float32 at load; float32 compute on CPU), except
                the first FP16_FLOAT32_FRACTION of the weight layers, which keep float32 weights
  dynamic-int8  int8 weights, activations quantized on the fly (dynamic range), except the first
                DYNAMIC_INT8_FLOAT32_FRACTION of the weight layers (float32 weights and compute)
  int8          full integer: int8 weights and activations, calibrated on real images;
                float32 input/output (QUANTIZE/DEQUANTIZE at the edges)
  int8-io       as int8, with int8 input and output tensors (scale/zero point in the manifest)
  int16x8       full integer with 16-bit activations (LiteRT's "16x8" mode): int8 weights,
                int16 activations, calibrated on the same images; float32 input/output. The
                integer variant that meets issue 12's full-int8 drift goals (8-bit activations
                do not); its kernels are LiteRT's reference ones on CPU, slower than int8
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nhkit.runtime.errors import NhkitError
from nhkit.runtime.spec import EMBEDDING_DIM, INPUT_SIZE

from .ir import BINARY_OPS, WEIGHT_OPS, Graph, Node, weight_depths
from .quiet import quiet_native_output

TFLITE_VARIANTS: tuple[str, ...] = ("fp32", "fp16", "dynamic-int8", "int8", "int8-io", "int16x8")
# Variants whose activation ranges come from calibration images.
FULL_INTEGER_VARIANTS: tuple[str, ...] = ("int8", "int8-io", "int16x8")
INPUT_NAME = "image"
OUTPUT_NAME = "embedding"
SIGNATURE_KEY = "serving_default"


class TfliteConversionError(NhkitError):
    """The TFLite converter rejected the graph or produced a model with the wrong interface."""


@dataclass(frozen=True)
class TensorInfo:
    """One model input/output as the manifest records it."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    layout: str | None
    quantization: dict[str, float | int] | None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}
        if self.layout is not None:
            out["layout"] = self.layout
        out["quantization"] = self.quantization
        return out


@dataclass(frozen=True)
class TfliteModelInfo:
    """What was written: path, interface and the ops the flatbuffer ended up with."""

    path: Path
    variant: str
    input: TensorInfo
    output: TensorInfo
    op_counts: dict[str, int]


def _nchw_to_nhwc_const(c: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(c.transpose(0, 2, 3, 1)) if c.ndim == 4 else c


def _tf_same_pads(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's 'SAME' padding (extra pixel at the end) for one axis."""
    out = -(-size // s)
    total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
    return total // 2, total - total // 2


class _TfBuilder:
    """Emits TensorFlow ops for each internal node; values are NHWC for rank 4."""

    def __init__(
        self, graph: Graph, *, fuse_hardswish: bool = True, differentiable: bool = False
    ) -> None:
        import tensorflow as tf

        self.tf = tf
        self.g = graph
        self.fuse_hardswish = fuse_hardswish
        # Dilated convolutions through tf.nn.convolution (space-to-batch), whose gradient every
        # CPU has: the Conv2D op's own dilations have no CPU gradient kernel on machines where
        # TensorFlow does not route them to oneDNN ("Current CPU implementations do not yet
        # support dilation rates larger than 1"). Only for tf_embedding_function: the bundles
        # keep the converter's dilated CONV_2D lowering.
        self.differentiable = differentiable
        # Pre-build weights as numpy in TF layouts (tf.constant happens inside the trace).
        self.prepared: dict[str, dict[str, Any]] = {}
        for n in graph.nodes:
            if n.op == "conv":
                self.prepared[n.output] = self._prep_conv(n)
            elif n.op == "dense":
                self.prepared[n.output] = {
                    "w": np.ascontiguousarray(np.asarray(n.attrs["weight"], np.float32).T),
                    "b": np.asarray(n.attrs["bias"], np.float32),
                }

    def _prep_conv(self, n: Node) -> dict[str, Any]:
        a = n.attrs
        w = np.asarray(a["weight"], np.float32)
        o, cg, kh, kw = w.shape
        groups = int(a["groups"])
        cin = cg * groups
        xshape = self.g.shapes[n.inputs[0]]
        t, l_, b, r = a["pads"]
        (sh, sw), (dh, dw) = a["strides"], a["dilations"]
        same = _tf_same_pads(xshape[2], kh, sh, dh) == (t, b) and _tf_same_pads(
            xshape[3], kw, sw, dw
        ) == (l_, r)
        if same:
            padding, pre_pad = "SAME", None
        elif (t, l_, b, r) == (0, 0, 0, 0):
            padding, pre_pad = "VALID", None
        else:
            padding, pre_pad = "VALID", [[0, 0], [t, b], [l_, r], [0, 0]]
        if groups == 1:
            kind = "conv"
            filt = w.transpose(2, 3, 1, 0)  # OIHW -> HWIO
        elif groups == cin and cg == 1:
            kind = "depthwise"
            mult = o // cin
            filt = w.reshape(cin, mult, kh, kw).transpose(2, 3, 0, 1)  # -> [kh,kw,cin,mult]
        else:
            kind = "grouped"
            og = o // groups
            filt = [w[i * og : (i + 1) * og].transpose(2, 3, 1, 0) for i in range(groups)]
        return {
            "kind": kind,
            "filt": filt,
            "bias": np.asarray(a["bias"], np.float32),
            "padding": padding,
            "pre_pad": pre_pad,
            "strides": (sh, sw),
            "dilations": (dh, dw),
            "groups": groups,
        }

    def _rank4(self, name: str) -> bool:
        return len(self._shape(name)) == 4

    def _shape(self, name: str) -> tuple[int, ...]:
        if name in self.g.constants:
            return tuple(self.g.constants[name].shape)
        return self.g.shapes[name]

    def _to_nchw(self, x: Any, name: str) -> Any:
        s = self._shape(name)
        if len(s) == 4 and (s[2] != 1 or s[3] != 1):
            return self.tf.transpose(x, [0, 3, 1, 2])
        if len(s) == 4:  # H = W = 1: NHWC and NCHW have the same memory order
            return self.tf.reshape(x, [-1, s[1], 1, 1])
        return x

    def build(self) -> Any:
        """A tf.Module whose `serve` function is the model (the Module is what makes the
        converter write the `serving_default` signature `image` -> `embedding`)."""
        tf = self.tf
        builder = self
        _, channels, height, width = (int(d) for d in self.g.input_shape)

        class _NhModel(tf.Module):  # type: ignore[name-defined]  # tf is a local, untyped
            @tf.function(
                autograph=False,
                input_signature=[
                    tf.TensorSpec([1, height, width, channels], tf.float32, name=INPUT_NAME)
                ],
            )
            def serve(self, image: Any) -> dict[str, Any]:
                out = builder.embed(image)
                return {OUTPUT_NAME: tf.identity(out, name=OUTPUT_NAME)}

        return _NhModel()

    def embed(self, image: Any) -> Any:
        """NHWC float32 [N,H,W,3] -> [N,128], as TensorFlow ops (any batch; differentiable)."""
        vals: dict[str, Any] = {self.g.input_name: image}
        for node in self.g.nodes:
            vals[node.output] = self._emit(node, vals)
        return self.tf.reshape(vals[self.g.output_name], [-1, EMBEDDING_DIM])

    def _operand(self, name: str, vals: dict[str, Any]) -> Any:
        if name in self.g.constants:
            return self.tf.constant(
                _nchw_to_nhwc_const(np.asarray(self.g.constants[name], np.float32))
            )
        return vals[name]

    def _emit(self, node: Node, vals: dict[str, Any]) -> Any:
        emit = TF_EMITTERS.get(node.op)
        if emit is None:
            raise TfliteConversionError(f"internal op {node.op!r} has no TensorFlow lowering")
        # The scope puts the node's output name into the TFLite tensor names ("conv_1/Conv2D;
        # ..."), which is how int8 export finds the ops of the layers it keeps in float.
        with self.tf.name_scope(node.output):
            return emit(self, node, vals)


# One TensorFlow lowering per internal op (ir.OPS); values are NHWC for rank 4.


def _tf_binary(b: _TfBuilder, node: Node, vals: dict[str, Any]) -> Any:
    tf = b.tf
    x, y = (b._operand(i, vals) for i in node.inputs)
    fn = {"add": tf.add, "sub": tf.subtract, "mul": tf.multiply, "div": tf.divide}[node.op]
    return fn(x, y)


def _tf_conv(b: _TfBuilder, node: Node, vals: dict[str, Any]) -> Any:
    tf = b.tf
    x = vals[node.inputs[0]]
    p = b.prepared[node.output]
    if p["pre_pad"] is not None:
        x = tf.pad(x, p["pre_pad"])
    strides = [1, p["strides"][0], p["strides"][1], 1]

    def conv2d(xi: Any, filt: np.ndarray) -> Any:
        if b.differentiable and max(p["dilations"]) > 1:
            return tf.nn.convolution(
                xi,
                tf.constant(filt),
                strides=list(p["strides"]),
                padding=p["padding"],
                dilations=list(p["dilations"]),
            )
        return tf.nn.conv2d(
            xi, tf.constant(filt), strides, p["padding"], dilations=list(p["dilations"])
        )

    if p["kind"] == "conv":
        y = conv2d(x, p["filt"])
    elif p["kind"] == "depthwise":
        y = tf.nn.depthwise_conv2d(
            x, tf.constant(p["filt"]), strides, p["padding"], dilations=list(p["dilations"])
        )
    else:
        parts = tf.split(x, p["groups"], axis=3)
        y = tf.concat([conv2d(xi, fi) for xi, fi in zip(parts, p["filt"])], axis=3)
    return tf.nn.bias_add(y, tf.constant(p["bias"]))


def _tf_clip(b: _TfBuilder, node: Node, vals: dict[str, Any]) -> Any:
    tf = b.tf
    x = vals[node.inputs[0]]
    lo, hi = node.attrs["min"], node.attrs["max"]
    if lo == 0.0 and hi == 6.0:
        return tf.nn.relu6(x)
    if lo == 0.0 and hi == float("inf"):
        return tf.nn.relu(x)
    if lo == float("-inf"):
        return tf.minimum(x, hi)
    if hi == float("inf"):
        return tf.maximum(x, lo)
    return tf.clip_by_value(x, lo, hi)


def _tf_hardswish(b: _TfBuilder, node: Node, vals: dict[str, Any]) -> Any:
    x = vals[node.inputs[0]]
    if b.fuse_hardswish:
        # This exact pattern is what the converter fuses into one HARD_SWISH op.
        return x * b.tf.nn.relu6(x + 3.0) * (1.0 / 6.0)
    # LiteRT has no int16 HARD_SWISH kernel: fused, the 16x8 quantizer would leave all 19 of
    # them float between QUANTIZE/DEQUANTIZE pairs. This order is not the fused pattern, so it
    # stays ADD (+relu6) and two MULs, each of which has an int16 kernel.
    return b.tf.nn.relu6(x + 3.0) * (x * (1.0 / 6.0))


def _tf_hardsigmoid(b: _TfBuilder, node: Node, vals: dict[str, Any]) -> Any:
    x = vals[node.inputs[0]]
    alpha, beta = node.attrs["alpha"], node.attrs["beta"]
    if abs(alpha * 6.0 - 1.0) < 1e-7 and beta == 0.5:
        return b.tf.nn.relu6(x + 3.0) * (1.0 / 6.0)
    return b.tf.clip_by_value(x * alpha + beta, 0.0, 1.0)


def _tf_flatten(b: _TfBuilder, node: Node, vals: dict[str, Any]) -> Any:
    x = b._to_nchw(vals[node.inputs[0]], node.inputs[0])
    return b.tf.reshape(x, [-1, int(np.prod(b._shape(node.inputs[0])[1:]))])


def _tf_dense(b: _TfBuilder, node: Node, vals: dict[str, Any]) -> Any:
    p = b.prepared[node.output]
    return b.tf.matmul(vals[node.inputs[0]], b.tf.constant(p["w"])) + b.tf.constant(p["b"])


def _tf_reshape(b: _TfBuilder, node: Node, vals: dict[str, Any]) -> Any:
    x = b._to_nchw(vals[node.inputs[0]], node.inputs[0])
    y = b.tf.reshape(x, [-1, *[int(d) for d in node.attrs["shape"]]])
    if len(b.g.shapes[node.output]) == 4:
        y = b.tf.transpose(y, [0, 2, 3, 1])
    return y


def _tf_crop(b: _TfBuilder, node: Node, vals: dict[str, Any]) -> Any:
    top, left, h, w = (int(d) for d in node.attrs["box"])
    return b.tf.slice(vals[node.inputs[0]], [0, top, left, 0], [-1, h, w, -1])


def _tf_resize_bilinear(b: _TfBuilder, node: Node, vals: dict[str, Any]) -> Any:
    # RESIZE_BILINEAR with half_pixel_centers: the IR's convention (ir.OPS), not TF's default.
    return b.tf.raw_ops.ResizeBilinear(
        images=vals[node.inputs[0]],
        size=[int(d) for d in node.attrs["size"]],
        align_corners=False,
        half_pixel_centers=True,
    )


TF_EMITTERS: dict[str, Callable[[_TfBuilder, Node, dict[str, Any]], Any]] = {
    "conv": _tf_conv,
    "relu": lambda b, n, v: b.tf.nn.relu(v[n.inputs[0]]),
    "clip": _tf_clip,
    "hardswish": _tf_hardswish,
    "hardsigmoid": _tf_hardsigmoid,
    "sigmoid": lambda b, n, v: b.tf.math.sigmoid(v[n.inputs[0]]),
    **{op: _tf_binary for op in BINARY_OPS},
    "global_avg_pool": lambda b, n, v: b.tf.reduce_mean(v[n.inputs[0]], axis=[1, 2], keepdims=True),
    "flatten": _tf_flatten,
    "dense": _tf_dense,
    "reshape": _tf_reshape,
    "crop": _tf_crop,
    "resize_bilinear": _tf_resize_bilinear,
}


def tf_embedding_function(graph: Graph) -> Callable[[Any], Any]:
    """The internal graph as a TensorFlow function of an NHWC float32 batch ([N,H,W,3] in
    [-1, 1]) -> [N,128]: the float model the TFLite variants are converted from, with its
    gradients (benchmarks/adversarial.py attacks it, whatever the model's topology)."""
    return _TfBuilder(graph, differentiable=True).embed


def build_tf_module(graph: Graph, *, fuse_hardswish: bool = True) -> Any:
    """The internal graph as a tf.Module; `.serve` maps NHWC float32 [1,H,W,3] (the graph's
    input size: 360x360 for a real model) to {'embedding': [1,128]}. fuse_hardswish=False
    emits hard-swish as ops the int16x8 quantizer can keep integer."""
    return _TfBuilder(graph, fuse_hardswish=fuse_hardswish).build()


def _convert(
    module: Any,
    variant: str,
    calibration: Callable[[], Iterable[list[np.ndarray]]] | None,
    graph: Graph | None = None,
) -> bytes:
    import tensorflow as tf

    concrete = module.serve.get_concrete_function()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], module)
    if variant == "fp32":
        pass
    elif variant == "fp16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic-int8":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant in FULL_INTEGER_VARIANTS:
        if calibration is None or graph is None:
            raise TfliteConversionError(f"variant {variant!r} needs calibration images")
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = calibration
        if variant == "int16x8":
            # The converter's own 16x8 mode, which also refuses any op without an int16 kernel.
            # Its min/max ranges and no float stem, unlike int8: a 16-bit step is 256 times
            # finer, so an outlier no longer coarsens every photo's step (what the int8
            # quantiles fix) and the input's 256 levels sit within 2e-5 of the int16 grid.
            conv.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            ]
        else:
            # Calibrate only: the ranges and the float layers are set here, then quantized below.
            conv._experimental_calibrate_only = True  # noqa: SLF001 (as QuantizationDebugger)
    else:
        raise TfliteConversionError(
            f"unknown TFLite variant {variant!r}; known: {', '.join(TFLITE_VARIANTS)}"
        )
    try:
        with quiet_native_output():
            data = bytes(conv.convert())
            if variant in ("fp16", "dynamic-int8") and graph is not None:
                keep = set(float32_weight_nodes(graph, variant))
                if keep:
                    fp32 = _convert(module, "fp32", None)
                    data = _restore_float32_weights(data, fp32, keep)
            if variant in ("int8", "int8-io"):
                assert calibration is not None and graph is not None
                data = _quantize_int8(data, variant, calibration, graph)
            elif variant == "int16x8":
                data = _int16x8_post_pass(data, INT16_RANGE_HEADROOM)
                _check_only_denied_float(data, set(), variant)
            return data
    except TfliteConversionError:
        raise
    except Exception as exc:
        msg = str(exc).strip().splitlines()
        raise TfliteConversionError(
            f"TFLite converter failed for variant {variant!r}: {msg[-1] if msg else exc}"
        ) from exc


# fp16 and dynamic-int8 recipes (issue 12 section 4). Rounding every weight to float16 flips a
# bit on 7% of photos (mean 0.070 on the tuning photos of benchmarks/quantization.py, goal 0.05);
# the flips come from the early layers, whose rounding error the rest of the network carries:
# float32 weights in the first 80% of the weight layers (44 of v2's 55) bring it to 0.021, while
# the last 20% hold 78% of the weights (the 576-channel stage and the dense head), so the file is
# 4.0 MB instead of 3.3 MB (float32: 6.6 MB). Dynamic int8 likewise: 0.439 -> 0.250 on the same
# photos (goal 0.3), 1.8 -> 2.9 MB. The converter has no per-layer switch for either, hence
# _restore_float32_weights. 0: every weight float16 / int8.
FP16_FLOAT32_FRACTION = 0.8
DYNAMIC_INT8_FLOAT32_FRACTION = 0.8


def float32_weight_nodes(graph: Graph, variant: str, fraction: float | None = None) -> list[str]:
    """Output names of the internal nodes whose weights the fp16 or dynamic-int8 variant keeps
    in float32: the first `fraction` (default: the variant's FP16_/DYNAMIC_INT8_FLOAT32_FRACTION)
    of the network's weight layers (conv, dense), counted along its depth (ir.weight_depths),
    so a graph of several copies side by side keeps the same layers of each."""
    if fraction is None:
        fraction = FP16_FLOAT32_FRACTION if variant == "fp16" else DYNAMIC_INT8_FLOAT32_FRACTION
    depth = weight_depths(graph)
    count = int(round(fraction * max(depth.values())))
    if count <= 0:
        return []
    return [
        n.output
        for n in graph.nodes
        if depth[n.output] < count or (n.op in WEIGHT_OPS and depth[n.output] == count)
    ]


@functools.cache
def _builtin_names() -> dict[int, str]:
    from tensorflow.lite.python import schema_py_generated as schema_fb

    return {v: k for k, v in vars(schema_fb.BuiltinOperator).items() if not k.startswith("_")}


def _op_name(model: Any, op: Any) -> str:
    """'CONV_2D', 'DEQUANTIZE', ... for an operator of a flatbuffer ModelT."""
    code = model.operatorCodes[op.opcodeIndex]
    return _builtin_names().get(max(code.builtinCode, code.deprecatedBuiltinCode), "?")


def _restore_float32_weights(quantized: bytes, fp32: bytes, nodes: set[str]) -> bytes:
    """The fp16 or dynamic-int8 flatbuffer with the float32 weights of the fp32 flatbuffer put
    back into the ops of `nodes` (float16 constants read through DEQUANTIZE, or int8 constants
    of hybrid ops, which then run in float). Both files come from the same tf.function, so their
    ops match one to one once fp16's DEQUANTIZE ops are set aside."""
    import flatbuffers
    from tensorflow.lite.python import convert as tfl_convert
    from tensorflow.lite.python import schema_py_generated as schema_fb

    q = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAsModel(quantized, 0))
    f = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAsModel(fp32, 0))
    qs, fs = q.subgraphs[0], f.subgraphs[0]
    body = [op for op in qs.operators if _op_name(q, op) != "DEQUANTIZE"]
    if [_op_name(q, op) for op in body] != [_op_name(f, op) for op in fs.operators]:
        raise TfliteConversionError("quantized and fp32 conversions differ in their ops")
    producer = {int(o): op for op in qs.operators for o in op.outputs}
    for op, fop in zip(body, fs.operators):
        names = [fs.tensors[fop.outputs[0]].name.decode()]
        names += [fs.tensors[i].name.decode() for i in fop.inputs if i >= 0]
        if not set().union(*map(_tensor_scopes, names)) & nodes:
            continue
        inputs = [int(i) for i in op.inputs]
        for j, t in enumerate(inputs):
            src = producer.get(t)
            fp16_weight = src is not None and _op_name(q, src) == "DEQUANTIZE"
            int8_weight = (
                t >= 0
                and qs.tensors[t].type == schema_fb.TensorType.INT8
                and q.buffers[qs.tensors[t].buffer].data is not None
            )
            if t < 0 or not (fp16_weight or int8_weight):
                continue
            ft = fs.tensors[fop.inputs[j]]
            buf = schema_fb.BufferT()
            buf.data = np.frombuffer(bytes(f.buffers[ft.buffer].data), np.uint8)
            q.buffers.append(buf)
            nt = schema_fb.TensorT()
            nt.shape, nt.type, nt.name = list(ft.shape), schema_fb.TensorType.FLOAT32, ft.name
            nt.buffer = len(q.buffers) - 1
            qs.tensors.append(nt)
            inputs[j] = len(qs.tensors) - 1
        op.inputs = inputs
    read = {int(i) for op in qs.operators for i in op.inputs} | {int(o) for o in qs.outputs}
    qs.operators = [
        op for op in qs.operators if _op_name(q, op) != "DEQUANTIZE" or int(op.outputs[0]) in read
    ]
    used = {int(i) for op in qs.operators for i in (*op.inputs, *op.outputs)}
    used |= {int(i) for i in (*qs.inputs, *qs.outputs)}
    live = {qs.tensors[i].buffer for i in used if i >= 0}
    for i, t in enumerate(qs.tensors):
        if i not in used and t.buffer and t.buffer not in live:
            q.buffers[t.buffer].data = None  # the dropped float16 / int8 copy
    builder = flatbuffers.Builder(1024)
    builder.Finish(q.Pack(builder), file_identifier=b"TFL3")
    return bytes(tfl_convert.deduplicate_readonly_buffers(bytes(builder.Output())))


# Full int8 recipe (issue 12 section 4; benchmarks/results/quantization.md has the figures).
# Activation ranges: per tensor, the widest of the per-photo RANGE_QUANTILE / 1 - RANGE_QUANTILE
# quantiles over the calibration photos, instead of the converter's absolute min/max: the
# extreme value of one photo (a few pixels) otherwise sets the step of every photo. None: the
# converter's min/max.
RANGE_QUANTILE: float | None = 1e-4
# Every calibrated activation range of the full int8 variants times INT8_RANGE_SCALE (1.0 ships).
# A tuning knob (benchmarks/quantization.py recipes `wide1.25`, `wide1.5`): on the 328 tuning
# photos wider ranges shortened v2's tail only by raising its mean and non-fragile flips
# (benchmarks/results/quantization_tuning_v2.md), unlike int16x8's headroom, which is nearly free.
INT8_RANGE_SCALE = 1.0
# The first FLOAT_FIRST_CONVS convolutions (with the ops before them and the activation right
# after the last) stay float32: the model input then reaches them unquantized (full int8,
# float32 input) or exactly (int8-io, whose offset is added in float, see _exact_int8_input) and the
# full-resolution stem, cheap in bytes, keeps its precision. 0: every op int8.
# v3 on the 328 tuning photos (benchmarks/results/quantization_tuning_v3.md; int8 mean, max,
# non-fragile flips): this recipe 0.610 / 5 / 5 (int8-io with its exact input the same); 5 float
# convolutions 0.628 / 5 / 4; quantile 1e-3 0.887 / 7 / 9, 1e-5 0.652 / 5 / 5. None is better
# on every term, so the recipe stays; the flips are not a range or stem question.
FLOAT_FIRST_CONVS = 3
_ACTIVATIONS = frozenset({"relu", "clip", "hardswish", "hardsigmoid", "sigmoid"})


def float_stem_nodes(graph: Graph, convs: int | None = None) -> list[str]:
    """Output names of the internal nodes int8 variants keep in float: every node before the
    `convs`-th convolution along the network's depth (default FLOAT_FIRST_CONVS; in a graph of
    several copies, of every copy), that convolution and the activation directly after it;
    none when the graph has fewer convolutions."""
    convs = FLOAT_FIRST_CONVS if convs is None else convs
    depth = weight_depths(graph, frozenset({"conv"}))
    if max(depth.values()) < convs:
        return []
    producer = {n.output: n for n in graph.nodes}
    out: list[str] = []
    for node in graph.nodes:
        d = depth[node.output]
        src = producer.get(node.inputs[0])
        after_stem_conv = (
            node.op in _ACTIVATIONS and src is not None and src.op == "conv" and d == convs
        )
        if d < convs or (node.op == "conv" and d == convs) or after_stem_conv:
            out.append(node.output)
    return out


# Full int8's squeeze-excite branches (global pool, reduce conv, ReLU, expand conv, hard-sigmoid)
# in float32 when True. Their 1x1 activations are what clip on photos unlike the calibration set
# (v3 on the fresh set's two non-fragile flips, black_cat.jpg and street.jpg: 4-12 % of the
# pooled and reduced channels beyond their int8 range, reduce outputs up to 4.7 against a range
# of 2.0-2.5; benchmarks/results/int8_clipping_v3.md), and widening their ranges costs every
# photo the resolution (benchmarks/quantization.py ALSO_TRIED); in float they need neither.
# Not shipped: on the 328 tuning photos (quantization_tuning_v3.md, recipe `se-float`) int8
# goes 0.610 / 3 / 5 / 5 flips -> 0.564 / 3 / 5 / 4, int8-io 0.610 / 3 / 5 / 5 -> 0.570 / 3 /
# 5 / 4, for a file 46 % larger (2.52 -> 3.69 MB): the flips stay, so they are not these
# tensors' alone.
FLOAT_SQUEEZE_EXCITE = False


def squeeze_excite_nodes(graph: Graph) -> list[str]:
    """Output names of the nodes of every squeeze-excite branch: global_avg_pool -> conv ->
    relu -> conv -> hardsigmoid (MobileNetV3's), found from each hard-sigmoid back."""
    producer = {n.output: n for n in graph.nodes}
    out: list[str] = []
    for node in graph.nodes:
        if node.op != "hardsigmoid":
            continue
        chain, cur = [node], producer.get(node.inputs[0])
        for op in ("conv", "relu", "conv", "global_avg_pool"):
            if cur is None or cur.op != op:
                break
            chain.append(cur)
            cur = producer.get(cur.inputs[0])
        else:
            out.extend(n.output for n in reversed(chain))
    return out


def _tensor_scopes(name: str) -> set[str]:
    """'relu_4/Relu;dw_3/BiasAdd;dw_3/depthwise' -> {'relu_4', 'dw_3'} (the name scopes
    _TfBuilder gives each node's ops)."""
    return {part.split("/", 1)[0] for part in name.split(";") if "/" in part}


def _quantize_int8(
    calibrated: bytes,
    variant: str,
    calibration: Callable[[], Iterable[list[np.ndarray]]],
    graph: Graph,
) -> bytes:
    """Calibrated float model -> full int8 model: quantile ranges, float stem, int8 elsewhere
    (the converter's own MLIR quantizer, as `convert()` runs it, with a node denylist)."""
    import flatbuffers
    import tensorflow as tf
    from tensorflow.lite.python import convert as tfl_convert
    from tensorflow.lite.python import schema_py_generated as schema_fb

    model = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAsModel(calibrated, 0))
    sub = model.subgraphs[0]
    if RANGE_QUANTILE is not None:
        _set_quantile_ranges(calibrated, model, calibration, RANGE_QUANTILE)
    if INT8_RANGE_SCALE != 1.0:
        _scale_ranges(model, INT8_RANGE_SCALE)
    floated = set(float_stem_nodes(graph))
    if FLOAT_SQUEEZE_EXCITE:
        floated |= set(squeeze_excite_nodes(graph))
    deny = set()
    for op in sub.operators:
        for t in op.outputs:
            name = sub.tensors[t].name.decode()
            if _tensor_scopes(name) & floated:
                deny.add(name)
    if FOLD_CLIPS_INTO_RANGES:
        _fold_clips_into_ranges(model, deny)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    io_type = tf.int8 if variant == "int8-io" else tf.float32
    data = tfl_convert.mlir_quantize(
        bytes(builder.Output()),
        fully_quantize=False,
        input_data_type=io_type,
        output_data_type=io_type,
        denylisted_nodes=deny or None,
    )
    _check_only_denied_float(data, deny, variant)
    if variant == "int8-io":
        data = _exact_int8_input(data)
    return bytes(tfl_convert.deduplicate_readonly_buffers(data))


# Full int8: a MINIMUM or MAXIMUM against a constant (a Clip of the model) whose input it alone
# reads is folded into that input's activation range and removed. An int8 tensor saturates at
# its range, so the op did nothing the range cannot do, yet LiteRT runs it as a separate
# integer kernel: v3 bounded at its int8 ranges (training/bound_activations.py, 472 Clips, 944
# such ops) ran full int8 in 38 ms against v3's 15 (2 threads). Only bounds that keep 0 inside
# the range fold (a range is widened to hold 0, which would move a bound above 0 to 0); the
# float stem's ops, the model's outputs and inputs read elsewhere are left as they are.
FOLD_CLIPS_INTO_RANGES = True


def _const_scalar(model: Any, sub: Any, t: int) -> float | None:
    """The value of a constant one-element float32 tensor, else None."""
    from tensorflow.lite.python import schema_py_generated as schema_fb

    tensor = sub.tensors[t]
    data = model.buffers[tensor.buffer].data if tensor.buffer < len(model.buffers) else None
    if tensor.type != schema_fb.TensorType.FLOAT32 or data is None or len(data) != 4:
        return None
    return float(np.frombuffer(bytes(bytearray(data)), np.float32)[0])


def _fold_clips_into_ranges(model: Any, deny: set[str]) -> None:
    """Fold every foldable MINIMUM / MAXIMUM (see FOLD_CLIPS_INTO_RANGES) of a calibrated float
    ModelT into its input's recorded range, in place."""
    sub = model.subgraphs[0]
    fixed = {int(t) for t in sub.outputs} | {int(t) for t in sub.inputs}
    readers: dict[int, int] = {}
    for op in sub.operators:
        for t in op.inputs:
            readers[int(t)] = readers.get(int(t), 0) + 1
    renamed: dict[int, int] = {}
    kept = []
    for op in sub.operators:
        op.inputs = [renamed.get(int(t), int(t)) for t in op.inputs]
        name = _op_name(model, op)
        if name in ("MINIMUM", "MAXIMUM") and len(op.inputs) == 2 and len(op.outputs) == 1:
            x, out = int(op.inputs[0]), int(op.outputs[0])
            bound = _const_scalar(model, sub, int(op.inputs[1]))
            qx = sub.tensors[x].quantization
            keeps_zero = bound is not None and (bound >= 0.0 if name == "MINIMUM" else bound <= 0.0)
            if (
                keeps_zero
                and readers.get(x) == 1
                and x not in fixed
                and out not in fixed
                and qx is not None
                and qx.min is not None
                and len(qx.min) == 1
                and not {sub.tensors[x].name.decode(), sub.tensors[out].name.decode()} & deny
            ):
                assert bound is not None
                if name == "MINIMUM":
                    qx.max = [min(float(qx.max[0]), bound)]
                else:
                    qx.min = [max(float(qx.min[0]), bound)]
                renamed[out] = x
                continue
        kept.append(op)
    sub.operators = kept


# int8-io's input (benchmarks/results/int8_io_input_v3.md): the spec's 256 values (p / 255 * 2 - 1)
# lie half a step off every int8 grid of step 2/255 with an integer zero point, so the converter's
# input (zero point -1) moved every pixel by half a level and merged two pairs of levels: v3's
# int8-io drifted 0.740 bits against int8's 0.653 on the same photos, all of it from the input.
# The exact input: the pixel byte minus 128 (scale 2/255, zero point -128) and, after the float
# stem's DEQUANTIZE, an ADD of INPUT_OFFSET (the manifest's quantization.offset), which gives the
# spec's values back to within a float32 rounding.
INPUT_STEP = 2.0 / 255.0
INPUT_ZERO_POINT = -128
INPUT_OFFSET = -1.0


def _exact_int8_input(data: bytes) -> bytes:
    """The int8-io flatbuffer with the exact int8 input above. Unchanged when the input feeds an
    integer op directly (a graph too small for the float stem): an integer op cannot take the
    offset, so such a model keeps the converter's input grid."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema_fb

    from nhkit.runtime.backends.tflite import INPUT_OFFSET_TENSOR, input_lut

    model = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAsModel(data, 0))
    sub = model.subgraphs[0]
    inp = int(sub.inputs[0])
    readers = [i for i, op in enumerate(sub.operators) if inp in {int(t) for t in op.inputs}]
    if len(readers) != 1 or _op_name(model, sub.operators[readers[0]]) != "DEQUANTIZE":
        return data
    at = readers[0]
    dq_out = int(sub.operators[at].outputs[0])
    scale = float(np.float32(INPUT_STEP))
    if input_lut(scale, INPUT_ZERO_POINT, INPUT_OFFSET) != list(range(-128, 128)):
        raise TfliteConversionError("the exact int8 input table is not pixel - 128")
    qp = sub.tensors[inp].quantization
    qp.scale, qp.zeroPoint = [scale], [INPUT_ZERO_POINT]
    qp.min, qp.max = [INPUT_OFFSET], [255 * scale + INPUT_OFFSET]

    const_buf = schema_fb.BufferT()
    const_buf.data = np.frombuffer(np.float32(INPUT_OFFSET).tobytes(), np.uint8)
    model.buffers.append(const_buf)
    const = schema_fb.TensorT()
    const.shape, const.type = [1], schema_fb.TensorType.FLOAT32
    const.name, const.buffer = b"nhkit_input_offset_value", len(model.buffers) - 1
    sub.tensors.append(const)
    src = sub.tensors[dq_out]
    out = schema_fb.TensorT()
    out.shape, out.type = list(src.shape), schema_fb.TensorType.FLOAT32
    out.shapeSignature = None if src.shapeSignature is None else list(src.shapeSignature)
    out.name, out.buffer = INPUT_OFFSET_TENSOR.encode(), 0
    sub.tensors.append(out)
    const_i, out_i = len(sub.tensors) - 2, len(sub.tensors) - 1
    for op in sub.operators:
        op.inputs = [out_i if int(t) == dq_out else int(t) for t in op.inputs]
    sub.outputs = [out_i if int(t) == dq_out else int(t) for t in sub.outputs]

    codes = [
        i
        for i, c in enumerate(model.operatorCodes)
        if max(c.builtinCode, c.deprecatedBuiltinCode) == schema_fb.BuiltinOperator.ADD
    ]
    if not codes:
        code = schema_fb.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = schema_fb.BuiltinOperator.ADD
        code.version = 1
        model.operatorCodes.append(code)
        codes = [len(model.operatorCodes) - 1]
    add = schema_fb.OperatorT()
    add.opcodeIndex, add.inputs, add.outputs = codes[0], [dq_out, const_i], [out_i]
    add.builtinOptionsType = schema_fb.BuiltinOptions.AddOptions
    add.builtinOptions = schema_fb.AddOptionsT()
    sub.operators.insert(at + 1, add)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


# int16x8 activation ranges: the calibration min/max times this factor. A photo unlike every
# calibration photo (a flat white background) pushed squeeze-excite pools past their range and
# drifted 7 bits (v2, one of the 321 evaluation photos). On the 328 train-side tuning photos of
# benchmarks/quantization.py (v2; mean / p99 / max / non-fragile flips): factor 1 0.448 / 3 / 9
# / 2, factor 2 0.345 / 2 / 3 / 0, 4 0.357 / 2 / 3 / 0, 8 0.338 / 2 / 3 / 0. 2-8 are alike;
# 4 leaves room for photos twice as far out as any of those, for 2 of the 15 magnitude bits.
# 1: the converter's ranges.
INT16_RANGE_HEADROOM = 4.0


def _unshare_int16_biases(model: Any) -> bool:
    """Give every conv/dense op of a 16x8 model a bias at its own input scale x weight scale.

    Why: the copies of a multi-view model (training/multiview.py) share their float weights,
    the converter merges equal constants, and its legacy 16x8 quantizer then stores a shared
    bias once, at the scale of the first op that reads it. The other copies see different
    activation ranges, so their requantization is wrong (v16v: cos 0.98 against fp32 where one
    copy gives 0.99996). Each op whose bias scale is not its own gets a private copy, the
    stored integers rescaled (the bias is int32/int64 at ~1e-6 scale, so nothing is lost).
    Works on the unpacked `model` in place; True when it changed anything."""
    from tensorflow.lite.python import schema_py_generated as schema_fb

    sub = model.subgraphs[0]
    ints = {schema_fb.TensorType.INT64: np.int64, schema_fb.TensorType.INT32: np.int32}
    changed = False
    for op in sub.operators:
        if _op_name(model, op) not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        if len(op.inputs) < 3 or op.inputs[2] < 0:
            continue
        x, w, bias = (sub.tensors[i] for i in op.inputs[:3])
        if bias.type not in ints or x.quantization is None or not x.quantization.scale:
            continue
        want = float(x.quantization.scale[0]) * np.asarray(w.quantization.scale, np.float64)
        have = np.asarray(bias.quantization.scale, np.float64)
        if np.allclose(have, want, rtol=1e-6, atol=0):
            continue
        dtype = ints[bias.type]
        old = np.frombuffer(bytes(bytearray(model.buffers[bias.buffer].data)), dtype)
        new = np.round(old.astype(np.float64) * have / want).astype(dtype)
        buf = schema_fb.BufferT()
        buf.data = new.tobytes()
        model.buffers.append(buf)
        copy = schema_fb.TensorT()
        copy.shape, copy.type, copy.buffer = list(bias.shape), bias.type, len(model.buffers) - 1
        copy.name = bias.name + b";own_scale" if isinstance(bias.name, bytes) else bias.name
        q = schema_fb.QuantizationParametersT()
        q.scale = [float(v) for v in want]
        q.zeroPoint = [0] * len(want)
        q.quantizedDimension = bias.quantization.quantizedDimension
        copy.quantization = q
        sub.tensors.append(copy)
        inputs = [int(i) for i in op.inputs]
        inputs[2] = len(sub.tensors) - 1
        op.inputs = inputs
        changed = True
    return changed


def _widen_int16_ranges(model: Any, factor: float) -> bool:
    """Every int16 activation tensor's scale times `factor`, and each conv/dense bias (stored at
    input scale x weight scale) rescaled to match, so the model computes the same function with
    `factor` times the headroom.

    Our own post-pass because the converter offers no range control in 16x8 mode (it goes
    through the legacy quantizer, which calibrates and quantizes in one call; the calibrate-only
    + MLIR quantizer route that the int8 variants use rejects int16). Scaling every activation
    tensor by the same factor keeps every op's same-scale constraint (PAD, MEAN, the ADDs of a
    residual) and every kernel derives its requantization from the tensors' scales at load.
    Works on the unpacked `model` in place; True when it changed anything (factor != 1)."""
    from tensorflow.lite.python import schema_py_generated as schema_fb

    if factor == 1.0:
        return False
    sub = model.subgraphs[0]

    def stored(t: Any) -> bool:
        return bool(model.buffers[t.buffer].data is not None and len(model.buffers[t.buffer].data))

    for t in sub.tensors:
        if t.type == schema_fb.TensorType.INT16 and not stored(t) and t.quantization is not None:
            if t.quantization.scale is not None:
                t.quantization.scale = [float(x) * factor for x in t.quantization.scale]
    ints = {schema_fb.TensorType.INT64: np.int64, schema_fb.TensorType.INT32: np.int32}
    # A bias tensor, or the buffer under it, can serve several ops: the copies of a multi-view
    # model (training/multiview.py) share their weights. Each is rescaled once, or a shared
    # bias would be divided by `factor` once per op that reads it.
    done_tensors: set[int] = set()
    done_buffers: set[int] = set()
    for op in sub.operators:
        if _op_name(model, op) not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        if len(op.inputs) < 3 or op.inputs[2] < 0 or op.inputs[2] in done_tensors:
            continue
        done_tensors.add(op.inputs[2])
        bias = sub.tensors[op.inputs[2]]
        bias.quantization.scale = [float(x) * factor for x in bias.quantization.scale]
        if bias.buffer in done_buffers:
            continue
        done_buffers.add(bias.buffer)
        buf = model.buffers[bias.buffer]
        dtype = ints[bias.type]
        values = np.frombuffer(bytes(bytearray(buf.data)), dtype).astype(np.float64)
        buf.data = np.round(values / factor).astype(dtype).tobytes()
    _requantize_int16_bounds(model)
    return True


def _requantize_int16_bounds(model: Any) -> None:
    """Each stored int16 operand of a MINIMUM or MAXIMUM (a Clip's bound) put on the scale of
    the op's other input, as a tensor and buffer of its own.

    Why: those kernels compare the integers of their inputs as they are, so both must share one
    scale; _widen_int16_ranges widens every activation but not a stored constant, and a bound
    left on its old scale clips at `factor` times itself (v3 bounded at its int8 ranges,
    training/bound_activations.py: 3 non-fragile flips on the export's check photos)."""
    from tensorflow.lite.python import schema_py_generated as schema_fb

    sub = model.subgraphs[0]
    for op in sub.operators:
        if _op_name(model, op) not in ("MINIMUM", "MAXIMUM") or len(op.inputs) != 2:
            continue
        for k in (0, 1):
            c, x = sub.tensors[op.inputs[k]], sub.tensors[op.inputs[1 - k]]
            data = model.buffers[c.buffer].data
            if c.type != schema_fb.TensorType.INT16 or data is None or not len(data):
                continue
            cq, xq = c.quantization, x.quantization
            if x.type != schema_fb.TensorType.INT16 or cq is None or xq is None:
                continue
            if cq.scale is None or xq.scale is None:
                continue

            def zero_point(q: Any) -> int:
                return int(q.zeroPoint[0]) if q.zeroPoint is not None else 0

            old = np.frombuffer(bytes(bytearray(data)), np.int16).astype(np.float64)
            value = (old - zero_point(cq)) * float(cq.scale[0])
            scale, zero = float(xq.scale[0]), zero_point(xq)
            q = np.clip(np.round(value / scale) + zero, -32768, 32767).astype(np.int16)
            buf = schema_fb.BufferT()
            buf.data = np.frombuffer(q.tobytes(), np.uint8)
            model.buffers.append(buf)
            t = schema_fb.TensorT()
            t.shape = None if c.shape is None else list(c.shape)
            t.type, t.name = c.type, (c.name or b"bound") + b"/requantized"
            t.buffer = len(model.buffers) - 1
            t.quantization = schema_fb.QuantizationParametersT()
            t.quantization.scale, t.quantization.zeroPoint = [scale], [zero]
            sub.tensors.append(t)
            inputs = [int(i) for i in op.inputs]
            inputs[k] = len(sub.tensors) - 1
            op.inputs = inputs


def _int16x8_post_pass(data: bytes, factor: float) -> bytes:
    """The 16x8 flatbuffer with each conv/dense bias at its own scale, then `factor` times the
    converter's activation ranges: one unpack and one repack for both (a ModelT round trip of
    a multi-view model takes seconds). The same bytes back when neither had anything to do."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema_fb

    model = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAsModel(data, 0))
    # order matters: the widening rescales each bias from the scale it has, so the biases must
    # first be at their own scale
    unshared = _unshare_int16_biases(model)
    widened = _widen_int16_ranges(model, factor)
    if not (unshared or widened):
        return data
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _check_only_denied_float(data: bytes, deny: set[str], variant: str) -> None:
    """Every op outside the float stem must have come out integer (what TFLITE_BUILTINS_INT8
    enforced before the stem existed): the quantizer leaves an op it cannot quantize in float
    without a word, and such a model would not be the full-integer variant its manifest names."""
    from tensorflow.lite.python import schema_py_generated as schema_fb

    model = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAsModel(data, 0))
    sub = model.subgraphs[0]
    stray = []
    for op in sub.operators:
        name = _op_name(model, op)
        out = sub.tensors[op.outputs[0]]
        if name != "DEQUANTIZE" and out.type == schema_fb.TensorType.FLOAT32:
            if out.name.decode() not in deny:
                stray.append(f"{name} {out.name.decode()!r}")
    if stray:
        raise TfliteConversionError(
            f"variant {variant!r}: ops outside the float stem stayed float32: {', '.join(stray)}"
        )


def _set_quantile_ranges(
    calibrated: bytes,
    model: Any,
    calibration: Callable[[], Iterable[list[np.ndarray]]],
    q: float,
) -> None:
    """Replace the calibrated min/max of every activation tensor (not the model input, whose
    range is the spec's) by quantile ranges measured on the same calibration photos."""
    from ai_edge_litert.interpreter import Interpreter

    sub = model.subgraphs[0]
    idx = _calibrated_activations(model)
    interp = Interpreter(
        model_content=calibrated, experimental_preserve_all_tensors=True, num_threads=1
    )
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]["index"]
    lo = {i: np.inf for i in idx}
    hi = {i: -np.inf for i in idx}
    for (x,) in calibration():
        interp.set_tensor(inp, x)
        interp.invoke()
        for i in idx:
            v = interp.get_tensor(i).ravel()
            a, b = np.quantile(v, [q, 1.0 - q])
            lo[i], hi[i] = min(lo[i], float(a)), max(hi[i], float(b))
    for i in idx:
        qp = sub.tensors[i].quantization
        qp.min = [min(lo[i], 0.0)]
        qp.max = [max(hi[i], 0.0)]


def _calibrated_activations(model: Any) -> list[int]:
    """The tensors whose per-tensor range calibration recorded: every activation, not the model
    input, whose range is the spec's."""
    sub = model.subgraphs[0]
    inputs = set(int(i) for i in sub.inputs)
    return [
        i
        for i, t in enumerate(sub.tensors)
        if i not in inputs
        and t.quantization is not None
        and t.quantization.min is not None
        and len(t.quantization.min) == 1
    ]


def _scale_ranges(model: Any, factor: float) -> None:
    """Every calibrated activation range times `factor`, before the quantizer turns ranges into
    scales."""
    sub = model.subgraphs[0]
    for i in _calibrated_activations(model):
        qp = sub.tensors[i].quantization
        qp.min = [float(qp.min[0]) * factor]
        qp.max = [float(qp.max[0]) * factor]


def describe_tflite(path: str | os.PathLike[str]) -> tuple[TensorInfo, TensorInfo, dict[str, int]]:
    """Read the interface (and op histogram) back from a written flatbuffer."""
    from ai_edge_litert.interpreter import Interpreter

    from nhkit.runtime.backends.tflite import model_input_offset

    with quiet_native_output():  # LiteRT announces its XNNPACK delegate on stderr
        interp = Interpreter(model_path=os.fspath(path))
        interp.allocate_tensors()
    infos: list[tuple[tuple[int, ...], str, str | None, dict[str, float | int] | None]] = []
    for d in (interp.get_input_details()[0], interp.get_output_details()[0]):
        scale, zp = d["quantization"]
        dtype = np.dtype(d["dtype"]).name
        quant: dict[str, float | int] | None = None
        if dtype == "int8":
            quant = {"scale": float(scale), "zero_point": int(zp)}
            if not infos:  # the input
                quant["offset"] = model_input_offset(interp, int(d["index"]))
        shape = tuple(int(v) for v in d["shape"])
        layout = (
            "NHWC" if len(shape) == 4 and shape[-1] == 3 else ("NCHW" if len(shape) == 4 else None)
        )
        infos.append((shape, dtype, layout, quant))
    ops: dict[str, int] = {}
    try:
        for op in interp._get_ops_details():  # noqa: SLF001 (only used for reporting)
            ops[op["op_name"]] = ops.get(op["op_name"], 0) + 1
    except Exception:  # pragma: no cover - reporting only
        ops = {}
    (ishape, idt, ilay, iq), (oshape, odt, _, oq) = infos
    return (
        TensorInfo(INPUT_NAME, ishape, idt, ilay, iq),
        TensorInfo(OUTPUT_NAME, oshape, odt, None, oq),
        dict(sorted(ops.items())),
    )


def build_tflite_variant(
    graph: Graph,
    variant_name: str,
    out_path: str | os.PathLike[str],
    *,
    calibration: np.ndarray | None = None,
) -> TfliteModelInfo:
    """Convert the graph to one TFLite variant at out_path.

    calibration: NHWC float32 batch [N,360,360,3] of preprocessed real images (spec steps 1-4),
    required for the full-int8 variants; fed one image at a time in the given order, which
    makes the calibration ranges, and so the file, deterministic."""
    if variant_name not in TFLITE_VARIANTS:
        raise TfliteConversionError(
            f"unknown TFLite variant {variant_name!r}; known: {', '.join(TFLITE_VARIANTS)}"
        )
    with quiet_native_output():
        import tensorflow as tf

    tf.random.set_seed(0)
    module = build_tf_module(graph, fuse_hardswish=variant_name != "int16x8")
    rep: Callable[[], Iterable[list[np.ndarray]]] | None = None
    if calibration is not None:
        cal = np.asarray(calibration, dtype=np.float32)
        if cal.ndim != 4 or cal.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3) or cal.shape[0] == 0:
            raise TfliteConversionError(
                f"calibration must be NHWC [N,{INPUT_SIZE},{INPUT_SIZE},3] with N >= 1, "
                f"got {cal.shape}"
            )

        def rep() -> Iterable[list[np.ndarray]]:
            for i in range(cal.shape[0]):
                yield [cal[i : i + 1]]

    data = _convert(module, variant_name, rep, graph)
    out = Path(out_path)
    out.write_bytes(data)
    inp, outp, ops = describe_tflite(out)
    if inp.shape != (1, INPUT_SIZE, INPUT_SIZE, 3) or int(np.prod(outp.shape)) != EMBEDDING_DIM:
        raise TfliteConversionError(
            f"converted model has input {list(inp.shape)} and output {list(outp.shape)}; "
            f"expected [1,{INPUT_SIZE},{INPUT_SIZE},3] and [1,{EMBEDDING_DIM}]"
        )
    return TfliteModelInfo(path=out, variant=variant_name, input=inp, output=outp, op_counts=ops)


def min_runtime_version(path: str | os.PathLike[str]) -> str:
    """The converter's own `min_runtime_version` metadata (the oldest TFLite that runs the ops
    and op versions in this file), read from the flatbuffer for the manifest's runtime field."""
    with quiet_native_output():
        from tensorflow.lite.python import schema_py_generated as schema_fb

    buf = Path(path).read_bytes()
    model = schema_fb.Model.GetRootAsModel(buf, 0)
    for i in range(model.MetadataLength()):
        md = model.Metadata(i)
        if md.Name() == b"min_runtime_version":
            data = model.Buffers(md.Buffer())
            raw = bytes(data.DataAsNumpy()) if data.DataLength() else b""
            text = raw.split(b"\0", 1)[0].decode("ascii", "replace").strip()
            if text:
                return text
    raise TfliteConversionError(f"{path}: converter wrote no min_runtime_version metadata")
