"""Write the trained Keras network as ONNX (our own writer, onnx.helper) and ship a model folder.

    python training/to_onnx.py --ckpt training/checkpoints/run1 \
        --out runtime/models/nhkit-mnv3s-v1 --photos ../shared/photos

- Replays the builder's topology (training/model.py) op by op: BatchNorm folded into the
  preceding Conv, explicit symmetric pads, NCHW, opset 17, dynamic batch dimension 'N'.
- BatchNorm recalibration (training/bn_recal.py): BN statistics re-estimated at 360 px on
  training photos and augmented training pairs (the moving averages of a short run lag and were
  gathered mostly at 160-224 px); weights unchanged.
- Head scale: a positive factor folded into the last Gemm so the projections S @ e have RMS 1.0
  over the training photos (the hash is invariant to positive scaling; this makes an absolute
  fragile_margin meaningful).
- Verification (always run): onnxruntime vs Keras on real photos through the spec's
  preprocessing; max abs error must be <= 1e-4 relative to the output RMS and every hash must be
  identical, or the script fails.
- Writes model.onnx, seed.dat (b"NHKITSEED v1" header + 96x128 LE float32), seed.f32 and
  model.json (name, version, fragile_margin, input/output, sha256s, verification, training info).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from nhkit.runtime.decode import decode_image  # noqa: E402
from nhkit.runtime.digest import onnx_fingerprint, seed_sha256, sha256_file  # noqa: E402
from nhkit.runtime.hashing import project  # noqa: E402
from nhkit.runtime.resize import resize_rgb  # noqa: E402
from nhkit.runtime.tensor import normalise  # noqa: E402

OPSET = 17
SEED_HEADER = b"NHKITSEED v1"


def opset_of(topo) -> int:
    """OPSET, or 18 for a network with an input resize (Resize's `axes` came in opset 18, as
    the wrap of multiview.py writes it); the models before phase 22 are written as they were."""
    return 18 if any(op == "resize" for op, *_ in topo) else OPSET


def build_onnx(model, topo, head_scale=1.0, size=360):
    nodes, inits = [], []
    names = {"image": "image"}

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    for op, name, ins, ex in topo:
        x = [names[i] for i in ins]
        out = name
        if op == "conv_bn":
            conv = model.get_layer(name)
            bn = model.get_layer(ex["bn"])
            k = conv.kernel.numpy()  # kh, kw, cin, cout  |  depthwise: kh, kw, cin, 1
            if ex["depthwise"]:
                w = k.transpose(2, 3, 0, 1)  # cin, 1, kh, kw
                group = w.shape[0]
            else:
                w = k.transpose(3, 2, 0, 1)  # cout, cin, kh, kw
                group = 1
            gamma, beta = bn.gamma.numpy(), bn.beta.numpy()
            mean, var = bn.moving_mean.numpy(), bn.moving_variance.numpy()
            s = gamma / np.sqrt(var + bn.epsilon)
            wf = (w.astype(np.float64) * s[:, None, None, None]).astype(np.float32)
            bf = (beta - mean * s).astype(np.float32)
            kk = ex["k"]
            p = ex["pad"] if ex["stride"] == 2 else (kk - 1) // 2
            nodes.append(
                helper.make_node(
                    "Conv",
                    [x[0], init(name + ".w", wf), init(name + ".b", bf)],
                    [out],
                    name=name,
                    kernel_shape=[kk, kk],
                    strides=[ex["stride"]] * 2,
                    pads=[p, p, p, p],
                    group=group,
                    dilations=[1, 1],
                )
            )
        elif op == "conv_bias":
            conv = model.get_layer(name)
            w = conv.kernel.numpy().transpose(3, 2, 0, 1)
            nodes.append(
                helper.make_node(
                    "Conv",
                    [x[0], init(name + ".w", w), init(name + ".b", conv.bias.numpy())],
                    [out],
                    name=name,
                    kernel_shape=[1, 1],
                    strides=[1, 1],
                    pads=[0, 0, 0, 0],
                )
            )
        elif op == "avgpool":
            # written as a fixed depthwise Conv (weights 1/k^2): Conv is in every target's op set
            kk = ex["k"]
            w = np.full((3, 1, kk, kk), 1.0 / (kk * kk), np.float32)
            nodes.append(
                helper.make_node(
                    "Conv",
                    [x[0], init(name + ".w", w)],
                    [out],
                    name=name,
                    kernel_shape=[kk, kk],
                    strides=[kk, kk],
                    pads=[0, 0, 0, 0],
                    group=3,
                )
            )
        elif op == "relu":
            nodes.append(helper.make_node("Relu", x, [out], name=name))
        elif op == "hswish":
            nodes.append(helper.make_node("HardSwish", x, [out], name=name))
        elif op == "hsigmoid":
            nodes.append(
                helper.make_node("HardSigmoid", x, [out], name=name, alpha=1.0 / 6.0, beta=0.5)
            )
        elif op == "gap":
            nodes.append(helper.make_node("GlobalAveragePool", x, [out], name=name))
        elif op == "gap_flat":
            nodes.append(helper.make_node("GlobalAveragePool", x, [name + ".pool"], name=name))
            nodes.append(
                helper.make_node("Flatten", [name + ".pool"], [out], name=name + "_flat", axis=1)
            )
        elif op == "resize":  # linear, half-pixel, no antialias: as Keras Resizing and TFLite
            sizes = np.array([ex["side"], ex["side"]], np.int64)
            inits.append(numpy_helper.from_array(sizes, name + ".sizes"))
            nodes.append(
                helper.make_node(
                    "Resize",
                    [x[0], "", "", name + ".sizes"],
                    [out],
                    name=name,
                    mode="linear",
                    coordinate_transformation_mode="half_pixel",
                    axes=[2, 3],
                )
            )
        elif op == "mul":
            nodes.append(helper.make_node("Mul", x, [out], name=name))
        elif op == "add":
            nodes.append(helper.make_node("Add", x, [out], name=name))
        elif op == "dense":
            d = model.get_layer(name)
            w, b = d.kernel.numpy(), d.bias.numpy()
            if name == "embedding":
                w, b = w * head_scale, b * head_scale
            nodes.append(
                helper.make_node(
                    "Gemm", [x[0], init(name + ".w", w), init(name + ".b", b)], [out], name=name
                )
            )
        else:
            raise ValueError(f"unknown op {op}")
        names[name] = out
    assert topo[-1][1] == "embedding"
    graph = helper.make_graph(
        nodes,
        "nhkit_mnv3s",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 128])],
        initializer=inits,
    )
    m = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset_of(topo))],
        producer_name="nhkit training/to_onnx.py",
    )
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def list_photos(photo_dir, files):
    return [os.path.join(photo_dir, f) for f in files]


def preprocess(paths):
    return np.stack([resize_rgb(decode_image(p).rgb, 360) for p in paths])


def keras_embed(model, rgb360, batch=8):
    out = []
    for i in range(0, len(rgb360), batch):
        x = normalise(rgb360[i : i + batch], "NHWC")
        out.append(np.asarray(model(x, training=False)))
    return np.concatenate(out).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ckpt", required=True, help="checkpoint folder (model.weights.h5, seed.f32)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--photos", default=os.path.join(HERE, "..", "..", "shared", "photos"))
    ap.add_argument("--extra", default=os.path.join(HERE, "..", "..", "shared", "photos_extra"))
    ap.add_argument("--split", default=os.path.join(HERE, "split.json"))
    ap.add_argument("--name", default="nhkit-mnv3s-v1")
    ap.add_argument("--version", default="1.0.0")
    ap.add_argument("--fragile-margin", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--input-pool",
        type=int,
        default=None,
        help="average-pool the 360 px input by this factor in front of the backbone (default 2; "
        "a run trained with --input-side has its resize instead and takes no pool)",
    )
    ap.add_argument(
        "--recal-batches",
        type=int,
        default=24,
        help="augmented 360 px batches for BN recalibration (0 = no recalibration)",
    )
    a = ap.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(a.threads)
    tf.config.threading.set_inter_op_parallelism_threads(a.threads)
    import onnxruntime as ort
    from model import LAST_CONV, build_model, count_macs

    split = json.load(open(a.split))
    state_path = os.path.join(a.ckpt, "state.json")
    state = json.load(open(state_path)) if os.path.exists(state_path) else {}
    side = state.get("input_side")  # phase 22: the run saw its batches resized to this side
    if side and a.input_pool not in (None, 1):
        raise SystemExit(
            f"{state_path}: the run was trained through a resize to {side} px (input_side); "
            f"--input-pool {a.input_pool} does not apply to it"
        )
    pool = 1 if side else (2 if a.input_pool is None else a.input_pool)
    model, topo = build_model(
        input_pool=pool, last_conv=state.get("last_conv", LAST_CONV), input_side=side
    )
    model.load_weights(os.path.join(a.ckpt, "model.weights.h5"))
    seed = np.fromfile(os.path.join(a.ckpt, "seed.f32"), "<f4").reshape(96, 128)

    if split.get("version") == 2:
        # names are "photos/<rel>" or "photos_extra/<rel>"; the evaluation side is never read
        roots = {"photos": a.photos, "photos_extra": a.extra}
        train_paths = [
            os.path.join(roots[f.split("/", 1)[0]], f.split("/", 1)[1]) for f in split["train"]
        ]
        held_paths: list[str] = []
        recal_dir, recal_files = roots, split["train"]
    else:
        train_paths = list_photos(a.photos, split["train"])
        held_paths = list_photos(a.photos, split["held_out"])
        recal_dir, recal_files = a.photos, split["train"]
    train_rgb = preprocess(train_paths)
    # 0. BatchNorm recalibration at 360 px (training photos + augmented training pairs only)
    recal = 0
    if a.recal_batches > 0:
        import bn_recal

        recal = bn_recal.recalibrate(
            model, train_rgb, recal_dir, recal_files, batches=a.recal_batches
        )
        model.save_weights(os.path.join(a.ckpt, "model.recal.weights.h5"))

    # 1. head scale from the training photos
    e_train = keras_embed(model, train_rgb)
    p_train = project(seed, e_train)
    rms = float(np.sqrt(np.mean(p_train**2)))
    head_scale = 1.0 / rms
    print(
        f"projection RMS over {len(train_rgb)} training photos {rms:.4g} -> head scale "
        f"{head_scale:.6g}"
    )

    # 2. ONNX
    m = build_onnx(model, topo, head_scale)
    sf = seed.astype("<f4").tobytes()
    for k, v in (
        ("nhkit.name", a.name),
        ("nhkit.version", a.version),
        ("nhkit.seed_sha256", seed_sha256(seed)),
        ("nhkit.fragile_margin", repr(a.fragile_margin)),
        ("nhkit.spec", "nh-spec-v1"),
    ):
        m.metadata_props.append(onnx.StringStringEntryProto(key=k, value=v))
    m.doc_string = "nhkit default perceptual-hash embedding (training/to_onnx.py)"
    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, "model.onnx")
    onnx.save(m, onnx_path)

    # 3. verification: onnxruntime vs Keras on real photos (held out + training)
    held_rgb = preprocess(held_paths) if held_paths else train_rgb[32:96]
    ver_rgb = np.concatenate([held_rgb, train_rgb[:32]])
    e_keras = keras_embed(model, ver_rgb) * np.float32(head_scale)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    x = normalise(ver_rgb, "NCHW")
    e_ort = np.concatenate(
        [sess.run(["embedding"], {"image": x[i : i + 8]})[0] for i in range(0, len(x), 8)]
    )
    e_ort1 = sess.run(["embedding"], {"image": x[:1]})[0]  # batch 1 == batch 8
    err = float(np.max(np.abs(e_ort - e_keras)))
    scale_out = float(np.sqrt(np.mean(e_keras**2)))
    p_k, p_o = project(seed, e_keras), project(seed, e_ort)
    bits_k, bits_o = p_k >= 0, p_o >= 0
    n_diff_hash = int(np.sum(np.any(bits_k != bits_o, axis=1)))
    b1 = float(np.max(np.abs(e_ort1 - e_ort[:1])))
    held_p = project(seed, e_ort[: len(held_rgb)])
    ver = {
        "photos": int(len(ver_rgb)),
        "max_abs_err": err,
        "output_rms": scale_out,
        "max_abs_err_relative": err / scale_out,
        "hashes_identical": n_diff_hash == 0,
        "hashes_differing": n_diff_hash,
        "batch1_vs_batch8_max_abs": b1,
        "max_abs_proj_err": float(np.max(np.abs(p_k - p_o))),
        "min_abs_projection": float(np.min(np.abs(p_o))),
        "median_abs_projection_held_out": float(np.median(np.abs(held_p))),
        "fragile_fraction_held_out": float(np.mean(np.abs(held_p) < a.fragile_margin)),
    }
    print("verification:", json.dumps(ver, indent=1))
    ok = (err / scale_out) <= 1e-4 and n_diff_hash == 0
    if not ok:
        print("VERIFICATION FAILED", file=sys.stderr)

    # 4. seeds and metadata
    assert len(sf) == 96 * 128 * 4
    with open(os.path.join(a.out, "seed.f32"), "wb") as f:
        f.write(sf)
    with open(os.path.join(a.out, "seed.dat"), "wb") as f:
        f.write(SEED_HEADER.ljust(128, b"\0") + sf)
    params = int(model.count_params())
    info = {
        "name": a.name,
        "version": a.version,
        "spec": "nh-spec-v1",
        "fragile_margin": a.fragile_margin,
        "input": {
            "name": "image",
            "shape": ["N", 3, 360, 360],
            "layout": "NCHW",
            "dtype": "float32",
            "range": [-1.0, 1.0],
        },
        "output": {"name": "embedding", "shape": ["N", 128], "dtype": "float32"},
        "opset": opset_of(topo),
        "seed_sha256": seed_sha256(seed),
        "onnx_sha256": sha256_file(onnx_path),
        "fingerprint": onnx_fingerprint(onnx_path),
        "params": params,
        "macs_360": int(count_macs(topo, model, 360)),
        "head_scale": head_scale,
        "input_pool": pool,
        **({"input_side": side} if side else {}),
        "bn_recalibration_batches": recal,
        "projection_rms_train": 1.0,
        "verification_onnxruntime_vs_keras": ver,
        "training": {
            k: state.get(k)
            for k in (
                "step",
                "pairs",
                "elapsed",
                "minutes",
                "seed",
                "seed_rng",
                "phases",
                "loss_cfg",
                "lr",
                "photos_train",
                "init_onnx",
                "commands",
                "luma",
                "input_side",
            )
        },
        "split": os.path.basename(a.split),
        "held_out_photos": len(split["held_out"]) if "held_out" in split else split["eval_count"],
        "license": "Apache-2.0",
    }
    with open(os.path.join(a.out, "model.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    for fn in ("model.onnx", "seed.dat", "seed.f32", "model.json"):
        print(f"{fn}: {os.path.getsize(os.path.join(a.out, fn))} bytes")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
