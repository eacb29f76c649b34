"""One model folder's hashes of a list of photos, for the scripts that study a model outside
training (mine_negatives, bit_correlation, pooling_probe, soup --check).

They all hash with the runtime's own Hasher (the spec's decode and resize, full image), so the
figures they report are the runtime's; and they all need every photo: a statistic over part of
a set would not say which part, so a failure stops the script naming each photo that failed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

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
