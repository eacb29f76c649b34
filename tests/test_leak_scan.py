"""The near-duplicate rules every evaluation set of nhkit is built with (benchmarks/calib_set.py,
used by training/split_v2.py and training/split_fresh.py): a photo within pHash <= 10 or
PDQ <= 70 of a known photo is left out, and inside a set each near-duplicate group keeps its
first photo. Synthetic bit rows stand in for the hashes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("calib_set", ROOT / "benchmarks" / "calib_set.py")
assert _spec and _spec.loader
cs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cs)


def _bits(n: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, (n, width)).astype(bool)


def _flip(row: np.ndarray, k: int) -> np.ndarray:
    out = row.copy()
    out[:k] = ~out[:k]
    return out


def test_leak_scan_drops_what_is_near_a_known_photo_by_either_hash() -> None:
    kph, kpdq = _bits(3, 64, 1), _bits(3, 256, 2)
    ph, pdq = _bits(4, 64, 3), _bits(4, 256, 4)
    ph[1] = _flip(kph[2], cs.PHASH_MAX)  # pHash at the bound: dropped
    pdq[2] = _flip(kpdq[0], cs.PDQ_MAX)  # PDQ at the bound: dropped
    ph[3] = _flip(kph[0], cs.PHASH_MAX + 1)  # one bit past it: kept (PDQ is random, far)
    files = ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    dropped, excluded, dph, dpdq = cs.leak_scan(
        files, ph, pdq, ["k0", "k1", "k2"], kph, kpdq, "near a known photo"
    )
    assert dropped == {1, 2}
    assert [e["file"] for e in excluded] == ["b.jpg", "c.jpg"]
    assert excluded[0]["closest_phash"] == ["k2", cs.PHASH_MAX]
    assert excluded[1]["closest_pdq"] == ["k0", cs.PDQ_MAX]
    assert dph.shape == (4, 3) and dpdq.shape == (4, 3)


def test_each_near_duplicate_group_keeps_its_first_photo() -> None:
    ph, pdq = _bits(5, 64, 5), _bits(5, 256, 6)
    ph[2] = _flip(ph[0], 3)  # a copy of 0
    ph[4] = _flip(ph[2], 2)  # a copy of 2 (and within 5 of 0)
    ph[3] = _flip(ph[1], 1)  # a copy of 1, but 1 was already left out by the caller
    dropped = {1}
    excluded = cs.drop_later_near_duplicates(
        ["p0", "p1", "p2", "p3", "p4"], ph, pdq, dropped, "inside"
    )
    assert dropped == {1, 2, 4}  # p3's only near twin was not kept, so p3 stays
    assert [(e["file"], e["kept"]) for e in excluded] == [("p2", "p0"), ("p4", "p0")]
    assert excluded[0]["phash"] == 3
