"""Would more input resolution help? A probe of a trained model's own weights at larger inputs,
on a split's *training* photos, before any training or evaluation: no evaluation photo is read.

Why: every shipped model sees its 360 x 360 input through a 2 x 2 average pool, at 180 x 180
(training/model.py `input_pool`), and "What fifteen phases show" names more resolution as a
lever left for the look-alike pairs (two boards of one maker, whose differences are a few
connectors). Training a network at a higher resolution costs (size / 180)^2 on every target
and sessions of training on two cores, so this probe asks first what the trained weights do
when the pool is replaced by an antialiased bilinear resize to a larger side, under the same
wrap of centre zooms (`multiview.wrap`). Convolutional weights trained at one resolution are
known to transfer to a moderately larger one (Touvron et al. 2019, "Fixing the train-test
resolution discrepancy"); if the distinct tail thins at a larger side while crops hold, a
training run at that side is worth its cost; if it does not move, the probe spares that run.

The row `pool` is the model itself and must give the shipped wrap's hashes bit for bit
(checked and reported); the row 180 is the resize at the pool's own side (bilinear with
antialias, not the box), which shows how much the filter alone moves.

`--fixres N` adds, for each larger side, a row with the network's statistics carried over to it,
as Touvron et al.'s train-test resolution fix does without training: each convolution's output
channels are moved, in graph order, from their mean and spread at the side to the ones the
trained network had at its own side (the pool), over the first N training photos, and the
correction is folded into that convolution's weights and bias. A fine-tuning at a larger side
starts there; if even this does not thin the tail, training at that side is not worth its cost.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))

import data  # noqa: E402
from calib_set import cross_distances  # noqa: E402
from mine_negatives import near_duplicates  # noqa: E402
from multiview import parse_scales, wrap  # noqa: E402
from multiview_probe import edit_distances, embed, prepared  # noqa: E402
from photo_hashes import distinct_tail, hasher_for, write_probe  # noqa: E402

from nhkit.runtime.hashing import bits_from_projections, project  # noqa: E402
from nhkit.runtime.tensor import normalise  # noqa: E402


def at_side(model: onnx.ModelProto, side: int) -> onnx.ModelProto:
    """`model` with its input pool (the first node: a 2 x 2 stride-2 depthwise average) replaced
    by an antialiased bilinear resize of the 360 x 360 input to side x side."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    first = g.node[0]
    attrs = {a.name: list(a.ints) for a in first.attribute if a.ints}
    weights = {t.name: t for t in g.initializer}.get(
        first.input[1] if first.op_type == "Conv" else ""
    )
    if (
        weights is None
        or attrs.get("strides") != [2, 2]
        or attrs.get("kernel_shape") != [2, 2]
        or not np.all(numpy_helper.to_array(weights) == 0.25)
    ):
        raise ValueError("the model's first node is not the 2 x 2 input pool")
    sizes = f"{first.output[0]}/sizes"
    g.initializer.append(numpy_helper.from_array(np.array([side, side], np.int64), sizes))
    resize = helper.make_node(
        "Resize",
        [first.input[0], "", "", sizes],
        [first.output[0]],
        mode="linear",
        coordinate_transformation_mode="half_pixel",
        antialias=1,
        axes=[2, 3],
    )
    del g.node[0]
    g.node.insert(0, resize)
    if not any(first.input[1] in n.input for n in g.node):  # the pool's weights, now unused
        kept = [t for t in g.initializer if t.name != first.input[1]]
        del g.initializer[:]
        g.initializer.extend(kept)
    for op in out.opset_import:
        if op.domain in ("", "ai.onnx"):
            op.version = max(op.version, 18)
    del g.value_info[:]
    onnx.checker.check_model(out)
    return out


def _conv_stats(model: onnx.ModelProto, convs: list[str], x: np.ndarray) -> dict:
    """Per-channel mean and spread of each named Conv output over the batch `x` (NCHW)."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for name in convs:
        probe.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    stats: dict = {}
    for i in range(0, len(x), 16):
        for name, z in zip(convs, sess.run(convs, {"image": x[i : i + 16]})):
            z = z.transpose(1, 0, 2, 3).reshape(z.shape[1], -1).astype(np.float64)
            acc = stats.setdefault(name, [0, 0.0, 0.0])
            acc[0] += z.shape[1]
            acc[1] = acc[1] + z.sum(1)
            acc[2] = acc[2] + (z**2).sum(1)
    out = {}
    for name, (n, s1, s2) in stats.items():
        mean = s1 / n
        out[name] = (mean, np.sqrt(np.maximum(s2 / n - mean**2, 1e-12)))
    return out


def fix_resolution(resized: onnx.ModelProto, reference: onnx.ModelProto, x: np.ndarray):
    """`resized` (the network at a new side) with each spatial Conv's output channels moved to
    the mean and spread they have in `reference` (the network at its trained side) on the same
    inputs `x`, one convolution at a time in graph order, folded into its weights and bias."""
    out = onnx.ModelProto()
    out.CopyFrom(resized)
    inits = {t.name: t for t in out.graph.initializer}
    convs = [n.output[0] for n in out.graph.node if n.op_type == "Conv" and n.input[0] != "image"]
    want = _conv_stats(reference, convs, x)
    by_out = {n.output[0]: n for n in out.graph.node}
    fixed = []
    for name in convs:
        have_mean, have_sd = _conv_stats(out, [name], x)[name]
        want_mean, want_sd = want[name]
        if np.allclose(have_sd, 0.0) or np.allclose(want_sd, 0.0):
            continue
        gain = want_sd / np.maximum(have_sd, 1e-6)
        node = by_out[name]
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float64)
        if len(node.input) < 3:  # a convolution without a bias (a BatchNorm follows) gets one
            bias = numpy_helper.from_array(np.zeros(w.shape[0], np.float32), name + "/fix_b")
            out.graph.initializer.append(bias)
            inits[bias.name] = out.graph.initializer[-1]
            node.input.append(bias.name)
        b = numpy_helper.to_array(inits[node.input[2]]).astype(np.float64)
        shape = (-1,) + (1,) * (w.ndim - 1)
        w2 = (w * gain.reshape(shape)).astype(np.float32)
        b2 = ((b - have_mean) * gain + want_mean).astype(np.float32)
        inits[node.input[1]].CopyFrom(numpy_helper.from_array(w2, node.input[1]))
        inits[node.input[2]].CopyFrom(numpy_helper.from_array(b2, node.input[2]))
        fixed.append(name)
    return out, len(fixed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="single-view model folder (model.onnx, seed)")
    ap.add_argument("--shipped", help="the shipped wrap of --model (checked bit for bit)")
    data.add_training_photo_args(ap, HERE)
    ap.add_argument("--sides", default="pool,180,216,252,288,360")
    ap.add_argument("--scales", default="1,0.8,0.64,0.512", help="the wrap's ladder")
    ap.add_argument("--edits", default="crop_10%,border_10%,rotate_5,bright_1.2,grayscale")
    ap.add_argument("--threshold", type=int, default=19, help="T to report matches and FPs at")
    ap.add_argument(
        "--fixres", type=int, default=0, help="photos to carry the statistics over with (0: no)"
    )
    ap.add_argument("--out", required=True, help="results JSON")
    a = ap.parse_args()

    t0 = time.time()
    hasher = hasher_for(a.model)
    model = onnx.load(os.path.join(a.model, "model.onnx"))
    scales = parse_scales(a.scales)
    paths = data.training_photo_paths(a, data.load_split(a.split))
    edits = [e for e in a.edits.split(",") if e]
    stacked = prepared(hasher, paths, edits)
    print(f"{len(paths)} photos prepared in {time.time() - t0:.0f} s", flush=True)

    iu = np.triu_indices(len(paths), 1)
    near_dup = near_duplicates(paths)[iu]
    results = []
    calib = normalise(stacked["orig"][: a.fixres], "NCHW") if a.fixres else None
    runs = [(s, False) for s in a.sides.split(",") if s]
    runs += [(s, True) for s, _ in runs if calib is not None and s != "pool"]
    for side, fix in runs:
        try:
            base = model if side == "pool" else at_side(model, int(side))
        except ValueError as e:
            raise SystemExit(f"{a.model}/model.onnx: {e}") from None
        extra: dict = {}
        if fix:
            base, n_fixed = fix_resolution(base, model, calib)
            extra = {"fixres_photos": a.fixres, "fixres_convs": n_fixed}
        sess = ort.InferenceSession(
            wrap(base, scales).SerializeToString(), providers=["CPUExecutionProvider"]
        )
        bits = {
            k: bits_from_projections(project(hasher.seed, embed(sess, v)))
            for k, v in stacked.items()
        }
        dist = cross_distances(bits["orig"], bits["orig"])[iu]
        row: dict = {"side": side, **extra, **distinct_tail(dist, near_dup, a.threshold)}
        row.update(edit_distances(bits, edits, a.threshold))
        if side == "pool" and a.shipped:
            shipped = hasher_for(a.shipped)
            want = np.array([shipped.hash_rgb(x).bits for x in stacked["orig"]])
            row["hashes_identical_to_shipped"] = int(np.sum(np.all(want == bits["orig"], 1)))
        row["seconds_so_far"] = round(time.time() - t0)
        results.append(row)
        print(row, flush=True)
    write_probe(
        a.out,
        __doc__.split("\n\n")[0],
        a,
        len(paths),
        int(len(iu[0])),
        scales=scales,
        seconds=round(time.time() - t0),
        results=results,
    )


if __name__ == "__main__":
    main()
