"""White-box adversarial robustness of the default model (issue 12 §5; a benchmark, not a test).

    python benchmarks/adversarial.py --split training/split_v2.json --extra ../shared/photos_extra \
        --pairs 50 --bundles /tmp/nhkit-adv-bundles --tag _v3
    # writes benchmarks/results/adversarial_v3.{md,json}

Why white-box: every nhkit bundle carries its model and seed, so an attacker has both. The
attacks run on the float model through TensorFlow's gradients (the export's own TensorFlow
lowering of the shipped ONNX, `nhkit.export.tflite.tf_embedding_function`, the function the fp32
TFLite bundle is converted from; it takes any topology the export takes, the multi-view wrap of
training/multiview.py included), in the pixel domain a real image
has: a 360x360 RGB8 image, which spec step 3 passes through unchanged, so the attacked pixels are
exactly the pixels the model sees. Every result is re-judged on the saved uint8 image through the
real pipeline (`nhkit.runtime`, fp32 onnxruntime), and then through each device bundle given
with --bundles (transfer: does an attack found on fp32 survive fp16 / int8?).

- Evasion: projected gradient descent (sign steps, L-inf ball) on a hinge that pushes every
  projection across 0 (relu(s_i * p_i + kappa), s = the original's signs). Budgets are tried
  smallest first (1, 2, 3, 4, 6, 8, 12, 16 of 255); the first budget whose rounded image is more
  than T bits from the original's hash is the image's "smallest L-inf budget"; its L2 norm,
  PSNR and SSIM are reported with it.
- Targeted collision: the same PGD on relu(kappa - t_i * p_i) towards the hash of a different
  photo, budgets 4, 8, 16, 32 of 255; success = within T bits of the target.
T is the calibrated threshold (default 16, the default model's:
`benchmarks/results/calibrate_v3.md`; v2's was 14).
Images: the evaluation side of training/split_v2.json (never trained on), centre-cropped square
and resized to 360x360 with Pillow's bicubic (the attack's starting image; the crop/resize is not
part of the attack).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EVASION_EPS = (1, 2, 3, 4, 6, 8, 12, 16)
COLLISION_EPS = (4, 8, 16, 32)
KAPPA = 0.3


def load_images(split_path: str, photos: str, extra: str, n: int) -> tuple[list[str], np.ndarray]:
    split = json.load(open(split_path))
    files = [e["file"] for e in split["eval"]][:n]
    roots = {"photos": photos, "photos_extra": extra}
    out = []
    for f in files:
        root, rel = f.split("/", 1)
        im = Image.open(os.path.join(roots[root], rel)).convert("RGB")
        s = min(im.size)
        x0, y0 = (im.width - s) // 2, (im.height - s) // 2
        im = im.crop((x0, y0, x0 + s, y0 + s)).resize((360, 360), Image.BICUBIC)
        out.append(np.asarray(im))
    return files, np.stack(out)


class FloatModel:
    """The shipped float model as a differentiable function of RGB8 pixels -> projections."""

    def __init__(self, model_dir: str) -> None:
        import tensorflow as tf

        from nhkit.export.onnx_frontend import load_graph
        from nhkit.export.tflite import tf_embedding_function

        self.tf = tf
        graph = load_graph(os.path.join(model_dir, "model.onnx"))
        self.model = tf.function(tf_embedding_function(graph), reduce_retracing=True)
        seed = np.fromfile(os.path.join(model_dir, "seed.f32"), "<f4").reshape(96, 128)
        self.seed = tf.constant(seed)

    def projections(self, x255):
        x = x255 / 127.5 - 1.0
        e = self.model(x)
        e = e / (self.tf.norm(e, axis=1, keepdims=True) + 1e-8)
        return np.sqrt(128.0) * self.tf.matmul(e, self.seed, transpose_b=True)

    def bits(self, x255: np.ndarray) -> np.ndarray:
        return self.projections(self.tf.constant(x255, self.tf.float32)).numpy() >= 0


def pgd(fm: FloatModel, x0: np.ndarray, signs: np.ndarray, eps: float, steps: int, goal, active):
    """Sign-gradient PGD in the L-inf ball of radius eps (pixel units) around x0 (uint8 NHWC).

    `signs` (+-1, [N,96]) is the sign each projection is pushed towards; `goal(bits)` says per
    image whether the rounded image already succeeds. Returns (rounded images, success, steps)."""
    tf = fm.tf
    x0f = x0.astype(np.float32)
    delta = np.zeros_like(x0f)
    alpha = max(eps / 10.0, 0.25)
    done = ~active.copy()
    best = x0.copy()
    used = np.zeros(len(x0), int)
    s = tf.constant(signs.astype(np.float32))
    for step in range(1, steps + 1):
        idx = np.flatnonzero(~done)
        if len(idx) == 0:
            break
        xv = tf.Variable(x0f[idx] + delta[idx])
        with tf.GradientTape() as tape:
            p = fm.projections(xv)
            loss = tf.reduce_sum(tf.nn.relu(KAPPA - tf.gather(s, idx) * p))
        g = tape.gradient(loss, xv).numpy()
        delta[idx] = np.clip(delta[idx] - alpha * np.sign(g), -eps, eps)
        delta[idx] = np.clip(x0f[idx] + delta[idx], 0, 255) - x0f[idx]
        if step % 5 == 0 or step == steps:
            xr = np.clip(np.rint(x0f[idx] + delta[idx]), 0, 255).astype(np.uint8)
            ok = goal(fm.bits(xr.astype(np.float32)), idx)
            for k, i in enumerate(idx):
                if ok[k]:
                    done[i] = True
                    best[i] = xr[k]
                    used[i] = step
    success = done & active
    return best, success, used


def smallest_budget(fm, src, push_signs, budgets, steps, batch, succeeded, label):
    """Each image's smallest L-inf budget at which PGD reaches `succeeded(bits, rows)`.

    Budgets are tried smallest first, in batches; an image that succeeded is not attacked again.
    Returns (budget or None per image, the successful images, total steps spent on each)."""
    n = len(src)
    found: list[int | None] = [None] * n
    out = src.copy()
    spent = np.zeros(n, int)
    for eps in budgets:
        for lo in range(0, n, batch):
            sl = slice(lo, min(n, lo + batch))
            active = np.array([found[i] is None for i in range(sl.start, sl.stop)])
            if not active.any():
                continue

            def goal(bits, idx, lo=lo):
                return succeeded(bits, lo + idx)

            imgs, ok, used = pgd(fm, src[sl], push_signs[sl], eps, steps, goal, active)
            for k in np.flatnonzero(ok):
                i = lo + k
                found[i] = eps
                out[i] = imgs[k]
                spent[i] = used[k] + steps * sum(e < eps for e in budgets)
        print(f"{label} eps {eps}: {sum(e is not None for e in found)}/{n}", flush=True)
    return found, out, spent


def quality(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    d = a.astype(np.float64) - b.astype(np.float64)
    return {
        "linf": float(np.abs(d).max()),
        "l2": float(np.sqrt((d**2).sum())),
        "l2_per_pixel_rms": float(np.sqrt((d**2).mean())),
        "psnr": float(peak_signal_noise_ratio(a, b, data_range=255)),
        "ssim": float(structural_similarity(a, b, channel_axis=2, data_range=255)),
    }


def hamming_hex(a: str, b: str) -> int:
    return int(bin(int(a, 16) ^ int(b, 16)).count("1"))


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--split", default=os.path.join(REPO, "training", "split_v2.json"))
    ap.add_argument("--photos", default=os.path.join(REPO, "..", "shared", "photos"))
    ap.add_argument("--extra", default=os.path.join(REPO, "..", "shared", "photos_extra"))
    ap.add_argument(
        "--model-dir", default=os.path.join(REPO, "runtime", "models", "nhkit-mnv3s-v3")
    )
    ap.add_argument("--pairs", type=int, default=50, help="source images (and collision pairs)")
    ap.add_argument(
        "--threshold",
        type=int,
        default=16,
        help="the calibrated match threshold T (benchmarks/results/calibrate_v3.md)",
    )
    ap.add_argument("--steps", type=int, default=60, help="PGD steps per evasion budget")
    ap.add_argument("--collision-steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--bundles", help="folder of exported bundles to test transfer on")
    ap.add_argument("--save", help="keep the adversarial PNGs in this folder")
    ap.add_argument(
        "--rejudge",
        metavar="DIR",
        help="no new attacks: re-judge the images a previous run saved in DIR (--save) with "
        "--bundles, and rewrite the results' transfer table",
    )
    ap.add_argument(
        "--collision-eps",
        default=",".join(map(str, COLLISION_EPS)),
        help="L-inf budgets (of 255) tried for collisions, smallest first",
    )
    ap.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results"))
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    t_all = time.time()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    from nhkit.runtime.hasher import Hasher

    if a.rejudge:
        return rejudge(a)
    collision_eps = tuple(int(v) for v in a.collision_eps.split(","))
    T = a.threshold
    n = a.pairs
    files, x0 = load_images(a.split, a.photos, a.extra, 2 * n)
    src, tgt = x0[:n], x0[n : 2 * n]
    fm = FloatModel(a.model_dir)
    ref = Hasher.from_onnx(
        os.path.join(a.model_dir, "model.onnx"), os.path.join(a.model_dir, "seed.f32")
    )
    b0 = fm.bits(src.astype(np.float32))
    bt = fm.bits(tgt.astype(np.float32))

    # ---- evasion: smallest budget per image
    t0 = time.time()
    ev_found, ev_img, ev_steps = smallest_budget(
        fm,
        src,
        np.where(b0, -1, 1),
        EVASION_EPS,
        a.steps,
        a.batch,
        lambda bits, rows: (bits != b0[rows]).sum(1) > T,
        "evasion",
    )
    ev_time = time.time() - t0

    # ---- targeted collision: source i -> hash of target i
    t0 = time.time()
    co_found, co_img, co_steps = smallest_budget(
        fm,
        src,
        np.where(bt, 1, -1),
        collision_eps,
        a.collision_steps,
        a.batch,
        lambda bits, rows: (bits != bt[rows]).sum(1) <= T,
        "collision",
    )
    co_time = time.time() - t0

    # ---- re-judge on the real pipeline, then on each bundle (transfer)
    transfer = judge_all(ref, a.bundles, src, tgt, ev_img, co_img, ev_found, co_found, T)
    rows_ev, rows_co = [], []
    for i in range(n):
        if ev_found[i] is not None:
            rows_ev.append(
                {"file": files[i], "eps": ev_found[i], "steps": int(ev_steps[i])}
                | quality(src[i], ev_img[i])
            )
        if co_found[i] is not None:
            rows_co.append(
                {"file": files[i], "target": files[n + i], "eps": co_found[i]}
                | {"steps": int(co_steps[i])}
                | quality(src[i], co_img[i])
            )
    if a.save:
        os.makedirs(a.save, exist_ok=True)
        for i in range(n):
            for kind, img in (("source", src), ("target", tgt), ("evasion", ev_img)):
                Image.fromarray(img[i]).save(os.path.join(a.save, f"{kind}_{i:03d}.png"))
            Image.fromarray(co_img[i]).save(os.path.join(a.save, f"collision_{i:03d}.png"))
    res = {
        "model_dir": os.path.relpath(a.model_dir, REPO),
        "threshold": T,
        "pairs": n,
        "evasion_eps": list(EVASION_EPS),
        "collision_eps": list(collision_eps),
        "steps_per_budget": {"evasion": a.steps, "collision": a.collision_steps},
        "kappa": KAPPA,
        "evasion": rows_ev,
        "collision": rows_co,
        "evasion_seconds": ev_time,
        "collision_seconds": co_time,
        "transfer": transfer,
        "seconds": time.time() - t_all,
    }
    if a.save:
        with open(os.path.join(a.save, "found.json"), "w") as f:
            json.dump({"evasion": ev_found, "collision": co_found}, f)
    write(res, a.out, a.tag)
    return 0


def write(res: dict, out: str, tag: str) -> None:
    os.makedirs(out, exist_ok=True)
    for ext, text in (("json", json.dumps(res, indent=1) + "\n"), ("md", render(res))):
        path = os.path.join(out, f"adversarial{tag}.{ext}")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    print(render(res))


def judge_all(ref, bundles, src, tgt, ev_img, co_img, ev_found, co_found, T):
    """Successes of the fp32 attacks as judged by nhkit.runtime and by each bundle's engine."""
    judges = {"onnxruntime fp32 (nhkit.runtime)": ref}
    if bundles:
        from nhkit.runtime.bundle_backend import hasher_for_bundle

        for name in sorted(os.listdir(bundles)):
            p = os.path.join(bundles, name)
            if os.path.isfile(os.path.join(p, "manifest.json")):
                judges[name] = hasher_for_bundle(p)
    transfer: dict[str, dict[str, int]] = {}
    for j, h in judges.items():
        ev_ok = co_ok = 0
        for i in range(len(src)):
            if ev_found[i] is not None:
                hs = h.hash_rgb(src[i]).hex
                ev_ok += hamming_hex(h.hash_rgb(ev_img[i]).hex, hs) > T
            if co_found[i] is not None:
                ht = h.hash_rgb(tgt[i]).hex
                co_ok += hamming_hex(h.hash_rgb(co_img[i]).hex, ht) <= T
        transfer[j] = {"evasion": ev_ok, "collision": co_ok}
        print(f"judge {j}: evasion {ev_ok}, collision {co_ok}", flush=True)
    return transfer


def rejudge(a) -> int:
    """Transfer only: the saved uint8 images of an earlier run, judged by --bundles."""
    from nhkit.runtime.hasher import Hasher

    res = json.load(open(os.path.join(a.out, f"adversarial{a.tag}.json")))
    found = json.load(open(os.path.join(a.rejudge, "found.json")))
    n = res["pairs"]

    def load(kind):
        return np.stack(
            [
                np.asarray(Image.open(os.path.join(a.rejudge, f"{kind}_{i:03d}.png")))
                for i in range(n)
            ]
        )

    model_dir = os.path.join(REPO, res["model_dir"])
    ref = Hasher.from_onnx(
        os.path.join(model_dir, "model.onnx"), os.path.join(model_dir, "seed.f32")
    )
    res["transfer"] = judge_all(
        ref,
        a.bundles,
        load("source"),
        load("target"),
        load("evasion"),
        load("collision"),
        found["evasion"],
        found["collision"],
        res["threshold"],
    )
    write(res, a.out, a.tag)
    return 0


def _cum(rows: list[dict], eps_list, n: int) -> str:
    return " / ".join(f"{sum(r['eps'] <= e for r in rows) * 100 / n:.0f}%" for e in eps_list)


def _med(rows: list[dict], key: str) -> str:
    digits = 3 if key == "ssim" else 1
    return f"{np.median([r[key] for r in rows]):.{digits}f}" if rows else "-"


def render(res: dict) -> str:
    n, T = res["pairs"], res["threshold"]
    ev, co = res["evasion"], res["collision"]
    L = [f"# White-box attacks on `{res['model_dir']}` (T = {T})\n"]
    L.append(
        f"{n} source images (and {n} collision targets) from the evaluation side of "
        "`training/split_v2.json`, 360x360 RGB8; PGD with sign steps on the float model's "
        "gradients (TensorFlow), every result re-judged on the saved uint8 image through "
        "`nhkit.runtime` (fp32 onnxruntime). Generated by `python benchmarks/adversarial.py`.\n"
    )
    L.append(
        "| attack | success (cumulative over L-inf budgets /255) | median budget | median "
        "steps | median L2 | median PSNR dB | median SSIM | time |"
    )
    L.append("|---|---|---|---|---|---|---|---|")
    L.append(
        f"| evasion (> T bits from own hash) | {_cum(ev, res['evasion_eps'], n)} at "
        f"{', '.join(map(str, res['evasion_eps']))} | {_med(ev, 'eps')} | {_med(ev, 'steps')} | "
        f"{_med(ev, 'l2')} | {_med(ev, 'psnr')} | {_med(ev, 'ssim')} | "
        f"{res['evasion_seconds'] / max(n, 1):.1f} s/image |"
    )
    L.append(
        f"| targeted collision (<= T of another photo's hash) | "
        f"{_cum(co, res['collision_eps'], n)} at {', '.join(map(str, res['collision_eps']))} | "
        f"{_med(co, 'eps')} | {_med(co, 'steps')} | {_med(co, 'l2')} | {_med(co, 'psnr')} | "
        f"{_med(co, 'ssim')} | {res['collision_seconds'] / max(n, 1):.1f} s/pair |"
    )
    L.append("")
    L.append(
        "Transfer: attacks found on the float model, judged by each engine on the same "
        "uint8 images (successes out of the attacks found on fp32).\n"
    )
    L.append("| engine | evasions still > T | collisions still <= T |")
    L.append("|---|---|---|")
    for j, v in res["transfer"].items():
        L.append(f"| {j} | {v['evasion']} / {len(ev)} | {v['collision']} / {len(co)} |")
    L.append("")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main())
