"""One model folder's hashes of a list of photos, for the scripts that study a model outside
training (mine_negatives, bit_correlation, pooling_probe, soup --check).

They all hash with the runtime's own Hasher (the spec's decode and resize, full image), so the
figures they report are the runtime's; and they all need every photo: a statistic over part of
a set would not say which part, so a failure stops the script naming each photo that failed.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from nhkit.runtime.hasher import Hasher, HashResult


def hasher_for(model_dir: str) -> Hasher:
    """The runtime's Hasher on a model folder (`model.onnx`, `seed.dat`), as to_onnx writes it."""
    from nhkit.runtime.hasher import Hasher

    return Hasher.from_onnx(
        os.path.join(model_dir, "model.onnx"), os.path.join(model_dir, "seed.dat")
    )


def hash_all(hasher: Hasher, paths: list[str]) -> list[HashResult]:
    """Every photo's HashResult, in order; stops naming every photo that could not be hashed."""
    results, failed = [], []
    for path, res in hasher.hash_files(paths):
        if isinstance(res, Exception):
            failed.append(f"{path}: {res}")
        else:
            results.append(res)
    if failed:
        raise SystemExit(f"{len(failed)} photos could not be hashed:\n" + "\n".join(failed))
    return results


def distinct_tail(dist: np.ndarray, near_dup: np.ndarray, threshold: int) -> dict[str, Any]:
    """The distinct pairs' tail as the probes report it: a pair of different photos within T
    is what a threshold pays for, unless the splits' own bounds call it a near-duplicate (a
    frame or a slice of one picture), which is counted apart."""
    close = dist <= threshold
    return {
        "distinct_min": int(dist.min()),
        "distinct_p0.1": float(np.quantile(dist, 0.001)),
        "distinct_p1": float(np.quantile(dist, 0.01)),
        "distinct_median": float(np.median(dist)),
        f"distinct_pairs_at_or_below_{threshold}": int(np.sum(close)),
        "of_them_near_duplicates": int(np.sum(close & near_dup)),
    }


def write_probe(path: str, about: str, args: Any, photos: int, pairs: int, **fields: Any) -> None:
    """A probe's results JSON (model, split, counts, then its own fields), written atomically."""
    from nhkit.runtime.atomic import write_text_atomic

    out = {"about": about, "model": args.model, "split": args.split, "photos": photos}
    out.update(pairs=pairs, **fields)
    write_text_atomic(path, json.dumps(out, indent=1) + "\n")
