"""Core ML export: internal graph -> MIL Builder program -> ML program (.mlpackage) variants.

Why the MIL Builder and not a converter front end: the internal graph (`export/ir.py`) is
already a dozen explicit ops with BatchNorm folded and pads spelled out, and each maps onto one or
two MIL ops, so nothing is left for a converter to guess (ONNX->Core ML converters are gone from
coremltools, and going through TensorFlow would re-introduce 'same' padding asymmetries).

Variants (all iOS 16 ML programs, input `image` float32 [1,3,360,360] NCHW, output `embedding`
float32 [1,128]):

    fp32   compute precision fp32 (runs on CPU/GPU; the Neural Engine does not do fp32)
    fp16   compute precision fp16, fp16 weights (what the Neural Engine runs)
    int8   fp16 compute, weights linear-quantized to int8, symmetric, per output channel
           (`constexpr_affine_dequantize`)
    int8-b32  as int8 with one scale per block of BLOCK_SIZE input channels of each output
           channel (iOS 18's `constexpr_blockwise_shift_scale`): half int8's drift
    pal8   fp16 compute, weights palettized with k-means to a 256-entry LUT per tensor
    pal6   ... 64-entry LUT (6-bit indices)
    pal4   ... 16-entry LUT (4-bit indices)      (`constexpr_lut_to_dense`)

pal6 and pal4 palettize each convolution with one LUT per PALETTE_CONV_GROUP_SIZE output
channels (`per_grouped_channel`, iOS 18's `constexpr_lut_to_dense`), dense layers with one LUT per
tensor, and keep the last SENSITIVE_LAST_WEIGHT_OPS weight layer(s) (the embedding projection)
and the first SENSITIVE_FIRST_WEIGHT_FRACTION of the weight layers at 8 bits (256-entry LUTs per
tensor). Why: BatchNorm folding gives each conv output channel its own scale,
so one LUT per tensor spends its entries on the widest channels; grouped LUTs took pal6 on the
v2 stand-in model from mean 1.38 / max 6 to 0.78 / max 3 bits on 128 train-side tuning photos
(the big head dense layer loses nothing per tensor, and per tensor it stays small). The cost is
the deployment target: palettized variants below 8 bits need iOS 18 (`deployment_target`), as
do per-block int8 scales (`int8-b32`); the others stay iOS 16. A per-layer sensitivity scan of
per-tensor pal6 found the error spread over all layers, the embedding layer first;
per-channel-scaled k-means, emulated offline, did not help. See benchmarks/results/quantization.md.

Compression applies to conv/linear weights with at least `WEIGHT_THRESHOLD` elements
(coremltools' default, 2048): smaller tensors (biases, small depthwise kernels) stay fp16, since
quantizing them saves almost no bytes but costs accuracy. Compressed variants compute in fp16
because that is how they run on a phone; their drift therefore includes the fp16 drift.

Determinism (bundles must be byte-identical across exports): the conversion-date metadata is
dropped, the model spec is re-serialized with deterministic map order, and the random UUIDs of
the package's Manifest.json are replaced by name-based UUIDs. k-means uses a fixed random state
inside coremltools.

Every saved package is opened with nhkit's own Core ML executor before it is returned, so a
variant the executor cannot verify (an op it does not implement) fails here, at export time.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nhkit.runtime.errors import NhkitError

from .ir import BINARY_OPS, WEIGHT_OPS, Graph, Node, weight_depths

INPUT_NAME = "image"
OUTPUT_NAME = "embedding"
MINIMUM_DEPLOYMENT_TARGET = "iOS16"
# Palettized variants below 8 bits: output channels per conv LUT (None: one LUT per tensor, which
# keeps them at MINIMUM_DEPLOYMENT_TARGET). A conv whose output channels do not divide by it
# stays fp16 (coremltools skips it), so small groups are also the safe choice for other models.
PALETTE_CONV_GROUP_SIZE: int | None = 4
# The deployment target of the iOS 18 weight ops: grouped palettes and per-block scales.
IOS18_TARGET = "iOS18"
WEIGHT_THRESHOLD = 2048
# Palettized variants keep their most sensitive weights at this many bits (a 256-entry LUT, still
# iOS 16's `constexpr_lut_to_dense`): the last weight layer, which writes the embedding itself.
# An error there moves every projection at once (it was the most sensitive layer of a per-layer
# scan). On unseen photos it took pal6's non-fragile flips from 9 to 5 for 33 kB; the last two
# layers at 8 bits did no better for 180 kB (v1, benchmarks/results/quantization.md at 9213ccf).
# None: every weight at the variant's bits.
SENSITIVE_PALETTE_BITS: int | None = 8
SENSITIVE_LAST_WEIGHT_OPS = 1
# ... and the first 80% of the weight layers (44 of v2's 55, 22% of its weights): their rounding
# error is what the rest of the network carries (the same finding as TFLite fp16/dynamic-int8,
# export/tflite.py). On v2's tuning photos pal6 went from mean 0.689 / max 4 to 0.451 / max 3,
# and the file got smaller (1.68 -> 1.61 MB): one 256-entry LUT per small tensor costs less
# than one 64-entry LUT per 4 channels. (60% of the layers: 0.595 / max 4.) 0: none.
SENSITIVE_FIRST_WEIGHT_FRACTION = 0.8
_UUID_NAMESPACE = uuid.UUID("6f1d3c52-0f4e-5a43-9a0e-6e686b69742d")  # fixed: "nhkit" Core ML


@dataclass(frozen=True)
class CoreMLVariant:
    """What one variant is: compute precision and weight compression (as recorded in manifests)."""

    name: str
    precision: str  # "fp32" | "fp16": compute precision
    compression: str  # manifest `variant.compression`
    quantize: str | None = None  # "int8" for linear quantization
    palette_bits: int | None = None
    block_size: int | None = None  # per-block scales (iOS 18); None: per output channel


COREML_VARIANT_INFO: dict[str, CoreMLVariant] = {
    "fp32": CoreMLVariant("fp32", "fp32", "none"),
    "fp16": CoreMLVariant("fp16", "fp16", "fp16-weights"),
    "int8": CoreMLVariant("int8", "fp16", "int8-linear-weights", quantize="int8"),
    "int8-b32": CoreMLVariant(
        "int8-b32", "fp16", "int8-linear-block32-weights", quantize="int8", block_size=32
    ),
    "pal8": CoreMLVariant("pal8", "fp16", "palettized-8bit-kmeans", palette_bits=8),
    "pal6": CoreMLVariant("pal6", "fp16", "palettized-6bit-kmeans", palette_bits=6),
    "pal4": CoreMLVariant("pal4", "fp16", "palettized-4bit-kmeans", palette_bits=4),
}
COREML_VARIANTS: tuple[str, ...] = tuple(COREML_VARIANT_INFO)


def deployment_target(variant_name: str) -> str:
    """The iOS deployment target of a variant's ML program (the manifest's runtime.min_version):
    grouped palettes need iOS 18's `constexpr_lut_to_dense`, per-block scales its
    `constexpr_blockwise_shift_scale`; everything else runs on iOS 16."""
    v = COREML_VARIANT_INFO[variant_name]
    if v.block_size is not None or grouped_palette(v):
        return IOS18_TARGET
    return MINIMUM_DEPLOYMENT_TARGET


def grouped_palette(v: CoreMLVariant) -> bool:
    """Whether the variant's convs get one LUT per PALETTE_CONV_GROUP_SIZE output channels
    (below 8 bits only: an 8-bit LUT per tensor is already within every budget)."""
    return v.palette_bits is not None and v.palette_bits < 8 and bool(PALETTE_CONV_GROUP_SIZE)


class CoreMLConversionError(NhkitError):
    """The graph could not be turned into a Core ML variant (names the node or variant)."""


# --------------------------------------------------------------------------------------------
# graph -> MIL program


def _mil_pad(pads: Any) -> list[int]:
    """Internal (top, left, bottom, right) -> MIL conv `pad` (top, bottom, left, right)."""
    t, left, b, r = (int(v) for v in pads)
    return [t, b, left, r]


def _f32(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def _mil_conv(mb: Any, node: Node, x: Any, get: Callable[[str], Any], name: str) -> Any:
    a = node.attrs
    return mb.conv(
        x=x,
        weight=_f32(a["weight"]),
        bias=_f32(a["bias"]),
        strides=[int(s) for s in a["strides"]],
        pad_type="custom",
        pad=_mil_pad(a["pads"]),
        dilations=[int(d) for d in a["dilations"]],
        groups=int(a["groups"]),
        name=name,
    )


def _mil_clip(mb: Any, node: Node, x: Any, get: Callable[[str], Any], name: str) -> Any:
    lo, hi = float(node.attrs["min"]), float(node.attrs["max"])
    if lo == 0.0 and hi == 6.0:
        return mb.relu6(x=x, name=name)
    if lo == 0.0 and hi == math.inf:
        return mb.relu(x=x, name=name)
    if math.isinf(lo) and math.isinf(hi):
        return mb.identity(x=x, name=name)
    if math.isinf(hi):
        return mb.maximum(x=x, y=np.float32(lo), name=name)
    if math.isinf(lo):
        return mb.minimum(x=x, y=np.float32(hi), name=name)
    return mb.clip(x=x, alpha=np.float32(lo), beta=np.float32(hi), name=name)


def _mil_hardswish(mb: Any, node: Node, x: Any, get: Callable[[str], Any], name: str) -> Any:
    gate = mb.sigmoid_hard(x=x, alpha=1.0 / 6.0, beta=0.5, name=name + "_gate")
    return mb.mul(x=x, y=gate, name=name)  # x * clip(x/6 + 1/2, 0, 1)


def _mil_binary(mb: Any, node: Node, x: Any, get: Callable[[str], Any], name: str) -> Any:
    fn = {"add": mb.add, "sub": mb.sub, "mul": mb.mul, "div": mb.real_div}[node.op]
    return fn(x=get(node.inputs[0]), y=get(node.inputs[1]), name=name)


def _mil_crop(mb: Any, node: Node, x: Any, get: Callable[[str], Any], name: str) -> Any:
    top, left, h, w = (int(d) for d in node.attrs["box"])
    height, width = int(x.shape[2]), int(x.shape[3])
    return mb.crop(
        x=x,
        crop_height=[top, height - top - h],
        crop_width=[left, width - left - w],
        name=name,
    )


def _mil_resize_bilinear(mb: Any, node: Node, x: Any, get: Callable[[str], Any], name: str) -> Any:
    oh, ow = (int(d) for d in node.attrs["size"])
    # UNALIGN_CORNERS is half-pixel centres clamped at the edges: the IR's convention.
    return mb.resize_bilinear(
        x=x, target_size_height=oh, target_size_width=ow, sampling_mode="UNALIGN_CORNERS", name=name
    )


MilEmitter = Callable[[Any, Node, Any, Callable[[str], Any], str], Any]

# One MIL lowering per internal op (ir.OPS): (builder, node, first input, value getter, name).
MIL_EMITTERS: dict[str, MilEmitter] = {
    "conv": _mil_conv,
    "relu": lambda mb, n, x, get, name: mb.relu(x=x, name=name),
    "clip": _mil_clip,
    "hardswish": _mil_hardswish,
    "hardsigmoid": lambda mb, n, x, get, name: mb.sigmoid_hard(
        x=x, alpha=float(n.attrs["alpha"]), beta=float(n.attrs["beta"]), name=name
    ),
    "sigmoid": lambda mb, n, x, get, name: mb.sigmoid(x=x, name=name),
    **{op: _mil_binary for op in BINARY_OPS},
    "global_avg_pool": lambda mb, n, x, get, name: mb.reduce_mean(
        x=x, axes=[2, 3], keep_dims=True, name=name
    ),
    "flatten": lambda mb, n, x, get, name: mb.reshape(x=x, shape=[1, -1], name=name),
    "dense": lambda mb, n, x, get, name: mb.linear(
        x=x, weight=_f32(n.attrs["weight"]), bias=_f32(n.attrs["bias"]), name=name
    ),
    "reshape": lambda mb, n, x, get, name: mb.reshape(
        x=x, shape=[1] + [int(d) for d in n.attrs["shape"]], name=name
    ),
    "crop": _mil_crop,
    "resize_bilinear": _mil_resize_bilinear,
}


def _emit_node(mb: Any, node: Node, x: Any, get: Callable[[str], Any], name: str) -> Any:
    """One internal node as MIL Builder ops; returns the output Var."""
    emit = MIL_EMITTERS.get(node.op)
    if emit is None:
        raise CoreMLConversionError(
            f"node {node.name!r}: internal op {node.op!r} has no Core ML mapping"
        )
    return emit(mb, node, x, get, name)


def _mil_name(graph: Graph, node: Node) -> str:
    """The MIL op name of a node: the graph output's op is OUTPUT_NAME, so no other op may be."""
    if node.output == graph.output_name:
        return OUTPUT_NAME
    return node.output + "_" if node.output == OUTPUT_NAME else node.output


def build_mil_program(graph: Graph, target: str = MINIMUM_DEPLOYMENT_TARGET) -> Any:
    """The internal graph as a fresh MIL program (batch fixed at 1, fp32 throughout).

    A fresh program per variant matters: `ct.convert` rewrites the program it is given in place
    (fp16 casts, fusions), so one program must never be converted twice."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    shape = tuple(int(d) for d in graph.input_shape)
    if shape[0] != 1:
        shape = (1,) + shape[1:]

    @mb.program(
        input_specs=[mb.TensorSpec(shape=shape)],
        opset_version=getattr(ct.target, target),
    )
    def prog(image: Any) -> Any:
        vals: dict[str, Any] = {graph.input_name: image}

        def get(n: str) -> Any:
            if n in vals:
                return vals[n]
            if n in graph.constants:
                return np.asarray(graph.constants[n], dtype=np.float32)
            raise CoreMLConversionError(f"value {n!r} is used before it is produced")

        for node in graph.nodes:
            vals[node.output] = _emit_node(
                mb, node, get(node.inputs[0]), get, _mil_name(graph, node)
            )
        out = vals.get(graph.output_name)
        if out is None or graph.output_name == graph.input_name:
            raise CoreMLConversionError(
                f"graph output {graph.output_name!r} is not produced by any node"
            )
        return out

    fn = prog.functions["main"]
    if fn.inputs and INPUT_NAME not in fn.inputs:  # mb.program names the input after the arg
        raise CoreMLConversionError(f"MIL program input is {list(fn.inputs)}, not {INPUT_NAME!r}")
    return prog


# --------------------------------------------------------------------------------------------
# program -> variant package


def sensitive_weight_ops(graph: Graph) -> list[str]:
    """MIL names of the last SENSITIVE_LAST_WEIGHT_OPS conv/dense ops (output side first), then
    of the first SENSITIVE_FIRST_WEIGHT_FRACTION of them (input side first), counted along the
    network's depth (ir.weight_depths: in a graph of copies, those of every copy): the layers
    palettized variants keep at SENSITIVE_PALETTE_BITS. Named as build_mil_program names them
    (the graph output's op is called OUTPUT_NAME)."""
    depth = weight_depths(graph)
    layers = max(depth.values())
    weighted = [node for node in graph.nodes if node.op in WEIGHT_OPS]
    last = [n for n in weighted[::-1] if depth[n.output] > layers - SENSITIVE_LAST_WEIGHT_OPS]
    n_first = int(round(SENSITIVE_FIRST_WEIGHT_FRACTION * layers))
    first = [n for n in weighted if depth[n.output] <= n_first]
    chosen = last + [n for n in first if n not in last]
    return [_mil_name(graph, node) for node in chosen]


def _convert(graph: Graph, variant: CoreMLVariant) -> Any:
    import coremltools as ct

    precision = ct.precision.FLOAT32 if variant.precision == "fp32" else ct.precision.FLOAT16
    target = deployment_target(variant.name)
    model = ct.convert(
        build_mil_program(graph, target),
        convert_to="mlprogram",
        minimum_deployment_target=getattr(ct.target, target),
        compute_precision=precision,
        skip_model_load=True,
    )
    if variant.quantize:
        import coremltools.optimize.coreml as cto

        cfg = cto.OptimizationConfig(
            global_config=cto.OpLinearQuantizerConfig(
                mode="linear_symmetric",
                dtype=variant.quantize,
                granularity="per_channel" if variant.block_size is None else "per_block",
                block_size=variant.block_size,
                weight_threshold=WEIGHT_THRESHOLD,
            )
        )
        model = cto.linear_quantize_weights(model, cfg)
    elif variant.palette_bits:
        import coremltools.optimize.coreml as cto
        from threadpoolctl import threadpool_limits

        def palettizer(bits: int, group: int | None = None) -> Any:
            if group:
                return cto.OpPalettizerConfig(
                    mode="kmeans",
                    nbits=bits,
                    granularity="per_grouped_channel",
                    group_size=group,
                    weight_threshold=WEIGHT_THRESHOLD,
                )
            return cto.OpPalettizerConfig(
                mode="kmeans",
                nbits=bits,
                granularity="per_tensor",
                weight_threshold=WEIGHT_THRESHOLD,
            )

        sensitive = sensitive_weight_ops(graph)
        bits = SENSITIVE_PALETTE_BITS
        # ct.convert renames each op it re-types for fp16 compute (`<name>_cast_fp16`).
        suffix = "_cast_fp16" if variant.precision == "fp16" else ""
        grouped = grouped_palette(variant)
        cfg = cto.OptimizationConfig(
            global_config=palettizer(variant.palette_bits),
            op_type_configs=(
                {"conv": palettizer(variant.palette_bits, PALETTE_CONV_GROUP_SIZE)}
                if grouped
                else None
            ),
            op_name_configs=(
                {f"{name}{suffix}": palettizer(bits) for name in sensitive}
                if bits is not None and bits > variant.palette_bits
                else None
            ),
        )
        # scikit-learn's k-means sums in OpenMP/BLAS chunks whose order follows the thread
        # count; one thread makes the palettes (and so the bundle bytes) the same on machines
        # with different core counts.
        with threadpool_limits(limits=1):
            model = cto.palettize_weights(model, cfg)
    return model


def _make_deterministic(package: Path) -> None:
    """Re-serialize the spec with sorted maps and no conversion date; name-based manifest UUIDs."""
    from coremltools.proto import Model_pb2

    manifest_path = package / "Manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entries = manifest.get("itemInfoEntries", {})
    root = manifest.get("rootModelIdentifier")
    new_entries: dict[str, Any] = {}
    new_root = None
    for ident, entry in entries.items():
        new_id = str(uuid.uuid5(_UUID_NAMESPACE, str(entry.get("path", ident))))
        new_entries[new_id] = entry
        if ident == root:
            new_root = new_id
    manifest["itemInfoEntries"] = dict(sorted(new_entries.items()))
    manifest["rootModelIdentifier"] = new_root
    spec_path = package / "Data" / str(entries[root]["path"])
    spec = Model_pb2.Model()
    spec.ParseFromString(spec_path.read_bytes())
    meta = spec.description.metadata.userDefined
    if "com.github.apple.coremltools.conversion_date" in meta:
        del meta["com.github.apple.coremltools.conversion_date"]
    spec_path.write_bytes(spec.SerializeToString(deterministic=True))
    manifest_path.write_text(
        json.dumps(manifest, indent=4, sort_keys=True) + "\n", encoding="utf-8"
    )


def build_coreml_variant(graph: Graph, variant_name: str, out_path: str | os.PathLike[str]) -> Path:
    """Convert `graph` to the Core ML variant `variant_name` and save it at `out_path`
    (a new directory ending in `.mlpackage`). Returns the package path.

    The package is written under a temporary name next to `out_path` and renamed into place only
    after nhkit's executor has loaded it, so a failure leaves nothing behind."""
    if variant_name not in COREML_VARIANT_INFO:
        raise CoreMLConversionError(
            f"unknown Core ML variant {variant_name!r}; known: {', '.join(COREML_VARIANTS)}"
        )
    out = Path(out_path)
    if out.suffix != ".mlpackage":
        raise CoreMLConversionError(
            f"{out}: a Core ML ML program must be saved as a '.mlpackage' directory"
        )
    if out.exists():
        raise CoreMLConversionError(f"{out}: already exists; refusing to overwrite")
    if not out.parent.is_dir():
        raise CoreMLConversionError(f"{out.parent}: output folder does not exist")
    variant = COREML_VARIANT_INFO[variant_name]
    tmp_root = Path(tempfile.mkdtemp(prefix=".nhkit-coreml-", dir=out.parent))
    try:
        try:
            model = _convert(graph, variant)
        except CoreMLConversionError:
            raise
        except Exception as exc:  # coremltools raises a wide variety of types
            raise CoreMLConversionError(
                f"Core ML {variant_name}: coremltools failed: {type(exc).__name__}: {exc}"
            ) from exc
        tmp_pkg = tmp_root / out.name
        model.save(str(tmp_pkg))
        _make_deterministic(tmp_pkg)
        from nhkit.runtime.coreml.executor import CoreMLPackageError, MLProgram

        try:
            MLProgram.open(tmp_pkg)
        except CoreMLPackageError as exc:
            raise CoreMLConversionError(
                f"Core ML {variant_name}: the saved program cannot be "
                f"verified by nhkit's executor: {exc.reason}"
            ) from None
        os.replace(tmp_pkg, out)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return out


def coreml_model_io(graph: Graph) -> dict[str, list[dict[str, Any]]]:
    """The manifest `model.inputs` / `model.outputs` entries for any Core ML variant of `graph`.

    Core ML takes the canonical NCHW float32 tensor as is (fp16 variants cast inside the
    program), so the layout is NCHW and there is no quantization on either side."""
    shape = [1] + [int(d) for d in graph.input_shape[1:]]
    return {
        "inputs": [
            {
                "name": INPUT_NAME,
                "shape": shape,
                "dtype": "float32",
                "layout": "NCHW",
                "quantization": None,
            }
        ],
        "outputs": [
            {"name": OUTPUT_NAME, "shape": [1, 128], "dtype": "float32", "quantization": None}
        ],
    }
