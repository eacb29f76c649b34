"""Load a shipped nhkit model (`model.onnx` written by training/to_onnx.py) back into Keras.

Why: the shipped folder is the only durable copy of a trained model (checkpoints are build output
and do not survive sessions). Two users need the Keras form:
- training v2 starts from v1's weights (a warm start: v1 is robust to everyday edits, v2 has to
  learn discrimination on more photos), and
- benchmarks/adversarial.py needs gradients of the float model (white-box attacks).

BatchNorm was folded into the convolutions at export (W' = W*g/s, b' = beta - mean*g/s). The
fold cannot be undone, but an equivalent BN can be rebuilt: with z = W'x, per-channel batch
statistics (m, v) of z measured on real images, and BN(gamma=sqrt(v+eps), beta=m+b',
moving_mean=m, moving_var=v), BN(z) = z + b' exactly in inference mode *and* approximately in
training mode (batch statistics ~ (m, v)), so training resumes from the shipped function
instead of a re-normalised one.
"""

from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def onnx_weights(path: str) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    return {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}


def last_conv_width(path: str) -> int:
    """Width of the features the model's global pool averages: the input width of its hidden
    head layer (576, or what `widen.py` made it), so a model is rebuilt at its own width."""
    w = onnx_weights(path)
    names = [k for k in w if k.startswith("head_hidden") and k.endswith(".w")]
    if len(names) != 1:
        raise SystemExit(f"{path}: expected one head_hidden weight, found {names}")
    return int(w[names[0]].shape[0])


def load_into(model, topo, onnx_path: str, calib_nhwc: np.ndarray | None, head_scale_out=None):
    """Set `model`'s weights from `onnx_path`; BN statistics from `calib_nhwc` ([-1,1] NHWC).

    Without calibration images the BNs are identities around b' (exact in inference mode only:
    enough for gradients through the float model, not for training)."""
    import keras

    w = onnx_weights(onnx_path)
    convs = []
    for op, name, _ins, ex in topo:
        if op == "conv_bn":
            conv = model.get_layer(name)
            bn = model.get_layer(ex["bn"])
            wf, bf = w[name + ".w"], w[name + ".b"]
            if ex["depthwise"]:
                k = wf.transpose(2, 3, 0, 1)  # cin,1,kh,kw -> kh,kw,cin,1
            else:
                k = wf.transpose(2, 3, 1, 0)  # cout,cin,kh,kw -> kh,kw,cin,cout
            conv.kernel.assign(k)
            eps = bn.epsilon
            c = bf.shape[0]
            bn.gamma.assign(np.ones(c, np.float32))
            bn.beta.assign(bf)
            bn.moving_mean.assign(np.zeros(c, np.float32))
            bn.moving_variance.assign(np.full(c, 1.0 - eps, np.float32))
            convs.append((conv, bn, bf))
        elif op == "conv_bias":
            conv = model.get_layer(name)
            conv.kernel.assign(w[name + ".w"].transpose(2, 3, 1, 0))
            conv.bias.assign(w[name + ".b"])
        elif op == "dense":
            d = model.get_layer(name)
            d.kernel.assign(w[name + ".w"])
            d.bias.assign(w[name + ".b"])
    if calib_nhwc is None:
        return model
    probe = keras.Model(model.input, [c.output for c, _, _ in convs])
    outs = probe.predict(calib_nhwc, batch_size=16, verbose=0)
    for (_conv, bn, bf), z in zip(convs, outs):
        z = z.reshape(-1, z.shape[-1]).astype(np.float64)
        m, v = z.mean(0), z.var(0)
        eps = bn.epsilon
        bn.gamma.assign(np.sqrt(v + eps).astype(np.float32))
        bn.beta.assign((m + bf).astype(np.float32))
        bn.moving_mean.assign(m.astype(np.float32))
        bn.moving_variance.assign(v.astype(np.float32))
    return model
