"""How far a model's bits are from 96 independent fair coins, on a split's *training* photos.

Why: every candidate's distinct-pair distribution has p0.1 at 26-28 bits where 96 independent
fair bits would give about 33, and its closest pair, the number issue 12 asks to raise, is the
far end of that tail. A tail that wide comes from bits that move together across photos (one
layout, one lighting), which a batch of 48 photos cannot see: its correlation estimates have a
noise floor near 0.1, so the training loss's decorrelation term (losses.py `dec`) sits at that
floor whatever the true correlations are. This script measures them over all training photos
(floor ~1/sqrt(N)): the spread of distinct distances against the binomial's, and the spectrum of
the bits' correlation matrix, summarised as the effective number of independent bits
((sum l)^2 / sum l^2 over its eigenvalues l; 96 for independent bits). It reads no evaluation
photo, so a next phase may use it to choose its recipe.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))

import data  # noqa: E402
from calib_set import cross_distances  # noqa: E402
from photo_hashes import hash_all, hasher_for  # noqa: E402


def bit_statistics(bits: np.ndarray) -> dict[str, float]:
    """Distinct-pair spread and correlation spectrum of an [N, 96] 0/1 matrix."""
    n, nb = bits.shape
    d = cross_distances(bits, bits)
    iu = np.triu_indices(n, 1)
    dist = d[iu].astype(np.float64)
    x = bits.astype(np.float64)
    c = np.corrcoef(x, rowvar=False)
    c = np.nan_to_num(c)  # a constant bit has no correlation; balance is reported apart
    off = c[~np.eye(nb, dtype=bool)]
    lam = np.linalg.eigvalsh(c)
    return {
        "photos": n,
        "pairs": len(dist),
        "distinct_min": float(dist.min()),
        "distinct_p0.1": float(np.quantile(dist, 0.001)),
        "distinct_p1": float(np.quantile(dist, 0.01)),
        "distinct_median": float(np.median(dist)),
        "distinct_sd": float(dist.std()),
        "binomial_sd": float(np.sqrt(nb) / 2),
        "bit_balance_max_abs": float(np.max(np.abs(x.mean(0) - 0.5))),
        "corr_rms_off_diagonal": float(np.sqrt(np.mean(off**2))),
        "corr_noise_floor": float(1 / np.sqrt(n)),
        "eigen_top3": [float(v) for v in lam[::-1][:3]],
        "effective_bits": float(lam.sum() ** 2 / np.sum(lam**2)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="model folders (model.onnx, seed.dat)")
    data.add_training_photo_args(ap, HERE)
    a = ap.parse_args()
    paths = data.training_photo_paths(a, data.load_split(a.split))
    for model in a.models:
        results = hash_all(hasher_for(model), paths)
        stats = bit_statistics(np.array([r.bits for r in results]))
        print(json.dumps({"model": model, **stats}))


if __name__ == "__main__":
    main()
