"""MobileNetV3-Small-like embedding network built from explicit Keras layers.

Every layer maps to one ONNX op (see training/to_onnx.py): Conv2D / DepthwiseConv2D (no bias)
followed by BatchNormalization (folded into the conv at export), ReLU, HardSwish, HardSigmoid,
GlobalAveragePooling2D(keepdims) + 1x1 Conv2D (squeeze-excite), Multiply, Add, and a Dense head.
Stride-2 convolutions are preceded by an explicit symmetric ZeroPadding2D and use 'valid'
padding, so the padding is the same at every input size and in ONNX (no TF 'same' asymmetry).

The builder also returns `topo`: an ordered list of nodes (op, name, inputs, extra) that the
ONNX writer replays, so the exported graph is exactly the Keras graph.
"""

from __future__ import annotations

import keras
from keras import layers

from nhkit.export.testmodels import MNV3_SMALL_BLOCKS

BN_MOMENTUM = 0.95
BN_EPS = 1e-3

# (kernel, expansion, out, se, activation, stride): MobileNetV3-Small (Howard et al. 2019), the
# same table export's synthetic test models use, so they exercise the default architecture.
BLOCKS = MNV3_SMALL_BLOCKS
LAST_CONV = 576
HEAD_HIDDEN = 1024
EMBED_DIM = 128


@keras.saving.register_keras_serializable(package="nhkit")
class HardSigmoid(layers.Layer):
    """relu6(x + 3) / 6  == ONNX HardSigmoid(alpha=1/6, beta=0.5)."""

    def call(self, x):
        return keras.ops.relu6(x + 3.0) * (1.0 / 6.0)


@keras.saving.register_keras_serializable(package="nhkit")
class HardSwish(layers.Layer):
    """x * relu6(x + 3) / 6  == ONNX HardSwish."""

    def call(self, x):
        return x * keras.ops.relu6(x + 3.0) * (1.0 / 6.0)


def resize_input(x, side: int):
    """The input resize of a network built with `input_side` (phase 22), as TensorFlow ops: what
    its Keras `Resizing` layer, the export's ONNX Resize and `train.py --input-side` all apply
    (bilinear, half-pixel centres, no antialias)."""
    import tensorflow as tf

    return tf.image.resize(x, [side, side], method="bilinear", antialias=False)


def _make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class _Builder:
    def __init__(self):
        self.topo = []  # (op, name, [input names], extra dict)
        self.n = 0

    def _name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def conv_bn(self, x, xname, filters, k, stride, depthwise=False):
        """(pad) + conv (no bias) + BN. Returns (tensor, name of the conv_bn node)."""
        name = self._name("dw" if depthwise else "conv")
        pad = 0
        if stride == 2:
            pad = (k - 1) // 2
            x = layers.ZeroPadding2D(pad, name=name + "_pad")(x)
            padding = "valid"
        else:
            padding = "same"  # odd kernel, stride 1: symmetric (k-1)/2
        if depthwise:
            conv = layers.DepthwiseConv2D(
                k, strides=stride, padding=padding, use_bias=False, name=name
            )
        else:
            conv = layers.Conv2D(
                filters, k, strides=stride, padding=padding, use_bias=False, name=name
            )
        x = conv(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPS, name=name + "_bn")(x)
        self.topo.append(
            (
                "conv_bn",
                name,
                [xname],
                {"bn": name + "_bn", "pad": pad, "stride": stride, "k": k, "depthwise": depthwise},
            )
        )
        return x, name

    def act(self, x, xname, kind):
        name = self._name(kind)
        if kind == "relu":
            x = layers.ReLU(name=name)(x)
        elif kind == "hswish":
            x = HardSwish(name=name)(x)
        elif kind == "hsigmoid":
            x = HardSigmoid(name=name)(x)
        else:
            raise ValueError(kind)
        self.topo.append((kind, name, [xname], {}))
        return x, name

    def se(self, x, xname, ch):
        sq = _make_divisible(ch * 0.25)
        gname = self._name("gap")
        s = layers.GlobalAveragePooling2D(keepdims=True, name=gname)(x)
        self.topo.append(("gap", gname, [xname], {}))
        c1 = self._name("se_reduce")
        s = layers.Conv2D(sq, 1, use_bias=True, name=c1)(s)
        self.topo.append(("conv_bias", c1, [gname], {}))
        s, sname = self.act(s, c1, "relu")
        c2 = self._name("se_expand")
        s = layers.Conv2D(ch, 1, use_bias=True, name=c2)(s)
        self.topo.append(("conv_bias", c2, [sname], {}))
        s, sname = self.act(s, c2, "hsigmoid")
        mname = self._name("se_mul")
        x = layers.Multiply(name=mname)([x, s])
        self.topo.append(("mul", mname, [xname, sname], {}))
        return x, mname


def build_model(input_size=None, input_pool=1, last_conv=LAST_CONV, input_side=None):
    """Returns (keras.Model, topo). Input NHWC float32 in [-1, 1]; output 128 floats.

    input_pool > 1 puts a non-trainable average pool (kernel = stride = input_pool) in front of
    the backbone, so a 360x360 input is seen at 180x180 (the resolutions it was trained at).
    last_conv is the width of the last 1x1 convolution, the features the global pool averages
    (576 in MobileNetV3-Small and in every shipped model; phase 19 widens it, `widen.py`).
    input_side (phase 22, in place of input_pool): a bilinear half-pixel resize of the input to
    input_side x input_side, no antialias, the one ONNX Resize, TFLite and Core ML agree on; the
    network trained with `train.py --input-side` saw its batches through the same resize."""
    b = _Builder()
    inp = keras.Input((input_size, input_size, 3), name="image")
    x, xn = inp, "image"
    if input_side and input_pool > 1:
        raise ValueError("input_side replaces the input pool; give one of them")
    if input_side:
        side = int(input_side)
        x = layers.Resizing(side, side, interpolation="bilinear", name="input_resize")(x)
        b.topo.append(("resize", "input_resize", [xn], {"side": side}))
        xn = "input_resize"
    if input_pool > 1:
        x = layers.AveragePooling2D(
            input_pool, strides=input_pool, padding="valid", name="input_pool"
        )(x)
        b.topo.append(("avgpool", "input_pool", [xn], {"k": input_pool}))
        xn = "input_pool"
    x, xn = b.conv_bn(x, xn, 16, 3, 2)
    x, xn = b.act(x, xn, "hswish")
    cin = 16
    for k, exp, out, use_se, a, s in BLOCKS:
        shortcut, sn = x, xn
        if exp != cin:
            x, xn = b.conv_bn(x, xn, exp, 1, 1)
            x, xn = b.act(x, xn, a)
        x, xn = b.conv_bn(x, xn, None, k, s, depthwise=True)
        x, xn = b.act(x, xn, a)
        if use_se:
            x, xn = b.se(x, xn, exp)
        x, xn = b.conv_bn(x, xn, out, 1, 1)
        if s == 1 and cin == out:
            an = b._name("add")
            x = layers.Add(name=an)([shortcut, x])
            b.topo.append(("add", an, [sn, xn], {}))
            xn = an
        cin = out
    x, xn = b.conv_bn(x, xn, last_conv, 1, 1)
    x, xn = b.act(x, xn, "hswish")
    gname = b._name("gap")
    x = layers.GlobalAveragePooling2D(keepdims=False, name=gname)(x)
    b.topo.append(("gap_flat", gname, [xn], {}))
    xn = gname
    d1 = b._name("head_hidden")
    x = layers.Dense(HEAD_HIDDEN, name=d1)(x)
    b.topo.append(("dense", d1, [xn], {}))
    x, xn = b.act(x, d1, "hswish")
    d2 = "embedding"
    x = layers.Dense(EMBED_DIM, name=d2)(x)
    b.topo.append(("dense", d2, [xn], {}))
    model = keras.Model(inp, x, name="nhkit_mnv3s")
    return model, b.topo


def count_macs(topo, model, size=360):
    """Multiply-accumulates of the conv/dense layers at a given input size."""
    import numpy as np  # noqa: F401

    hw = {"image": size}
    macs = 0
    for op, name, ins, ex in topo:
        h = ex["side"] if op == "resize" else hw[ins[0]]
        if op == "conv_bn":
            layer = model.get_layer(name)
            kshape = layer.kernel.shape
            if ex["stride"] == 2:
                h = (h + 2 * ex["pad"] - ex["k"]) // 2 + 1
            if ex["depthwise"]:
                macs += h * h * kshape[0] * kshape[1] * kshape[2]
            else:
                macs += h * h * kshape[0] * kshape[1] * kshape[2] * kshape[3]
        elif op in ("conv_bias", "dense"):
            kshape = model.get_layer(name).kernel.shape
            n = 1
            for d in kshape:
                n *= d
            macs += n
            h = 1
        elif op in ("gap", "gap_flat"):
            h = 1
        elif op == "avgpool":
            h = h // ex["k"]
        hw[name] = h
    return macs


if __name__ == "__main__":
    m, t = build_model()
    print(
        "params",
        m.count_params(),
        "MACs@360",
        count_macs(t, m, 360),
        "MACs@224",
        count_macs(t, m, 224),
    )
