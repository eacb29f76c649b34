"""Wrap a hash model so that it embeds several centre zooms of its input and averages them.

Why: "What fifteen phases show" (training/README.md) found that a 10 % crop moves every cell of
the last feature map (the 1.25x zoom, not the lost border, is what moves the hash), and no
recipe change moved the crop distance by more than 1.2 bits. A model that averages its own
embeddings over a ladder of centre zooms, 1.0 -> 0.8 -> 0.64 of the side, sees a 10 % crop
(which keeps the central 0.8) as the same ladder shifted by one rung, so most of its views
coincide with the original's; a 10 % border likewise. The wrap lives inside `model.onnx`: the
hash's interface (a 360 x 360 NCHW tensor in, a 128-d embedding out), the spec and every
runtime stay as they are, and the views are cut and resized by the graph, in float, after the
spec's own resize.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import model_folder
import numpy as np
import onnx
from onnx import helper, numpy_helper

SIZE = 360


def view_box(scale: float, size: int = SIZE) -> tuple[int, int]:
    """Start and end of the centred square a view keeps, in input pixels (side even-centred)."""
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"view scale {scale} is not in (0, 1]")
    side = int(round(size * scale))
    start = (size - side) // 2
    return start, start + side


# ITU-R BT.601 luma, as Pillow's convert("L"); the weights sum to 1, so they commute with the
# spec's normalisation x / 127.5 - 1 and apply to the model's input as they would to pixels.
LUMA = (0.299, 0.587, 0.114)


def _io(model: onnx.ModelProto) -> tuple[set[str], str, str]:
    """A hash model's initializer names, its one image input and its one embedding output."""
    g = model.graph
    inits = {t.name for t in g.initializer}
    inputs = [i.name for i in g.input if i.name not in inits]
    if len(inputs) != 1 or len(g.output) != 1:
        raise ValueError(f"expected one input and one output, got {inputs} and {len(g.output)}")
    return inits, inputs[0], g.output[0].name


def wrap(
    model: onnx.ModelProto,
    scales: list[float],
    gray_scales: list[float] | None = None,
    members: list[onnx.ModelProto] | None = None,
) -> onnx.ModelProto:
    """`model` with its input cut into one centre view per scale, each resized back to 360 x
    360 (bilinear, half-pixel centres: the convention TFLite, Core ML and onnxruntime share),
    embedded by its own copy of the network, and the embeddings averaged with equal weights.
    `gray_scales` adds views of the luma image (replicated to three channels, a fixed 1x1
    convolution) at those scales: a probe of colour invariance (training/multiview_probe.py);
    with no colour `scales` the network sees luma only, as PDQ and pHash do.

    The copies share every initializer, so the file grows by a few nodes, not by weights; one
    copy per view (not the views stacked on the batch axis) keeps every op per-sample, which
    is what nhkit's export graph and both device runtimes assume.

    `members` are further networks of the same interface (an ensemble, phase 20): each also
    embeds every view and joins the equal-weight mean. Their initializers are renamed `m1/`,
    `m2/`, ... so each keeps its own weights; with no members the graph is the plain wrap's,
    node for node (v3's model.onnx rebuilds byte-identical)."""
    if not scales and not gray_scales:
        raise ValueError("no view scales given")
    nets = [model, *(members or [])]
    ios = [_io(m) for m in nets]
    _, image, embedding = ios[0]
    for m in nets:
        if any(op.domain in ("", "ai.onnx") and op.version > 18 for op in m.opset_import):
            raise ValueError("the wrap writes opset 18 (Resize with axes); a model is newer")
    out = onnx.ModelProto()
    out.CopyFrom(model)
    og = out.graph
    del og.node[:]
    del og.value_info[:]
    for op in out.opset_import:
        if op.domain in ("", "ai.onnx"):
            op.version = 18

    def const(name: str, value: np.ndarray) -> str:
        og.initializer.append(numpy_helper.from_array(value, name))
        return name

    for j, m in enumerate(nets[1:], 1):
        for t in m.graph.initializer:
            renamed = onnx.TensorProto()
            renamed.CopyFrom(t)
            renamed.name = f"m{j}/{t.name}"
            og.initializer.append(renamed)

    axes = const("mv/axes", np.array([2, 3], np.int64))
    sizes = const("mv/sizes", np.array([SIZE, SIZE], np.int64))
    views = [(s, image) for s in scales]
    if gray_scales:
        luma = np.tile(np.array(LUMA, np.float32)[None, :, None, None], (3, 1, 1, 1))
        og.node.append(helper.make_node("Conv", [image, const("mv/luma", luma)], ["mv/gray"]))
        views += [(s, "mv/gray") for s in gray_scales]
    embeddings = []
    for k, (s, source) in enumerate(views):
        start, end = view_box(s)
        view = source
        if (start, end) != (0, SIZE):
            st = const(f"mv/start{k}", np.array([start, start], np.int64))
            en = const(f"mv/end{k}", np.array([end, end], np.int64))
            og.node.append(helper.make_node("Slice", [source, st, en, axes], [f"mv{k}/crop"]))
            og.node.append(
                helper.make_node(
                    "Resize",
                    [f"mv{k}/crop", "", "", sizes],
                    [f"mv{k}/view"],
                    mode="linear",
                    coordinate_transformation_mode="half_pixel",
                    axes=[2, 3],
                )
            )
            view = f"mv{k}/view"

        for j, (net, (net_inits, net_image, net_embedding)) in enumerate(zip(nets, ios)):
            scope = f"mv{k}/" if j == 0 else f"mv{k}m{j}/"
            weights = "" if j == 0 else f"m{j}/"

            def rename(
                x: str,
                scope: str = scope,
                weights: str = weights,
                net_inits: set[str] = net_inits,
                net_image: str = net_image,
                view: str = view,
            ) -> str:
                if not x:
                    return x
                if x in net_inits:
                    return weights + x
                return view if x == net_image else scope + x

            for node in net.graph.node:
                copy = onnx.NodeProto()
                copy.CopyFrom(node)
                copy.name = f"{scope}{node.name}" if node.name else ""
                copy.input[:] = [rename(x) for x in node.input]
                copy.output[:] = [rename(x) for x in node.output]
                og.node.append(copy)
            embeddings.append(rename(net_embedding))
    total = embeddings[0]
    for k, e in enumerate(embeddings[1:], 1):
        og.node.append(helper.make_node("Add", [total, e], [f"mv/sum{k}"]))
        total = f"mv/sum{k}"
    scale = const("mv/inv_views", np.array(1.0 / len(embeddings), np.float32))
    og.node.append(helper.make_node("Mul", [total, scale], [embedding]))
    onnx.checker.check_model(out)
    return out


def tf_luma(x):
    """The wrap's luma view of an NHWC batch as TensorFlow ops (train.py --luma): BT.601 luma
    replicated to three channels, the same weights as the wrap's fixed 1x1 convolution."""
    import tensorflow as tf

    y = tf.reduce_sum(tf.cast(x, tf.float32) * tf.constant(LUMA, tf.float32), -1, keepdims=True)
    return tf.repeat(y, 3, axis=-1)


def tf_views(x, scales: list[float]) -> list:
    """The wrap's views of an NHWC batch at its own size, as TensorFlow ops (for training
    through the wrap, train.py --views): the same centred boxes (view_box) and the same
    bilinear half-pixel resize back to the input size."""
    import tensorflow as tf

    size = int(x.shape[1])
    out = []
    for s in scales:
        start, end = view_box(s, size)
        if (start, end) == (0, size):
            out.append(x)
            continue
        crop = x[:, start:end, start:end, :]
        out.append(tf.image.resize(crop, [size, size], method="bilinear", antialias=False))
    return out


def parse_scales(text: str) -> list[float]:
    """`1,0.8,0.64` -> [1.0, 0.8, 0.64]."""
    return [float(s) for s in text.split(",") if s.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="candidate folder (model.onnx, model.json, seed.f32, seed.dat)")
    ap.add_argument("--scales", required=True, help="the ladder, e.g. 1,0.8,0.64,0.512")
    ap.add_argument(
        "--gray-scales",
        default="",
        help="views of the luma image at these scales; a network trained with train.py --luma "
        "takes only these (--scales '')",
    )
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument(
        "--members",
        default="",
        help="comma-separated further candidate folders (same seed) whose networks join the "
        "mean at every view: an ensemble (phase 20)",
    )
    a = ap.parse_args()
    member_dirs = [m for m in a.members.split(",") if m]
    for folder in [a.model, *member_dirs]:
        model_folder.require(folder, "candidate")
    seed = Path(a.model, "seed.f32").read_bytes()
    for folder in member_dirs:
        if Path(folder, "seed.f32").read_bytes() != seed:
            raise SystemExit(
                f"{folder}/seed.f32: not {a.model}'s seed; an ensemble averages embeddings "
                "that one seed projects, so every member must share it"
            )
    scales, gray = parse_scales(a.scales), parse_scales(a.gray_scales)
    base = model_folder.card(a.model)
    if (base.get("training") or {}).get("luma") and scales:
        raise SystemExit(
            f"{a.model}: its network was trained on luma (train.py --luma); give its views as "
            "--gray-scales and --scales ''"
        )
    try:
        wrapped = wrap(
            onnx.load(os.path.join(a.model, "model.onnx")),
            scales,
            gray,
            members=[onnx.load(os.path.join(m, "model.onnx")) for m in member_dirs],
        )
    except ValueError as e:
        raise SystemExit(f"{a.model}/model.onnx: {e}") from None
    cards = [base, *(model_folder.card(m) for m in member_dirs)]
    info = dict(base)
    info.update(
        name=a.name,
        version=a.version,
        opset=18,
        macs_360=sum(int(c["macs_360"]) for c in cards) * (len(scales) + len(gray))
        if all(c.get("macs_360") for c in cards)
        else None,
        verification_onnxruntime_vs_keras=None,  # the wrap has no Keras twin
        multiview={
            "base": {"folder": a.model, "fingerprint": base["fingerprint"]},
            "scales": scales,
            "views": [list(view_box(s)) for s in scales],
            "combine": "mean of the views' embeddings; each view a centre square of the "
            "360 x 360 input, resized back to 360 x 360 (bilinear, half-pixel centres)",
        },
    )
    if member_dirs:
        info["multiview"]["members"] = [
            {"folder": m, "fingerprint": c["fingerprint"]} for m, c in zip(member_dirs, cards[1:])
        ]
        info["multiview"]["combine"] = (
            "mean of every member's embedding of every view (the base's and each member's "
            "network on each view, equal weights); views as the plain wrap's"
        )
    if gray:  # after the members' text, which replaces the plain wrap's
        info["multiview"]["gray_scales"] = gray
        info["multiview"]["gray_views"] = [list(view_box(s)) for s in gray]
        info["multiview"]["combine"] += (
            "; the views at gray_scales are of the input's BT.601 luma, replicated to three "
            "channels (a fixed 1x1 convolution)"
        )
    model_folder.write(a.out, wrapped.SerializeToString(), a.model, info)
    print(json.dumps(info["multiview"], indent=1))


if __name__ == "__main__":
    main()
