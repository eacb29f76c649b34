"""training/qat.py, the int8 twin used by phase 5's quantization-aware term: which tensors it
rounds, that rounding stays within a few 8-bit steps of the float network, and why training
uses pseudo-quantization noise (the step sizes, set by outliers, get a gradient; with rounding
and a straight-through estimator they do not)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

from losses import projection_mse  # noqa: E402
from model import build_model  # noqa: E402
from qat import Int8Sim  # noqa: E402
from train import make_seed_matrix  # noqa: E402


@pytest.fixture(scope="module")
def net():
    """The shipped v2 network (from its ONNX, BN as identities: exact in inference mode) and 4
    of the export's shipped validation photos, preprocessed by the spec."""
    from from_onnx import load_into

    from nhkit.runtime.decode import decode_image
    from nhkit.runtime.resize import resize_rgb
    from nhkit.runtime.tensor import normalise

    model, topo = build_model(input_pool=2)
    load_into(model, topo, str(ROOT / "runtime/models/nhkit-mnv3s-v2/model.onnx"), None)
    photos = sorted((ROOT / "export/data/validation").glob("*.jpg"))[:4]
    rgb = np.stack([resize_rgb(decode_image(p).rgb, 360) for p in photos])
    return model, topo, tf.constant(normalise(rgb, "NHWC"))


def test_float_stem_and_fused_relu(net):
    model, topo, _ = net
    sim = Int8Sim(model, topo)
    assert sim.float_nodes == {"input_pool", "conv_1", "hswish_2", "dw_3"}
    assert "relu_4" in sim.stored  # the first int8 tensor: the stem's output
    assert "dw_3" not in sim.stored
    convs_into_relu = [
        name
        for op, name, _ins, _ex in topo
        if op == "conv_bn" and any(o == "relu" and i == [name] for o, _n, i, _e in topo)
    ]
    assert convs_into_relu and not set(convs_into_relu) & set(sim.stored)  # fused
    se_expand = [name for op, name, _i, _e in topo if name.startswith("se_expand")]
    assert se_expand and not set(se_expand) & set(sim.stored)  # fused into HardSigmoid's relu6
    assert "embedding" in sim.stored  # the int8 output is rounded before it is dequantized


def test_rounding_twin_is_the_float_network_within_int8_steps(net):
    model, topo, x = net
    sim = Int8Sim(model, topo)
    sim.calibrate([x.numpy()])
    seed = tf.constant(make_seed_matrix())
    ref = model(x, training=False)
    err = float(tf.sqrt(projection_mse(sim(x), ref, seed)))
    noisy = float(tf.sqrt(projection_mse(sim(x, noise=True), ref, seed)))
    assert 0.01 < err < 0.2  # rounded (v2's bundle: 0.045), not float, and not broken
    assert 0.2 < noisy / err < 5  # the noise is the size of the rounding error
    # ranges calibrated on 8x wider inputs: 8x coarser steps in the first int8 tensors
    sim.calibrate([8 * x.numpy()])
    assert float(tf.sqrt(projection_mse(sim(x), ref, seed))) > 2 * err


def test_noise_gives_the_step_size_a_gradient():
    """Why training uses noise: the rounding error of a weight channel, as a function of its
    weights, has no straight-through gradient (round(w) - w passes 1 - 1); the noise error
    a/127 * u has one, on the weight that sets the channel's step a = max |w| and only there."""
    from qat import _fq_weights

    w = tf.Variable(np.array([[0.1, -2.0], [0.5, 0.3], [-0.2, 0.05]], np.float32))
    for noise, nonzero in ((False, set()), (True, {(1, 0), (0, 1)})):
        tf.random.set_seed(3)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(_fq_weights(w, noise) - w))
        g = tape.gradient(loss, w).numpy()
        assert {tuple(int(i) for i in ix) for ix in np.argwhere(np.abs(g) > 1e-9)} == nonzero
    assert float(loss) > 0


def test_noise_twin_error_has_a_gradient_on_the_network(net):
    model, topo, x = net
    sim = Int8Sim(model, topo)
    seed = tf.constant(make_seed_matrix())
    with tf.GradientTape() as tape:
        loss = projection_mse(sim(x, noise=True), model(x, training=False), seed)
    grads = tape.gradient(loss, model.trainable_variables)
    reached = [v.path for v, g in zip(model.trainable_variables, grads) if g is not None]
    assert "conv_1/kernel" in reached and "embedding/kernel" in reached
    assert all(bool(tf.reduce_all(tf.math.is_finite(g))) for g in grads if g is not None)


def test_weights_only_twin_rounds_the_large_weights_only(net):
    """The Core ML int8 twin: no activation rounding, no float stem, and only weight tensors of
    at least WEIGHT_THRESHOLD elements rounded (export/coreml.py leaves the rest fp16), so its
    error is far below the full-int8 twin's."""
    from qat import _fq_weights

    from nhkit.export.coreml import WEIGHT_THRESHOLD

    model, topo, x = net
    simw = Int8Sim(model, topo, weights_only=True)
    assert simw.stored == [] and simw.float_nodes == set()
    small = tf.ones([3, 3, 3, 16])  # the stem's 432 weights
    assert small.shape.num_elements() < WEIGHT_THRESHOLD
    assert bool(tf.reduce_all(_fq_weights(small * 0.37, False, WEIGHT_THRESHOLD) == small * 0.37))
    seed = tf.constant(make_seed_matrix())
    ref = model(x, training=False)
    full = Int8Sim(model, topo)
    full.calibrate([x.numpy()])
    err_w = float(tf.sqrt(projection_mse(simw(x), ref, seed)))
    err_full = float(tf.sqrt(projection_mse(full(x), ref, seed)))
    assert 0 < err_w < err_full / 2


def test_input_side_network_exports_the_resize_it_was_trained_through(net):
    """Phase 22 (`train.py --input-side`): the network sees its 360 px input through a bilinear
    half-pixel resize. The Keras model, its ONNX (to_onnx) and the int8 twin must apply the
    same resize, or the exported hash is not the trained one."""
    import onnxruntime as ort
    from from_onnx import load_into
    from to_onnx import build_onnx

    _, _, x = net
    with pytest.raises(ValueError, match="input pool"):
        build_model(input_pool=2, input_side=252)
    model, topo = build_model(input_side=252)
    load_into(model, topo, str(ROOT / "runtime/models/nhkit-mnv3s-v2/model.onnx"), None)
    assert topo[0][0] == "resize" and topo[0][3] == {"side": 252}
    m = build_onnx(model, topo)
    assert m.graph.node[0].op_type == "Resize"
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(["embedding"], {"image": x.numpy().transpose(0, 3, 1, 2)})[0]
    want = model(x, training=False).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    at_252 = tf.image.resize(x, [252, 252], method="bilinear", antialias=False)
    plain, plain_topo = build_model()
    load_into(plain, plain_topo, str(ROOT / "runtime/models/nhkit-mnv3s-v2/model.onnx"), None)
    np.testing.assert_allclose(plain(at_252, training=False).numpy(), want, rtol=1e-4, atol=1e-4)
    pooled = build_model(input_pool=2)[0]
    pooled.set_weights(plain.get_weights())
    assert np.abs(pooled(x, training=False).numpy() - want).max() > 1e-2  # the side matters
    sim = Int8Sim(model, topo)
    assert "input_resize" in sim.float_nodes and "input_resize" not in sim.stored
    sim.calibrate([x.numpy()])
    seed = tf.constant(make_seed_matrix())
    assert float(tf.sqrt(projection_mse(sim(x), model(x, training=False), seed))) < 0.2
