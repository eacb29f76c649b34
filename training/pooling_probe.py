"""Would a centre-weighted pooling bring crops closer without bringing distinct photos closer?
A probe on a trained model's own weights, on a split's *training* photos, before any training.

Why: "What fifteen phases show" (training/README.md) leaves crop invariance as the lever, and a
10 % crop removes the border cells of the network's last feature map (6 x 6 at the hash's input)
and rescales the rest. Replacing the global average pool by a fixed Gaussian weighting of the
cells (weights summing to 1, so the head sees features of the same scale) lowers the weight of
the cells a crop removes. Whether that helps more than it hurts the distinct pairs can be read
off the existing weights: run the network once up to its last feature map, then pool, apply the
head, project and threshold in numpy for each width. Width `inf` is the average pool, and must
reproduce the runtime's hashes bit for bit (checked and reported). The head was trained on the
average pool, so this is a lower bound on what training with the new pooling could reach, not
a candidate. No evaluation photo is read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))

import data  # noqa: E402
from calib_set import cross_distances  # noqa: E402
from mine_negatives import near_duplicates  # noqa: E402
from multiview import parse_scales, tf_views  # noqa: E402
from photo_hashes import distinct_tail, hasher_for, write_probe  # noqa: E402

from nhkit.runtime.decode import decode_image  # noqa: E402
from nhkit.runtime.edits import apply_edit, edit_seed, get_edit  # noqa: E402
from nhkit.runtime.hashing import bits_from_projections, project  # noqa: E402
from nhkit.runtime.tensor import normalise, to_layout  # noqa: E402


def last_pool(model: onnx.ModelProto) -> tuple[str, list[onnx.NodeProto]]:
    """The feature map the last GlobalAveragePool reads, and the nodes after that pool."""
    nodes = list(model.graph.node)
    i = max(k for k, n in enumerate(nodes) if n.op_type == "GlobalAveragePool")
    return nodes[i].input[0], nodes[i + 1 :]


def head_numpy(
    model: onnx.ModelProto, after: list[onnx.NodeProto], pooled: np.ndarray
) -> np.ndarray:
    """The nodes after the pool (Flatten, Gemm, HardSwish), in float32 numpy."""
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    x = pooled
    for n in after:
        if n.op_type == "Flatten":
            x = x.reshape(x.shape[0], -1)
        elif n.op_type == "Gemm":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0:
                raise SystemExit(f"{n.name}: Gemm attributes {attrs} not handled by the probe")
            w = inits[n.input[1]]
            x = x @ (w.T if attrs.get("transB", 0) else w) + inits[n.input[2]] * attrs.get(
                "beta", 1.0
            )
        elif n.op_type == "HardSwish":
            x = x * np.clip(x + 3.0, 0.0, 6.0) / 6.0
        else:
            raise SystemExit(f"{n.name}: {n.op_type} after the pool is not handled by the probe")
    return x.astype(np.float32)


def gaussian_weights(h: int, w: int, width: float) -> np.ndarray:
    """Cell weights exp(-r^2 / 2 width^2), r in units of the map's half-size, summing to 1."""
    if np.isinf(width):
        g = np.ones((h, w))
    else:
        ys = (np.arange(h) + 0.5) / h * 2 - 1
        xs = (np.arange(w) + 0.5) / w * 2 - 1
        r2 = ys[:, None] ** 2 + xs[None, :] ** 2
        g = np.exp(-r2 / (2 * width**2))
    return (g / g.sum()).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model folder (model.onnx, seed.dat)")
    data.add_training_photo_args(ap, HERE)
    ap.add_argument("--edit", default="crop_10%")
    ap.add_argument("--widths", default="inf,1.0,0.7,0.5,0.35")
    ap.add_argument("--threshold", type=int, default=19, help="T to report matches and FPs at")
    ap.add_argument("--views", default="1", help="the wrap's ladder, e.g. 1,0.8,0.64,0.512")
    ap.add_argument(
        "--shipped", help="the wrapped model folder the average pool must reproduce (--views)"
    )
    ap.add_argument("--out", required=True, help="results JSON")
    a = ap.parse_args()

    paths = data.training_photo_paths(a, data.load_split(a.split))
    onnx_path = os.path.join(a.model, "model.onnx")
    hasher = hasher_for(a.model)
    reference = hasher_for(a.shipped) if a.shipped else hasher
    scales = parse_scales(a.views)
    model = onnx.load(onnx_path)
    fmap_name, after = last_pool(model)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(
        onnx.helper.make_tensor_value_info(fmap_name, onnx.TensorProto.FLOAT, None)
    )
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    edit = get_edit(a.edit)

    # per kind, V arrays of N x C x H x W: each view's last feature map
    fmaps: dict[str, list[list[np.ndarray]]] = {"orig": [], "edit": []}
    runtime_bits = []
    for path in paths:
        decoded = decode_image(path)
        rgb = np.asarray(decoded.rgb, dtype=np.uint8)
        edited = np.asarray(apply_edit(edit, Image.fromarray(rgb), edit_seed(path)), np.uint8)
        for key, pixels in (("orig", rgb), ("edit", edited)):
            nhwc = normalise(hasher.prepare_rgb(pixels).rgb360[None], "NHWC")
            per_view = []
            for view in tf_views(nhwc, scales):
                x = to_layout(np.asarray(view, np.float32), "NHWC", "NCHW")
                per_view.append(sess.run([fmap_name], {"image": x})[0][0])
            fmaps[key].append(per_view)
            if key == "orig":
                runtime_bits.append(reference.hash_rgb(rgb).bits)
    runtime_bits = np.array(runtime_bits)
    stacked = {
        key: [np.stack([p[v] for p in maps]) for v in range(len(scales))]
        for key, maps in fmaps.items()
    }

    results = []
    iu = np.triu_indices(len(paths), 1)
    near_dup = near_duplicates(paths)[iu]  # frames, slices: not look-alikes, counted apart
    for width in [float(w) for w in a.widths.split(",")]:
        bits = {}
        for key, views in stacked.items():
            embs = []
            for f in views:
                g = gaussian_weights(f.shape[2], f.shape[3], width)
                pooled = np.einsum("nchw,hw->nc", f, g)[:, :, None, None]
                embs.append(head_numpy(model, after, pooled))
            emb = np.mean(embs, axis=0)  # the wrap: one equal-weight mean of the views
            bits[key] = bits_from_projections(project(hasher.seed, emb))
        dist = cross_distances(bits["orig"], bits["orig"])[iu]
        crop = np.sum(bits["orig"] != bits["edit"], axis=1)
        row = {
            "width": width,
            "edit": a.edit,
            "edit_mean": float(crop.mean()),
            "edit_p90": float(np.quantile(crop, 0.9)),
            f"edit_matched_at_{a.threshold}": float(np.mean(crop <= a.threshold)),
            **distinct_tail(dist, near_dup, a.threshold),
        }
        if np.isinf(width):
            row["hashes_identical_to_runtime"] = int(
                np.sum(np.all(bits["orig"] == runtime_bits, 1))
            )
        results.append(row)
        print(json.dumps(row))
    write_probe(
        a.out,
        __doc__.split("\n\n")[0],
        a,
        len(paths),
        int(len(iu[0])),
        feature_map=list(stacked["orig"][0].shape[1:]),
        views=scales,
        results=results,
    )


if __name__ == "__main__":
    main()
