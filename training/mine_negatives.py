#!/usr/bin/env python3
"""The training photos' closest distinct pairs under one model: hard negatives it confuses.

Every tail pair the evaluations found (two Raspberry Pi boards, two portraits, a goldfish and a
guitar on dark ground) is two photos of one kind of subject, and they come from different
packages as often as from one, so same-package "cousins" (phase 11) miss most of them and a
random batch rarely holds them. This hashes every training photo of a split with the model
(the runtime's own Hasher: the spec's decode and resize, full image), and writes for each photo
its k nearest other training photos by Hamming distance (ties: the closer projection vectors),
never a near-duplicate.
train.py --mined FILE --mined-p P then puts one of them into the batch next to the photo, and
the in-batch negative term pushes the pair apart. Evaluation photos are never read.

    python training/mine_negatives.py --model training/candidates/nhkit-mnv3s-v13x \
        --split training/split_v3.json --photos ../shared/photos --extra ../shared/photos_extra \
        --folder photos_extra2=../photos_extra2 --out training/mined_v13x.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))
from calib_set import PDQ_MAX, PHASH_MAX, cross_distances, fingerprints  # noqa: E402
from photo_hashes import hash_all, hasher_for  # noqa: E402

from nhkit.runtime.atomic import write_text_atomic  # noqa: E402


def nearest(
    bits: np.ndarray, proj: np.ndarray, k: int, same: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(indices, Hamming distances) of each row's k nearest other rows, nearest first, never a
    pair `same` marks (near-duplicates: pushing them apart would teach that an edit is a new
    photo)."""
    ham = cross_distances(bits, bits)
    unit = proj / np.linalg.norm(proj, axis=1, keepdims=True)
    # Hamming first; the cosine of the projections only orders the ties (it is in [-1, 1])
    key = ham.astype(np.float64) - 0.5 * (unit @ unit.T)
    key[same] = np.inf
    np.fill_diagonal(key, np.inf)
    idx = np.argsort(key, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(ham, idx, axis=1)


def near_duplicates(paths: list[str]) -> np.ndarray:
    """[N, N] True where two training photos are near-duplicates by the splits' own bounds
    (pHash <= PHASH_MAX or PDQ <= PDQ_MAX, benchmarks/calib_set.py): frames of one video, slices
    of one panorama. They are the same picture for the leak scans, so not negatives here."""
    ph, pdq, _sha = fingerprints("", paths)
    return (cross_distances(ph, ph) <= PHASH_MAX) | (cross_distances(pdq, pdq) <= PDQ_MAX)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model folder (model.onnx, seed.dat)")
    data.add_training_photo_args(ap, HERE)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    t0 = time.time()
    split = data.load_split(a.split)
    files = split["train"]
    paths = data.training_photo_paths(a, split)
    hasher = hasher_for(a.model)
    results = hash_all(hasher, paths)
    same = near_duplicates(paths)
    bits = np.array([r.bits for r in results])
    idx, dist = nearest(bits, np.array([r.projections for r in results]), a.k, same)
    pairs = {
        tuple(sorted((i, int(j)))): int(d)
        for i in range(len(files))
        for j, d in zip(idx[i], dist[i])
    }
    closest = sorted(pairs.items(), key=lambda kv: (kv[1], kv[0]))[:20]
    groups = split.get("train_groups", {})
    out = {
        "about": "training photos' k nearest distinct training photos under the model "
        "(Hamming distance, ties by projection cosine); made by training/mine_negatives.py",
        "command": "python training/mine_negatives.py " + " ".join(sys.argv[1:]),
        "model": {
            "name": os.path.basename(os.path.normpath(a.model)),
            "fingerprint": hasher.identity.fingerprint,
            "seed_sha256": hasher.identity.seed_sha256,
        },
        "split": os.path.basename(a.split),
        "k": a.k,
        "near_duplicate_pairs_skipped": int((same.sum() - len(files)) // 2),
        "photos": len(files),
        "closest": [
            {
                "a": files[i],
                "b": files[j],
                "distance": d,
                "same_group": groups.get(files[i], files[i]) == groups.get(files[j], files[j]),
            }
            for (i, j), d in closest
        ],
        "neighbours": {
            files[i]: [[files[int(j)], int(d)] for j, d in zip(idx[i], dist[i])]
            for i in range(len(files))
        },
        "seconds": round(time.time() - t0, 1),
    }
    write_text_atomic(a.out, json.dumps(out, indent=1) + "\n")
    share = np.mean([c["same_group"] for c in out["closest"]])
    print(
        f"mined {a.k} neighbours of {len(files)} training photos; closest pairs "
        f"{[c['distance'] for c in out['closest'][:5]]} bits, {share:.0%} of the 20 closest "
        f"from one package ({out['seconds']} s)"
    )


if __name__ == "__main__":
    main()
