"""Widen a trained model's last 1x1 convolution without changing what it computes (Net2WiderNet,
Chen et al. 2016), as the start of a training phase with a wider last stage.

Why: "What fifteen phases show" (README.md) names a wider last stage among the levers left for
the look-alike pairs, and a new topology from scratch would take many CPU sessions to reach
v14m. Widening in place keeps v14m's function exactly, so training starts where v14m is and
only has to use the new capacity. Each new channel copies an existing one (weights, bias), so
its activation is identical; the hidden head's input rows of a channel and its copies are split
with random shares that sum to 1 per output, so the head's sum is unchanged. The random shares
also break the copies' symmetry: their gradients differ from the first step. The written ONNX
must give the source's embeddings (checked with onnxruntime on random inputs; the script fails
otherwise).

    python training/widen.py training/candidates/nhkit-mnv3s-v14m --last-conv 1152 \\
        --out ../v19w-init
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import onnx
from onnx import numpy_helper

from nhkit.runtime.atomic import write_bytes_atomic, write_text_atomic

COPIED = ("seed.dat", "seed.f32")


def _last_stage(model: onnx.ModelProto) -> tuple[onnx.NodeProto, onnx.NodeProto]:
    """The last convolution (what the global pool averages) and the hidden head Gemm."""
    nodes = list(model.graph.node)
    gemms = [n for n in nodes if n.op_type == "Gemm" and n.name.startswith("head_hidden")]
    convs = [n for n in nodes if n.op_type == "Conv"]
    if not gemms or not convs:
        raise ValueError("no head_hidden Gemm or no Conv: not a network to_onnx.py wrote")
    # a multi-view wrap repeats the nodes, but every copy reads the same initializers
    return convs[-1], gemms[-1]


def widen(model: onnx.ModelProto, width: int, seed: int = 19) -> onnx.ModelProto:
    """A copy of `model` whose last convolution has `width` output channels, same function."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    conv, gemm = _last_stage(out)
    inits = {t.name: t for t in out.graph.initializer}
    w = numpy_helper.to_array(inits[conv.input[1]])
    b = numpy_helper.to_array(inits[conv.input[2]])
    g = numpy_helper.to_array(inits[gemm.input[1]])
    old = w.shape[0]
    if any(a.name == "transB" and a.i for a in gemm.attribute):
        raise ValueError(f"{gemm.name}: transposed weights; to_onnx.py writes them (in, out)")
    if g.shape[0] != old:
        raise ValueError(f"head_hidden takes {g.shape[0]} inputs, the last conv gives {old}")
    if width <= old:
        raise ValueError(f"--last-conv {width} is not wider than the model's {old}")
    rng = np.random.default_rng(seed)
    # channels old.. copy a channel drawn without replacement while possible (spread the copies)
    src = np.concatenate([rng.permutation(old) for _ in range((width - old) // old + 1)])
    src = np.concatenate([np.arange(old), src[: width - old]])
    g_new = np.empty((width, g.shape[1]), np.float32)
    for c in range(old):
        members = np.flatnonzero(src == c)
        shares = rng.uniform(0.5, 1.5, (len(members), g.shape[1]))
        shares /= shares.sum(axis=0, keepdims=True)
        g_new[members] = (shares * g[c][None, :]).astype(np.float32)
    for name, arr in ((conv.input[1], w[src]), (conv.input[2], b[src]), (gemm.input[1], g_new)):
        inits[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(arr), name))
    return out


def check_same(a: onnx.ModelProto, b: onnx.ModelProto, n: int = 4) -> float:
    """Largest relative difference of the two models' embeddings on random [-1, 1] inputs."""
    import onnxruntime as ort

    x = np.random.default_rng(0).uniform(-1, 1, (n, 3, 360, 360)).astype(np.float32)
    outs = []
    for m in (a, b):
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        outs.append(sess.run(["embedding"], {sess.get_inputs()[0].name: x})[0])
    return float(np.abs(outs[0] - outs[1]).max() / np.abs(outs[0]).max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="model folder (model.onnx; seed.dat and seed.f32 copied)")
    ap.add_argument("--last-conv", type=int, required=True, help="new width of the last conv")
    ap.add_argument("--seed", type=int, default=19, help="random shares and copied channels")
    ap.add_argument("--out", required=True, help="new model folder")
    a = ap.parse_args()
    path = os.path.join(a.model, "model.onnx")
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: no such file")
    src = onnx.load(path)
    try:
        wide = widen(src, a.last_conv, a.seed)
    except ValueError as e:
        raise SystemExit(f"{path}: {e}") from None
    err = check_same(src, wide)
    if err > 1e-4:
        raise SystemExit(f"widened model differs from {a.model} by {err:.2e} (relative)")
    os.makedirs(a.out, exist_ok=True)
    write_bytes_atomic(os.path.join(a.out, "model.onnx"), wide.SerializeToString())
    for f in COPIED:
        if os.path.exists(os.path.join(a.model, f)):
            with open(os.path.join(a.model, f), "rb") as fh:
                write_bytes_atomic(os.path.join(a.out, f), fh.read())
    report = {"from": a.model, "last_conv": a.last_conv, "seed": a.seed, "max_rel_diff": err}
    write_text_atomic(os.path.join(a.out, "widen.json"), json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
