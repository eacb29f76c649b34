"""Simulated full-int8 forward pass of the training network (quantization-aware training).

Why: the full-int8 TFLite bundle is the one variant the export cannot bring within issue 12's
section 4 goals (mean 1.37 bits, 12 flips of non-fragile bits on the evaluation photos), and
phase 4 showed that fewer projections near 0 alone do not help: the projections also have to
move less under int8 rounding. This module replays the network's topology (training/model.py)
with the arithmetic of the exported int8 model, so a loss can see, and a gradient can lower,
the difference between the int8 and the float projections of the same weights.

What it simulates (export/tflite.py's full-int8 recipe; fake quantization with straight-through
gradients, tf.quantization.fake_quant_*):
- BatchNorm folded into the convolution (as training/to_onnx.py writes it), then the folded
  weights rounded to int8 per output channel, symmetric (what the converter does for CONV_2D,
  DEPTHWISE_CONV_2D and FULLY_CONNECTED); biases stay exact (int32 in the file);
- every activation tensor the int8 graph stores clipped and rounded to 8 bits per tensor over
  the export's range: per photo the 1e-4 / 1 - 1e-4 quantiles, widest over the photos (over
  calibration batches when rounding, `calibrate`; over the batch itself under noise);
- a conv followed by ReLU is one fused op (only the ReLU's output is stored); so is the
  squeeze-excite conv before HardSigmoid (the bundle stores relu6(x + 3), the same steps);
- the float stem: everything up to the second conv+BN of the backbone (the export keeps its
  first three convolutions in float, the 2x2 input pool being the first) stays float, and the
  activation after it is the first int8 tensor.
It does not model the int32 accumulator or the requantisation's fixed-point multiplier, both far
finer than the 8-bit steps.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from nhkit.export.coreml import WEIGHT_THRESHOLD
from nhkit.export.tflite import RANGE_QUANTILE

FLOAT_CONV_BN = 2  # backbone convs kept float (+ the input pool): FLOAT_FIRST_CONVS = 3 at export


def _fq_weights(w: tf.Tensor, noise: bool, min_size: int = 0) -> tf.Tensor:
    """int8 per channel (last axis), symmetric, narrow range: the converter's weight scheme.

    noise: instead of rounding, add uniform noise of one step (pseudo-quantization noise,
    Defossez et al. 2021, "Differentiable Model Compression via Pseudo Quantization Noise").
    Rounding with a straight-through gradient passes the gains after it but treats each step as
    a constant: a loss on the int8-vs-float difference cannot see that one outlier weight (or
    activation) sets the step of its whole channel (or tensor). With noise the error is step * u
    and the step (max |w| per channel / 127) is differentiable too, so the loss can shrink the
    outliers as well as the network's gain from each rounding to the projections."""
    if w.shape.num_elements() < min_size:
        return w
    axes = list(range(len(w.shape) - 1))
    a = tf.maximum(tf.reduce_max(tf.abs(w), axis=axes), 1e-8)
    if noise:
        return w + (a / 127.0) * tf.random.uniform(tf.shape(w), -0.5, 0.5)
    a = tf.stop_gradient(a)
    return tf.quantization.fake_quant_with_min_max_vars_per_channel(
        w, -a, a, num_bits=8, narrow_range=True
    )


class Int8Sim:
    """The network's int8 twin: same variables, fake-quantized arithmetic."""

    def __init__(
        self,
        model: Any,
        topo: list,
        quantile: float | None = RANGE_QUANTILE,
        weights_only: bool = False,
    ) -> None:
        """weights_only: the Core ML int8 variant's twin instead (export/coreml.py): int8 per
        output channel on the weight tensors of at least WEIGHT_THRESHOLD elements, stem
        included, activations not rounded (its fp16 compute is not modelled)."""
        self.model = model
        self.topo = topo
        self.quantile = quantile or 0.0  # None (the converter's min/max): the extreme values
        consumers: dict[str, list[str]] = {}
        for op, _name, ins, _ex in topo:
            for i in ins:
                consumers.setdefault(i, []).append(op)
        # weight tensors below this size are not rounded (Core ML leaves them fp16)
        self.min_weight_size = WEIGHT_THRESHOLD if weights_only else 0
        self.float_nodes: set[str] = set()
        self.stored: list[str] = []
        if not weights_only:
            seen = 0
            for op, name, _ins, _ex in topo:
                if seen >= FLOAT_CONV_BN:
                    break
                self.float_nodes.add(name)
                seen += op == "conv_bn"
            # tensors the int8 graph stores: every node output outside the float stem, except a
            # conv whose only consumer is a ReLU or HardSigmoid (fused into it)
            self.stored = [
                name
                for op, name, _ins, _ex in topo
                if name not in self.float_nodes
                and not (
                    op in ("conv_bn", "conv_bias")
                    and consumers.get(name) in (["relu"], ["hsigmoid"])
                )
            ]
        self.lo = {n: tf.Variable(0.0, trainable=False, name=f"qlo_{n}") for n in self.stored}
        self.hi = {n: tf.Variable(0.0, trainable=False, name=f"qhi_{n}") for n in self.stored}

    def _range(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The export's activation range of `x` (export/tflite.py, RANGE_QUANTILE): per photo
        the RANGE_QUANTILE and 1 - RANGE_QUANTILE quantiles, widest over the photos, and 0
        inside. Differentiable: the gradient reaches the values that set the range."""
        v = tf.reshape(x, [tf.shape(x)[0], -1])
        n = tf.cast(tf.shape(v)[1], tf.float32)
        k = tf.maximum(1, tf.cast(tf.math.ceil(self.quantile * n), tf.int32))
        hi = tf.reduce_max(tf.math.top_k(v, k).values[:, -1])
        lo = -tf.reduce_max(tf.math.top_k(-v, k).values[:, -1])
        return tf.minimum(lo, 0.0), tf.maximum(hi, 0.0)

    def _act(self, name: str, x: tf.Tensor, update: bool, noise: bool) -> tf.Tensor:
        if name not in self.lo:
            return x
        if noise:  # clipped to this batch's range, plus one 8-bit step of noise
            lo, hi = self._range(x)
            y = tf.clip_by_value(x, tf.stop_gradient(lo), tf.stop_gradient(hi))
            return y + (hi - lo) / 255.0 * tf.random.uniform(tf.shape(x), -0.5, 0.5)
        lo, hi = self.lo[name], self.hi[name]
        if update:
            blo, bhi = self._range(x)
            lo.assign(blo)
            hi.assign(bhi)
        return tf.quantization.fake_quant_with_min_max_vars(
            x, tf.stop_gradient(lo.value()), tf.stop_gradient(hi.value()), num_bits=8
        )

    def __call__(self, x: tf.Tensor, update: bool = False, noise: bool = False) -> tf.Tensor:
        """x: NHWC float32 in [-1, 1] -> the 128 embedding values of the int8 twin.

        update: set the activation ranges to this batch's quantile ranges (see calibrate).
        noise: pseudo-quantization noise over each batch's own range instead of rounding
        (training)."""
        m = self.model
        vals: dict[str, tf.Tensor] = {"image": x}
        for op, name, ins, ex in self.topo:
            a = [vals[i] for i in ins]
            quant = name not in self.float_nodes
            small = self.min_weight_size
            if op == "conv_bn":
                conv, bn = m.get_layer(name), m.get_layer(ex["bn"])
                s = bn.gamma / tf.sqrt(bn.moving_variance + bn.epsilon)
                b = bn.beta - bn.moving_mean * s
                k = tf.convert_to_tensor(conv.kernel)
                y = a[0]
                if ex["stride"] == 2:
                    p = ex["pad"]
                    y = tf.pad(y, [[0, 0], [p, p], [p, p], [0, 0]])
                pad = "VALID" if ex["stride"] == 2 else "SAME"
                st = [1, ex["stride"], ex["stride"], 1]
                if ex["depthwise"]:
                    w = k[:, :, :, 0] * s  # kh, kw, c
                    w = _fq_weights(w, noise, small) if quant else w
                    y = tf.nn.depthwise_conv2d(y, w[:, :, :, None], st, pad)
                else:
                    w = k * s
                    w = _fq_weights(w, noise, small) if quant else w
                    y = tf.nn.conv2d(y, w, st, pad)
                y = y + b
            elif op == "conv_bias":
                conv = m.get_layer(name)
                w = _fq_weights(tf.convert_to_tensor(conv.kernel)[0, 0], noise, small)
                y = tf.einsum("nhwc,cd->nhwd", a[0], w) + conv.bias
            elif op == "dense":
                d = m.get_layer(name)
                w = _fq_weights(tf.convert_to_tensor(d.kernel), noise, small)
                y = tf.matmul(a[0], w) + d.bias
            elif op == "resize":
                from model import resize_input

                y = resize_input(a[0], ex["side"])
            elif op == "avgpool":
                kk = ex["k"]
                y = tf.nn.avg_pool2d(a[0], kk, kk, "VALID")
            elif op == "relu":
                y = tf.nn.relu(a[0])
            elif op == "hswish":
                y = a[0] * tf.nn.relu6(a[0] + 3.0) / 6.0
            elif op == "hsigmoid":
                y = tf.nn.relu6(a[0] + 3.0) / 6.0
            elif op == "gap":
                y = tf.reduce_mean(a[0], axis=[1, 2], keepdims=True)
            elif op == "gap_flat":
                y = tf.reduce_mean(a[0], axis=[1, 2])
            elif op == "mul":
                y = a[0] * a[1]
            elif op == "add":
                y = a[0] + a[1]
            else:
                raise ValueError(f"unknown op {op}")
            vals[name] = self._act(name, y, update, noise)
        return vals[self.topo[-1][1]]

    def calibrate(self, batches: Any) -> None:
        """Set every activation range as the export does over calibration photos (`batches`,
        NHWC, [-1, 1]): the widest per-photo quantile range (for checking the twin against an
        exported bundle)."""
        lo = {n: 0.0 for n in self.stored}
        hi = {n: 0.0 for n in self.stored}
        for x in batches:
            self(tf.constant(x), update=True)
            for n in self.stored:
                lo[n] = min(lo[n], float(self.lo[n].numpy()))
                hi[n] = max(hi[n], float(self.hi[n].numpy()))
        for n in self.stored:
            self.lo[n].assign(lo[n])
            self.hi[n].assign(hi[n])


def _check() -> None:
    """How close is the twin to the exported full-int8 bundle? Bits flipped against fp32 on
    train-side tuning photos: the twin's, the bundle's, and how often they flip the same bit."""
    import argparse
    import json
    import sys
    from pathlib import Path

    import numpy as np

    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    sys.path.insert(0, str(here.parent / "benchmarks"))
    from from_onnx import last_conv_width, load_into
    from model import build_model
    from quantization import tuning_files

    from nhkit.export.exporter import CALIBRATION_VIEWS
    from nhkit.export.verify import DEFAULT_CALIBRATION_DIR, embed_all, list_images, load_image_set
    from nhkit.runtime.backends.factory import open_backend
    from nhkit.runtime.backends.onnx import OnnxBackend
    from nhkit.runtime.seed import load_seed
    from nhkit.runtime.spec import Spec

    ap = argparse.ArgumentParser(description=_check.__doc__)
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--bundle", type=Path, required=True, help="a full-int8 model.tflite")
    ap.add_argument("--shared", type=Path, required=True)
    ap.add_argument("--split", type=Path, default=here / "split_v2.json")
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument(
        "--bundle-ranges",
        action="store_true",
        help="give the twin the bundle's own activation ranges (read from its flatbuffer) "
        "instead of calibrating them: what is left is the twin's arithmetic",
    )
    a = ap.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.random.set_seed(0)  # the noise twin's draw: the same figures on every run
    spec = Spec()
    split = json.loads(a.split.read_text())
    files = tuning_files(split, a.shared, DEFAULT_CALIBRATION_DIR)[: a.n]
    ev = load_image_set(files, spec, what="tuning", source="split train")
    x = ev.nchw()
    cal = load_image_set(
        list_images(DEFAULT_CALIBRATION_DIR, what="calibration"),
        spec,
        what="calibration",
        views=CALIBRATION_VIEWS,
    ).nchw()
    onnx_path = a.model_dir / "model.onnx"
    seed = load_seed(a.model_dir / "seed.f32")
    ref = embed_all(OnnxBackend(onnx_path, threads=2), x)
    backend = open_backend("tflite", a.bundle, threads=2, input_spec=None)
    q = embed_all(backend, x)
    model, topo = build_model(input_pool=2, last_conv=last_conv_width(str(onnx_path)))
    load_into(model, topo, str(onnx_path), None)
    sim = Int8Sim(model, topo)

    def batches(b: np.ndarray) -> Any:
        return (
            np.ascontiguousarray(b[i : i + 8].transpose(0, 2, 3, 1)) for i in range(0, len(b), 8)
        )

    def run(f: Any) -> np.ndarray:  # projections of the tuning photos through f
        return np.concatenate([np.asarray(f(tf.constant(v))) for v in batches(x)]) @ seed.T

    if a.bundle_ranges:
        _set_bundle_ranges(sim, a.bundle)
    else:
        sim.calibrate(batches(cal))
    pr, pq = ref @ seed.T, q @ seed.T
    pf = run(lambda v: model(v, training=False))
    ps, pn = run(sim), run(lambda v: sim(v, noise=True))
    dq, ds, dn = (pr >= 0) != (pq >= 0), (pr >= 0) != (ps >= 0), (pr >= 0) != (pn >= 0)
    rel = lambda p: np.sqrt(((p - pr) ** 2).mean() / (pr**2).mean())  # noqa: E731
    df = (pr >= 0) != (pf >= 0)
    print(f"{len(x)} tuning photos; keras float vs onnxruntime: {int(df.sum())} bits")
    print(f"bundle: mean {dq.sum(1).mean():.3f} max {dq.sum(1).max()}")
    print(f"twin:   mean {ds.sum(1).mean():.3f} max {ds.sum(1).max()}")
    print(f"noise:  mean {dn.sum(1).mean():.3f} max {dn.sum(1).max()} (pseudo-quantization noise)")
    print(f"same bit flipped by both: {int((dq & ds).sum())} of {int(dq.sum())} / {int(ds.sum())}")
    print(
        f"projection error RMS (relative to RMS |P|): bundle {rel(pq):.4f} twin {rel(ps):.4f} "
        f"noise {rel(pn):.4f}; corr of errors "
        f"{np.corrcoef((pq - pr).ravel(), (ps - pr).ravel())[0, 1]:.3f}"
    )


def _set_bundle_ranges(sim: Int8Sim, bundle: Any) -> None:
    """Give the rounding twin the activation ranges of a full-int8 .tflite: each stored int8
    op output, named by its first name scope (export/tflite.py's _TfBuilder scopes ops by node),
    the float-to-int8 boundary (the first stored tensor) and the dequantized output
    (the embedding)."""
    from tensorflow.lite.python import schema_py_generated as schema_fb

    data = open(bundle, "rb").read()
    fb = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAsModel(data, 0))
    sub = fb.subgraphs[0]
    found: dict[str, tuple[float, float]] = {}
    for op in sub.operators:
        t = sub.tensors[op.outputs[0]]
        q = t.quantization
        if t.type != schema_fb.TensorType.INT8 or q is None or q.scale is None or len(q.scale) != 1:
            continue
        name = t.name.decode()
        node = name.split(";")[0].split("/")[0]
        if name == "tfl.quantize":
            node = sim.stored[0]
        elif node.startswith("PartitionedCall"):
            node = sim.topo[-1][1]
        elif node.endswith("_pool"):
            node = node[: -len("_pool")]
        found[node] = (q.scale[0] * (-128 - q.zeroPoint[0]), q.scale[0] * (127 - q.zeroPoint[0]))
    missing = [n for n in sim.stored if n not in found]
    if missing:
        raise SystemExit(f"{bundle}: no int8 range for {', '.join(missing)}")
    for n, (lo, hi) in found.items():
        if n in sim.lo:
            sim.lo[n].assign(lo)
            sim.hi[n].assign(hi)


if __name__ == "__main__":
    _check()
