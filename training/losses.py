"""Losses on the 96 projections P = sqrt(128) * S @ e/|e| of two views of each image.

- NT-Xent over the 2B views on P/|P| (the hash only sees the seed's row space, so the
  contrastive term lives there too, not on the 32 directions the seed ignores);
- sign agreement with a margin: relu(m - P1 * tanh(k P2)) symmetrised, which both aligns the signs
  and pushes |P| away from 0 (fp16 / int8 headroom);
- bit balance: each soft bit tanh(kP) has mean ~0 over the batch;
- bit decorrelation: off-diagonal correlations of the soft bits over the batch ~0;
- hard-negative hinge: two different images whose soft bits agree on more than (1+c)/2 of the
  bits (Hamming < ~48(1-c)) are pushed apart; this aims at the zero-false-positive threshold;
- separation (phase 4, off before it): relu(s - |P|) on every projection of every view, a
  constant push away from 0 for the projections near it. The sign-agreement hinge barely moves
  those (its pull on P1 is tanh(k P2), ~0 when both views sit near 0), so v1-v3c kept an almost
  Gaussian |P| (6% of projections within 0.1 of 0) and every quantized variant's drift is set by
  that density: fewer projections near 0 make fp16, int8 and palettized bundles flip fewer bits.
- int8 error (phase 5, `w_qat`): mean squared difference between the projections of the
  network's int8 twin under pseudo-quantization noise (training/qat.py) and the float
  projections of the same view; its gradient lowers the sensitivity to 8-bit rounding (outlier
  weights and activation ranges, gains), not only the density near 0 (phase 4's lesson);
- Core ML int8 error (phase 6, `w_qatw`): the same with the weights-only twin (int8 weights as
  export/coreml.py's int8 variant quantizes them, float activations);
- keep (phase 5, `w_keep`): mean squared difference between the float projections and those of
  the frozen starting model (the shipped default), so that a phase aimed at the bundles does not
  wander off the edits and pairs the starting model already gets right.
- distillation (phase 12, `w_distill`): 1 - cosine between a linear map of the embedding and a
  pretrained teacher's features of the same view (training/teacher.py). The contrastive terms
  only see ~430 photos' subjects; the teacher's features tell apart many more, and asking the
  embedding to predict them is meant to carry that into pairs of subjects training never saw.
"""

import math

import tensorflow as tf

CFG = dict(
    tau=0.1,
    w_ntx=1.0,
    margin=0.8,
    k=3.0,
    w_margin=1.0,
    w_bal=1.0,
    w_dec=0.5,
    neg_cos=0.3,
    w_neg=2.0,
    w_sep=0.0,
    sep=0.3,
    w_qat=0.0,
    qat_quantile=1e-4,
    w_qatw=0.0,
    w_keep=0.0,
    w_distill=0.0,
)


def projections(e, seed_t):
    e = e / (tf.norm(e, axis=1, keepdims=True) + 1e-8)
    return math.sqrt(128.0) * tf.matmul(e, seed_t, transpose_b=True)


def total_loss(e1, e2, seed_t, cfg=CFG):
    p1, p2 = projections(e1, seed_t), projections(e2, seed_t)
    b = tf.shape(p1)[0]
    p = tf.concat([p1, p2], 0)
    z = p / (tf.norm(p, axis=1, keepdims=True) + 1e-8)
    sim = tf.matmul(z, z, transpose_b=True) / cfg["tau"]
    n2 = 2 * b
    eye = tf.eye(n2)
    sim = sim - 1e9 * eye
    pos_idx = tf.concat([tf.range(b, n2), tf.range(0, b)], 0)
    ntx = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=pos_idx, logits=sim))

    k = cfg["k"]
    m = cfg["margin"]
    hinge = 0.5 * tf.reduce_mean(
        tf.nn.relu(m - p1 * tf.tanh(k * p2)) + tf.nn.relu(m - p2 * tf.tanh(k * p1))
    )

    sb = tf.tanh(k * p)  # soft bits, 2B x 96
    bal = tf.reduce_mean(tf.square(tf.reduce_mean(sb, 0)))
    c = sb - tf.reduce_mean(sb, 0, keepdims=True)
    c = c / (tf.norm(c, axis=0, keepdims=True) + 1e-6)
    corr = tf.matmul(c, c, transpose_a=True)
    nb = tf.cast(tf.shape(p)[1], tf.float32)
    off = corr - tf.linalg.diag(tf.linalg.diag_part(corr))
    dec = tf.reduce_sum(tf.square(off)) / (nb * (nb - 1.0)) * nb  # ~ sum per bit

    # hard negatives: soft-bit agreement between different images (both views of each)
    agree = tf.matmul(sb, sb, transpose_b=True) / nb
    same = eye + tf.one_hot(pos_idx, n2)
    neg = tf.nn.relu(agree - cfg["neg_cos"]) * (1.0 - same)
    negl = tf.reduce_sum(tf.square(neg)) / tf.cast(n2, tf.float32)

    sep = tf.reduce_mean(tf.nn.relu(cfg.get("sep", 0.3) - tf.abs(p)))

    loss = (
        cfg.get("w_sep", 0.0) * sep
        + cfg["w_ntx"] * ntx
        + cfg["w_margin"] * hinge
        + cfg["w_bal"] * bal
        + cfg["w_dec"] * dec
        + cfg["w_neg"] * negl
    )

    # monitoring (hard bits)
    h1, h2 = p1 >= 0, p2 >= 0
    ham_pos = tf.reduce_mean(tf.reduce_sum(tf.cast(h1 != h2, tf.float32), 1))
    hb = tf.cast(p >= 0, tf.float32) * 2 - 1
    hd = (nb - tf.matmul(hb, hb, transpose_b=True)) / 2  # Hamming distances
    negmask = 1.0 - same
    ham_neg = tf.reduce_sum(hd * negmask) / tf.reduce_sum(negmask)
    ham_neg_min = tf.reduce_min(hd + 1e3 * same)
    stats = dict(
        loss=loss,
        ntx=ntx,
        hinge=hinge,
        bal=bal,
        dec=dec,
        neg=negl,
        sep=sep,
        ham_pos=ham_pos,
        ham_neg=ham_neg,
        ham_neg_min=ham_neg_min,
        absp=tf.reduce_mean(tf.abs(p)),
        near0=tf.reduce_mean(tf.cast(tf.abs(p) < 0.1, tf.float32)),
    )
    return loss, stats


def projection_mse(e_a, e_b, seed_t):
    """Mean squared difference of the projections of two embeddings of the same images (the
    int8 and keep terms); projections have RMS ~1, so this is a relative error squared."""
    return tf.reduce_mean(tf.square(projections(e_a, seed_t) - projections(e_b, seed_t)))


def distill_loss(e, head, t):
    """Mean 1 - cos(normalise(e) @ head, t): how badly the embedding predicts the teacher's
    features (0 when a linear map of it reproduces their direction)."""
    e = e / (tf.norm(e, axis=1, keepdims=True) + 1e-8)
    y = tf.matmul(e, head)
    y = y / (tf.norm(y, axis=1, keepdims=True) + 1e-8)
    t = t / (tf.norm(t, axis=1, keepdims=True) + 1e-8)
    return tf.reduce_mean(1.0 - tf.reduce_sum(y * t, axis=1))
