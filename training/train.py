"""Train nhkit's default NeuralHash-format model (issue 3).

    python training/train.py --photos ../shared/photos --out training/checkpoints/run1 --minutes 85
    # after an interruption: the same command with --resume

Wall-clock budgeted: the resolution phases, the cosine learning-rate schedule and the end of the
run are all fractions of --minutes of *training* time (summed over resumed runs). Checkpoints
every --ckpt-minutes into --out (weights, optimizer state, state.json); progress goes to
training/logs/<run>.log. Random seeds are fixed (--seed); the batch of step i is a pure function
of (seed, i, resolution, batch size).
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402  (no TensorFlow: the data worker forks before TF starts threads)
import numpy as np  # noqa: E402

# (end as a fraction of the budget, resolution, pairs per batch)
PHASES = [(0.56, 160, 64), (0.82, 224, 48), (1.0, 360, 24)]
SEED_RNG = 20260101  # seed matrix: QR of a Gaussian from this seed, fixed once chosen
PREFIT_BATCHES = 20  # batches of 48 views that fit the distillation head before training


def make_seed_matrix(seed=SEED_RNG):
    g = np.random.default_rng(seed).standard_normal((128, 96))
    q, r = np.linalg.qr(g)
    q = q * np.sign(np.diag(r))[None, :]
    return np.ascontiguousarray(q.T.astype("<f4"))  # 96 x 128, orthonormal rows


def parse_phases(text):
    """'0.56:160:64,0.82:224:48,1.0:360:24' -> [(0.56, 160, 64), ...]"""
    out = []
    for part in text.split(","):
        end, res, bs = part.split(":")
        out.append((float(end), int(res), int(bs)))
    return out


def phase_at(frac, phases=PHASES):
    for end, res, bs in phases:
        if frac < end:
            return res, bs
    return tuple(phases[-1][1:])


def lr_at(step, frac, peak, warmup=150, floor=0.05):
    w = min(1.0, (step + 1) / warmup)
    cos = floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))
    return peak * w * cos


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--photos", default=os.path.join(HERE, "..", "..", "shared", "photos"))
    ap.add_argument("--split", default=os.path.join(HERE, "split.json"))
    ap.add_argument("--out", default=os.path.join(HERE, "checkpoints", "run1"))
    ap.add_argument("--minutes", type=float, default=85.0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--ckpt-minutes", type=float, default=4.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--phases", default=None, help=f"end_fraction:resolution:pairs,... (default: {PHASES})"
    )
    ap.add_argument(
        "--extra",
        default=os.path.join(HERE, "..", "..", "shared", "photos_extra"),
        help="photos_extra folder (a version-2 split names files in photos/ and photos_extra/)",
    )
    ap.add_argument(
        "--folder",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="another photo folder a split names (split_v3: photos_extra2=../photos_extra2)",
    )
    ap.add_argument(
        "--init-onnx",
        default=None,
        help="warm start: a shipped model.onnx (training/from_onnx.py rebuilds its BatchNorms)",
    )
    ap.add_argument(
        "--bn-frozen",
        action="store_true",
        help="BatchNorm in inference mode while training (fine-tuning a warm start)",
    )
    ap.add_argument("--photo-share", type=float, default=0.62, help="share of real-photo items")
    ap.add_argument(
        "--cousin-p", type=float, default=0.0, help="probability of a same-package hard negative"
    )
    ap.add_argument("--geo", type=float, default=1.0, help="geometric edit strength (v1: 1.0)")
    ap.add_argument(
        "--zoom-p", type=float, default=0.0, help="probability of a centred zoom crop (phase 9)"
    )
    ap.add_argument(
        "--exposure-p",
        type=float,
        default=0.0,
        help="probability of an over-exposed view (30-85 %% of pixels at 255; phase 18)",
    )
    ap.add_argument(
        "--gray-p", type=float, default=0.12, help="probability of a grayscale view (v1: 0.12)"
    )
    ap.add_argument(
        "--mined",
        help="hard negatives a model confuses: a training/mine_negatives.py file (phase 14)",
    )
    ap.add_argument(
        "--mined-p", type=float, default=0.0, help="probability of a mined hard negative"
    )
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument(
        "--loss",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a loss weight of losses.CFG (e.g. w_sep=3); recorded in state.json",
    )
    ap.add_argument(
        "--views",
        help="train through training/multiview.py's wrap: the loss sees the mean embedding of "
        "these centre views (e.g. 1,0.8,0.64,0.512; the first must be 1); the int8 twins, the "
        "keep and distillation terms stay on the plain first view. Recorded, kept on --resume",
    )
    ap.add_argument(
        "--luma",
        action="store_true",
        help="the network sees luma only (multiview.tf_luma on every input, phase 21); export "
        "it through the wrap's luma views (multiview.py --gray-scales). Recorded, kept on --resume",
    )
    ap.add_argument(
        "--input-side",
        type=int,
        help="phase 22: batches are made at 360 and the network sees them through the export's "
        "own bilinear half-pixel resize (no antialias) to this side, not the 2 x 2 pool; the keep "
        "term's parent sees them through its own 2 x 2 pool. Recorded, kept on --resume",
    )
    ap.add_argument("--log", default=None)
    ap.add_argument("--log-every", type=int, default=20)
    a = ap.parse_args()

    os.makedirs(a.out, exist_ok=True)
    run = os.path.basename(os.path.normpath(a.out))
    log_path = a.log or os.path.join(HERE, "logs", run + ".log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    logf = open(log_path, "a")

    def log(msg):
        line = time.strftime("%H:%M:%S ") + msg
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    split = data.load_split(a.split)
    train_files = split["train"]
    if split.get("version") == 2:
        assert not set(train_files) & {e["file"] for e in split["eval"]}
        folders = data.split_folders(a.split, train_files, a.photos, a.extra, a.folder)
        data.load_photos(folders, train_files, split["train_groups"])
    else:
        assert not set(train_files) & set(split["held_out"])
        data.load_photos(a.photos, train_files)
    if a.mined:
        mined = data.load_mined(a.mined, train_files)
        log(
            f"mined negatives: {a.mined} (model {mined['model']['name']}, k {mined['k']}, "
            f"closest training pair {mined['closest'][0]['distance']} bits), p {a.mined_p}"
        )
    elif a.mined_p > 0:
        raise SystemExit("--mined-p needs --mined FILE (training/mine_negatives.py)")
    data.KNOBS.update(
        photo_share=a.photo_share,
        cousin_p=a.cousin_p,
        geo=a.geo,
        zoom_p=a.zoom_p,
        mined_p=a.mined_p,
        exposure_p=a.exposure_p,
        gray_p=a.gray_p,
    )

    import multiprocessing as mp

    pool = mp.get_context("fork").Pool(a.workers)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(a.threads)
    tf.config.threading.set_inter_op_parallelism_threads(a.threads)
    tf.keras.utils.set_random_seed(a.seed)
    from losses import CFG, distill_loss, projection_mse, total_loss

    overrides = {}
    for item in a.loss:
        key, _, val = item.partition("=")
        if key not in CFG or not val:
            raise SystemExit(f"--loss {item!r}: expected KEY=VALUE with KEY one of {sorted(CFG)}")
        overrides[key] = float(val)
    from model import LAST_CONV, build_model, count_macs, resize_input
    from multiview import parse_scales, tf_luma, tf_views

    seed_path = os.path.join(a.out, "seed.f32")
    state_path = os.path.join(a.out, "state.json")
    if a.resume and os.path.exists(state_path):
        state = json.load(open(state_path))
        seed_mat = np.fromfile(seed_path, "<f4").reshape(96, 128)
    else:
        state = {
            "step": 0,
            "elapsed": 0.0,
            "pairs": 0,
            "minutes": a.minutes,
            "seed": a.seed,
            "seed_rng": SEED_RNG,
            "phases": PHASES,
            "loss_cfg": CFG,
            "lr": a.lr,
            "photos_train": len(train_files),
        }
        seed_mat = make_seed_matrix()
        seed_mat.tofile(seed_path)
    state["minutes"] = a.minutes
    # a resumed run keeps its loss weights; --loss changes them from this step on (recorded)
    cfg = {**CFG, **state.get("loss_cfg", {}), **overrides}
    if overrides:
        state.setdefault("loss_changes", []).append({"at_step": state["step"], "set": overrides})
    state["loss_cfg"] = cfg
    state.setdefault("commands", []).append(
        {"argv": sys.argv[1:], "at_step": state["step"], "knobs": dict(data.KNOBS)}
    )
    phases = parse_phases(a.phases) if a.phases else [tuple(p) for p in state.get("phases", PHASES)]
    if [list(p) for p in phases] != [list(p) for p in state.get("phases", phases)]:
        state.setdefault("phase_changes", []).append(
            {
                "at_step": state["step"],
                "at_elapsed": state["elapsed"],
                "from": state["phases"],
                "to": phases,
            }
        )
    state["phases"] = phases
    if a.views:
        state["views"] = parse_scales(a.views)
    views = state.get("views")
    if a.luma:
        state["luma"] = True
    luma = bool(state.get("luma"))
    if a.input_side:
        state["input_side"] = a.input_side
    input_side = state.get("input_side")
    if input_side and any(res != 360 for _end, res, _bs in phases):
        raise SystemExit(f"--input-side needs batches made at 360 (--phases 1.0:360:N): {phases}")

    def net_input(v):
        """uint8 NHWC views -> the network's input: the spec's [-1, 1], in luma under --luma.
        A numpy batch (BN statistics, the distillation head's fit) is scaled as it always was,
        so the recipes before --luma rebuild bit for bit."""
        if isinstance(v, np.ndarray):
            x = v.astype(np.float32) / 127.5 - 1.0
            return tf_luma(x).numpy() if luma else x
        x = (tf.cast(v, tf.float32) / 255.0) * 2.0 - 1.0
        return tf_luma(x) if luma else x

    def seen(x):
        """The network's view of a [-1, 1] batch: itself, or under --input-side the export's
        resize of it (tf.image.resize's bilinear is half-pixel, as ONNX Resize linear)."""
        if not input_side:
            return x
        return resize_input(x, input_side)

    def parent_view(x):
        """What the keep term's parent sees: under --input-side the 360 batch through its own
        2 x 2 average pool (to_onnx --input-pool 2), the path it was trained and shipped on."""
        if not input_side:
            return x
        return tf.nn.avg_pool2d(x, 2, 2, "VALID")

    if views is not None and (not views or views[0] != 1.0):
        raise SystemExit(f"--views {views}: the first view must be the whole image (1)")
    seed_t = tf.constant(seed_mat)

    if "last_conv" not in state:  # a run keeps the width it started with (widen.py)
        from from_onnx import last_conv_width

        state["last_conv"] = last_conv_width(a.init_onnx) if a.init_onnx else LAST_CONV
    model, topo = build_model(last_conv=state["last_conv"])
    log(
        f"phases {phases}"
        + (f" views {views} (the loss sees their mean embedding)" if views else "")
        + (" luma input" if luma else "")
        + (f" input resized to {input_side}" if input_side else "")
    )
    log(
        f"model params {model.count_params()} MACs@360 {count_macs(topo, model, 360) / 1e6:.1f}M"
        f" train photos {len(train_files)} budget {a.minutes} min"
    )
    opt = tf.keras.optimizers.AdamW(learning_rate=a.lr, weight_decay=1e-4, clipnorm=2.0)
    # phase 12 (w_distill): a linear head from the embedding to a pretrained teacher's features
    # (training/teacher.py); trained with the model, saved with the checkpoint, never exported
    distill_head = None
    if cfg.get("w_distill", 0.0) > 0:
        from teacher import FEATURES

        init = np.random.default_rng([a.seed, 12]).normal(0, 128**-0.5, (128, FEATURES))
        distill_head = tf.Variable(init.astype(np.float32), name="distill_head")
    train_vars = model.trainable_variables + ([distill_head] if distill_head is not None else [])
    opt.build(train_vars)

    wpath = os.path.join(a.out, "model.weights.h5")
    opath = os.path.join(a.out, "optimizer.npz")
    hpath = os.path.join(a.out, "distill_head.npy")
    if a.resume and os.path.exists(wpath):
        model.load_weights(wpath)
        if distill_head is not None and os.path.exists(hpath):
            distill_head.assign(np.load(hpath))
        if os.path.exists(opath):
            z = np.load(opath)
            for i, v in enumerate(opt.variables):
                v.assign(z[f"v{i}"])
        log(f"resumed at step {state['step']} elapsed {state['elapsed'] / 60:.1f} min")
    elif a.init_onnx:
        from from_onnx import load_into

        res0, _ = phase_at(0.0, phases)
        v1, _v2 = data.make_batch((a.seed, 10**9, res0, 48))  # not a training batch index
        calib = np.asarray(seen(net_input(v1)))
        load_into(model, topo, a.init_onnx, calib)
        state["init_onnx"] = os.path.relpath(a.init_onnx, os.path.join(HERE, ".."))
        log(f"warm start from {a.init_onnx} (BN statistics from {len(calib)} training images)")

    def save():
        model.save_weights(wpath + ".tmp.weights.h5")
        os.replace(wpath + ".tmp.weights.h5", wpath)
        if distill_head is not None:
            np.save(hpath + ".tmp.npy", distill_head.numpy())
            os.replace(hpath + ".tmp.npy", hpath)
        np.savez(opath + ".tmp.npz", **{f"v{i}": v.numpy() for i, v in enumerate(opt.variables)})
        os.replace(opath + ".tmp.npz", opath)
        with open(state_path + ".tmp", "w") as f:
            json.dump(state, f, indent=1)
        os.replace(state_path + ".tmp", state_path)

    # (loss weight key, stat name, twin): full int8 and Core ML int8 (weights only)
    twins = []
    for key, stat, weights_only in (("w_qat", "qerr", False), ("w_qatw", "qerrw", True)):
        if cfg.get(key, 0.0) > 0:
            if not a.bn_frozen:
                raise SystemExit(f"--loss {key} needs --bn-frozen (the twin folds BN statistics)")
            from qat import Int8Sim

            q = cfg.get("qat_quantile", 0.0)
            twin = Int8Sim(model, topo, quantile=q, weights_only=weights_only)
            twins.append((key, stat, twin))
            log(
                f"{stat}: int8 twin{' (weights only)' if weights_only else ''}, "
                f"{len(twin.stored)} stored tensors, float stem {sorted(twin.float_nodes)}"
            )
    teacher = None
    if cfg.get("w_keep", 0.0) > 0:
        if not state.get("init_onnx"):
            raise SystemExit("--loss w_keep needs a starting model (--init-onnx)")
        from from_onnx import load_into

        teacher, _ = build_model(last_conv=state["last_conv"])
        load_into(teacher, topo, os.path.join(HERE, "..", state["init_onnx"]), None)
        teacher.trainable = False
        log(f"keep term against the frozen {state['init_onnx']}")

    distill_teacher = None
    if distill_head is not None:
        from teacher import build_teacher

        distill_teacher = build_teacher()
        log("distillation term: EfficientNet-Lite0 (ImageNet) features of the first views")
        if not (a.resume and os.path.exists(hpath)):
            # start the head at the ridge least-squares map from the starting model's embeddings
            # to the teacher's features (batches outside the training indices): a random head
            # would send noise into the model until it had learnt something
            res0, _ = phase_at(0.0, phases)
            es, ts = [], []
            for i in range(PREFIT_BATCHES):
                v1, _v2 = data.make_batch((a.seed, 10**9 + 1 + i, res0, 48))
                xb = np.asarray(seen(net_input(v1)))
                e0 = model(xb, training=False).numpy()
                es.append(e0 / np.linalg.norm(e0, axis=1, keepdims=True))
                t0 = distill_teacher(xb, training=False).numpy()
                ts.append(t0 / np.linalg.norm(t0, axis=1, keepdims=True))
            ea, ta = np.concatenate(es), np.concatenate(ts)
            head0 = np.linalg.solve(ea.T @ ea + 1e-3 * len(ea) * np.eye(128), ea.T @ ta)
            distill_head.assign(head0.astype(np.float32))
            y = ea @ head0
            cos = np.sum(y * ta, 1) / np.linalg.norm(y, axis=1)
            log(f"distillation head fitted on {len(ea)} views: 1 - cos {1 - cos.mean():.3f}")

    @tf.function(reduce_retracing=True)
    def train_step(x1, x2):
        x360 = net_input(tf.concat([x1, x2], 0))
        x = seen(x360)
        n = tf.shape(x1)[0]
        with tf.GradientTape() as tape:
            if views:  # the loss sees the wrap's embedding; the other terms the plain view
                per_view = [model(v, training=not a.bn_frozen) for v in tf_views(x, views)]
                plain, e = per_view[0], tf.add_n(per_view) / float(len(per_view))
            else:
                plain = e = model(x, training=not a.bn_frozen)
            loss, stats = total_loss(e[:n], e[n:], seed_t, cfg)
            for key, stat, twin in twins:  # the first views (pseudo-quantization noise)
                qerr = projection_mse(twin(x[:n], noise=True), plain[:n], seed_t)
                loss = loss + cfg[key] * qerr
                stats[stat] = tf.sqrt(qerr)
            if distill_teacher is not None:
                dist = distill_loss(plain[:n], distill_head, distill_teacher(x[:n], training=False))
                loss = loss + cfg["w_distill"] * dist
                stats["distill"] = dist
            if teacher is not None:
                parent = teacher(parent_view(x360[:n]), training=False)
                keep = projection_mse(plain[:n], parent, seed_t)
                loss = loss + cfg["w_keep"] * keep
                stats["keep"] = tf.sqrt(keep)
            stats["loss"] = loss
        grads = tape.gradient(loss, train_vars)
        opt.apply_gradients(zip(grads, train_vars))
        return stats

    budget = a.minutes * 60.0
    queue = collections.deque()
    next_submit = state["step"]

    def submit():
        nonlocal next_submit
        res, bs = phase_at(state["elapsed"] / budget, phases)
        queue.append((res, pool.apply_async(data.make_batch, ((a.seed, next_submit, res, bs),))))
        next_submit += 1

    for _ in range(3):
        submit()
    t_last = time.time()
    last_ckpt = time.time()
    acc = collections.defaultdict(float)
    nacc = 0
    t_log = time.time()
    pairs_log = 0
    while state["elapsed"] < budget:
        res, job = queue.popleft()
        v1, v2 = job.get()
        submit()
        frac = state["elapsed"] / budget
        opt.learning_rate.assign(lr_at(state["step"], frac, a.lr, warmup=a.warmup))
        stats = train_step(v1, v2)
        for k, v in stats.items():
            acc[k] += float(v)
        nacc += 1
        now = time.time()
        state["elapsed"] += now - t_last
        t_last = now
        state["step"] += 1
        state["pairs"] += len(v1)
        pairs_log += len(v1)
        if state["step"] % a.log_every == 0:
            log(
                f"step {state['step']} t {state['elapsed'] / 60:.1f}m res {res} bs {len(v1)} "
                f"lr {float(opt.learning_rate.numpy()):.2e} "
                + " ".join(f"{k} {v / nacc:.3f}" for k, v in acc.items())
                + f" pairs/s {pairs_log / (now - t_log):.1f} pairs {state['pairs']}"
            )
            acc.clear()
            nacc = 0
            t_log = now
            pairs_log = 0
        if now - last_ckpt > a.ckpt_minutes * 60:
            save()
            last_ckpt = time.time()
            t_last = last_ckpt  # do not bill checkpoint time to the budget
            log(f"checkpoint step {state['step']}")
    save()
    log(
        f"done: step {state['step']} pairs {state['pairs']} elapsed {state['elapsed'] / 60:.1f} min"
    )
    pool.terminate()


if __name__ == "__main__":
    main()
