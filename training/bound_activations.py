"""Bound a model's activations in float at the ranges full int8 gives them (phase 20).

Why: a full-int8 bundle saturates every activation at the range calibration gave its tensor
(export/tflite.py: per tensor, the widest per-photo RANGE_QUANTILE quantiles over the
calibration photos). On a photo unlike the calibration photos an activation goes past that
range; the int8 bundle clips it and the fp32 model does not, and the difference flows on to the
hash: v3's two non-fragile flips on the fresh set are such clipping (benchmarks/results/
int8_clipping_v3.md), and no range, calibration or float-layer recipe removed them without
costing every photo resolution (benchmarks/quantization.py ALSO_TRIED). This moves the clip into
the model: every activation the int8 export quantizes gets a Clip at those same ranges, measured
with the export's own statistic on the export's own calibration photos, so the float model and
its int8 bundle saturate alike and what is left between them is rounding. It is the reason
MobileNet v1/v2 bound their activations with ReLU6 ("robustness when used with low-precision
computation"); here each bound is measured rather than fixed at 6.

The float stem the int8 export keeps in float32 (export/tflite.py float_stem_nodes, the same
rule on the ONNX graph) and pass-through nodes (Flatten, Slice, Resize) are not bounded. On
photos like the calibration photos the bounds change nothing (they sit at the 1e-4 tails); the
model's hashes move only where the int8 bundle's would have clipped.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import model_folder
import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from nhkit.runtime.digest import sha256_file

REPO = Path(__file__).resolve().parents[1]
# The export's int8 recipe (export/tflite.py): the statistic and the float stem the bounds follow.
STEM_CONVS = 3
BOUNDED_OPS = frozenset(
    {
        "Conv",
        "BatchNormalization",
        "Relu",
        "HardSwish",
        "HardSigmoid",
        "GlobalAveragePool",
        "Mul",
        "Add",
        "Gemm",
        "MatMul",
    }
)
# A node the export fuses into its one consumer has no tensor of its own in the int8 bundle, so
# the consumer's output is bounded and not the node's: a convolution into its batch norm, its
# ReLU or its hard sigmoid (the bundle stores relu6(x + 3) from the convolution itself), a matmul
# into its bias add. A Clip between them would also keep the converter from fusing them: with
# one after every convolution, v3's full int8 ran 552 ops in 26.6 ms against 459 in 15.7 ms
# (2 threads; the Clips themselves folded by export/tflite.py FOLD_CLIPS_INTO_RANGES).
FUSED_INTO = {"Conv": {"BatchNormalization", "Relu", "HardSigmoid"}, "MatMul": {"Add"}}
# Ops whose output is never below 0, where a lower bound of 0 is no bound: it is left out, since
# the converter turns max(x, 0) into a RELU op that nothing folds (56 of them in v3's graph).
NONNEGATIVE = frozenset({"Relu", "HardSigmoid"})
ACTIVATIONS = frozenset({"Relu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid"})


def bounded_outputs(model: onnx.ModelProto, stem_convs: int = STEM_CONVS) -> list[str]:
    """Outputs to bound: every BOUNDED_OPS node past the float stem. The stem is what
    export/tflite.py float_stem_nodes keeps in float (every node before the stem_convs-th
    convolution along the depth, that convolution and the activation right after it), found on
    the ONNX graph by the same rule; in a multi-view or ensemble graph, of every copy."""
    g = model.graph
    inits = {t.name for t in g.initializer}
    depth: dict[str, int] = {i.name: 0 for i in g.input}
    producer: dict[str, onnx.NodeProto] = {}
    consumers: dict[str, list[str]] = {}
    for node in g.node:
        for x in node.input:
            consumers.setdefault(x, []).append(node.op_type)
    out: list[str] = []
    for node in g.node:  # ONNX graphs are topologically sorted
        d = max((depth.get(x, 0) for x in node.input if x and x not in inits), default=0)
        d += node.op_type == "Conv"
        for o in node.output:
            depth[o] = d
            producer[o] = node
        src = producer.get(node.input[0]) if node.input else None
        after_stem_conv = (
            node.op_type in ACTIVATIONS
            and src is not None
            and src.op_type == "Conv"
            and d == stem_convs
        )
        in_stem = d < stem_convs or (node.op_type == "Conv" and d == stem_convs)
        readers = consumers.get(node.output[0], [])
        fused = len(readers) == 1 and readers[0] in FUSED_INTO.get(node.op_type, set())
        if node.op_type in BOUNDED_OPS and not (in_stem or after_stem_conv or fused):
            out.append(node.output[0])
    if max(depth.values(), default=0) < stem_convs:
        raise ValueError(f"the graph has fewer than {stem_convs} convolutions in depth")
    return out


def measure_ranges(
    model: onnx.ModelProto, names: list[str], images: np.ndarray, q: float
) -> dict[str, tuple[float, float]]:
    """The export's statistic (export/tflite.py _set_quantile_ranges) on the ONNX tensors:
    per tensor the widest per-image q / 1 - q quantiles, widened to hold 0."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(
        helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names
    )
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    image = sess.get_inputs()[0].name
    lo = dict.fromkeys(names, np.inf)
    hi = dict.fromkeys(names, -np.inf)
    for i in range(len(images)):
        for n, v in zip(names, sess.run(names, {image: images[i : i + 1]})):
            a, b = np.quantile(v.ravel(), [q, 1.0 - q])
            lo[n], hi[n] = min(lo[n], float(a)), max(hi[n], float(b))
    return {n: (min(lo[n], 0.0), max(hi[n], 0.0)) for n in names}


def bound(model: onnx.ModelProto, ranges: dict[str, tuple[float, float]]) -> onnx.ModelProto:
    """`model` with a Clip after each named output, at its range (no lower bound where the op
    cannot go below it); the output keeps its name (the node now writes NAME/unbounded), so
    every consumer and the graph output read the bounded value."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    nodes = list(g.node)
    del g.node[:]
    for node in nodes:
        name = node.output[0] if node.output else ""
        if name not in ranges:
            g.node.append(node)
            continue
        lo, hi = ranges[name]
        raw = f"{name}/unbounded"
        node.output[0] = raw
        g.node.append(node)
        low = ""
        if not (lo == 0.0 and node.op_type in NONNEGATIVE):
            low = f"{name}/lo"
            g.initializer.append(numpy_helper.from_array(np.array(lo, np.float32), low))
        g.initializer.append(numpy_helper.from_array(np.array(hi, np.float32), f"{name}/hi"))
        g.node.append(helper.make_node("Clip", [raw, low, f"{name}/hi"], [name]))
    del g.value_info[:]
    onnx.checker.check_model(out)
    return out


def calibration_images(folder: Path) -> tuple[np.ndarray, list[str], str]:
    """The export's calibration inputs (spec steps 1-4, its views), their names and the
    sha256 of the sorted file digests."""
    import hashlib

    from nhkit.export.exporter import CALIBRATION_VIEWS
    from nhkit.export.verify import list_images, load_image_set
    from nhkit.runtime.spec import Spec

    files = list_images(folder, what="calibration")
    images = load_image_set(
        files, Spec(), what="calibration", views=CALIBRATION_VIEWS, source=str(folder)
    )
    digests = sorted(sha256_file(f) for f in files)
    return images.nchw(), images.names, hashlib.sha256("\n".join(digests).encode()).hexdigest()


def main() -> None:
    from nhkit.export.tflite import RANGE_QUANTILE

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="model folder (model.onnx, model.json, seed.f32, seed.dat)")
    ap.add_argument(
        "--calibration",
        type=Path,
        default=REPO / "export" / "data" / "calibration",
        help="the photos full int8 calibrates on (default: the export's)",
    )
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", required=True)
    a = ap.parse_args()
    model_folder.require(a.model)
    if RANGE_QUANTILE is None:
        raise SystemExit("export/tflite.py RANGE_QUANTILE is None: there is no statistic to follow")
    model = onnx.load(os.path.join(a.model, "model.onnx"))
    try:
        names = bounded_outputs(model)
    except ValueError as e:
        raise SystemExit(f"{a.model}/model.onnx: {e}") from None
    images, image_names, cal_sha = calibration_images(a.calibration)
    ranges = measure_ranges(model, names, images, RANGE_QUANTILE)
    bounded = bound(model, ranges)
    base = model_folder.card(a.model)
    info = dict(base)
    info.update(
        name=a.name,
        version=a.version,
        activation_bounds={
            "base": {"folder": a.model, "fingerprint": base.get("fingerprint")},
            "tensors": len(ranges),
            "statistic": f"per tensor, the widest per-image {RANGE_QUANTILE:g} / "
            f"{1 - RANGE_QUANTILE:g} quantiles, widened to hold 0 (export/tflite.py)",
            "calibration": {
                "folder": os.path.relpath(a.calibration, REPO),
                "images": len(image_names),
                "sha256_of_file_digests": cal_sha,
            },
        },
    )
    model_folder.write(a.out, bounded.SerializeToString(), a.model, info)
    print(json.dumps(info["activation_bounds"], indent=1))


if __name__ == "__main__":
    main()
