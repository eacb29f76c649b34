"""BatchNorm recalibration at the inference resolution (360), forward passes only.

Training runs mostly at 160-224 px with batch statistics while the weights move quickly; the
moving averages then lag and do not describe 360 px inputs. Before export we re-estimate every
BN layer's mean/variance as the plain average over batches (momentum (k-1)/k for batch k) of
360 px images: the training photos through the spec's preprocessing plus augmented training
pairs. Weights are not changed; no held-out photo is used.
"""

from __future__ import annotations

import data
import numpy as np

from nhkit.runtime.tensor import normalise


def recalibrate(
    model, train_rgb360, photo_dir, train_files, batches=24, batch_size=32, seed=777, log=print
):
    import keras
    import tensorflow as tf

    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    old = [layer.momentum for layer in bns]
    data.load_photos(photo_dir, train_files)
    inputs = []
    for i in range(0, len(train_rgb360), batch_size):
        inputs.append(train_rgb360[i : i + batch_size])
    for k in range(batches):
        v1, v2 = data.make_batch((seed, k, 360, batch_size // 2))
        inputs.append(np.concatenate([v1, v2]))
    for k, x in enumerate(inputs, start=1):
        for layer in bns:
            layer.momentum = (k - 1) / k
        model(tf.constant(normalise(x, "NHWC")), training=True)
        if k % 8 == 0:
            log(f"bn recalibration: batch {k}/{len(inputs)}")
    for layer, m in zip(bns, old):
        layer.momentum = m
    return len(inputs)
