"""Phase 14's hard negatives: mine_negatives.py ranks other training photos by the model's
Hamming distance and never offers a near-duplicate; data.make_batch puts a mined neighbour into
the batch next to its photo, and with the knob off draws exactly the batches earlier phases drew."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

import data  # noqa: E402
import mine_negatives  # noqa: E402


@pytest.fixture
def photos():
    """Four flat photos whose (constant) red channel names them, one group each."""
    saved = dict(data.KNOBS), list(data.PHOTOS), list(data.MINED)
    data.PHOTOS[:] = [np.full((64, 64, 3), 40 * (i + 1), np.uint8) for i in range(4)]
    data.GROUP_OF[:] = [0, 1, 2, 3]
    data.GROUP_MEMBERS[:] = [[0], [1], [2], [3]]
    yield data.KNOBS
    data.KNOBS.clear()
    data.KNOBS.update(saved[0])
    data.PHOTOS[:], data.MINED[:] = saved[1], saved[2]


def test_nearest_orders_by_hamming_then_cosine_and_skips_near_duplicates() -> None:
    bits = np.zeros((4, 8), np.uint8)
    bits[1, :1] = 1  # 1 bit from 0
    bits[2, :2] = 1  # 2 bits from 0
    bits[3, :1] = 1  # 1 bit from 0, like row 1, but its projections point closer to row 0's
    proj = np.where(bits, 1.0, -1.0)
    proj[3] = proj[0] * 0.9 + 0.1 * np.where(bits[3], 1.0, -1.0)
    same = np.zeros((4, 4), bool)
    idx, dist = mine_negatives.nearest(bits, proj, 3, same)
    assert list(idx[0]) == [3, 1, 2] and list(dist[0]) == [1, 1, 2]
    same[0, 3] = same[3, 0] = True  # a near-duplicate is never a negative
    idx, dist = mine_negatives.nearest(bits, proj, 2, same)
    assert list(idx[0]) == [1, 2] and 0 not in idx[0] and 3 not in idx[0]
    assert all(i not in row for i, row in enumerate(idx))


def test_a_mined_neighbour_joins_the_batch(photos) -> None:
    photos.update(photo_share=1.0, cousin_p=0.0, mined_p=1.0)
    data.MINED[:] = [[2], [3], [0], [1]]
    calls: list[tuple[int | None, int]] = []
    real = data.photo_crop

    def spy(rng, w, h, idx=None, window=None):
        out = real(rng, w, h, idx=idx, window=window)
        if window is None:  # a sibling (another window of the base photo) is not a negative
            calls.append((idx, out[1]))
        return out

    data.photo_crop = spy
    try:
        data.make_batch((1, 0, 48, 16))
    finally:
        data.photo_crop = real
    bases = [got for asked, got in calls if asked is None]
    mined = [asked for asked, _got in calls if asked is not None]
    assert bases and mined
    # every mined crop is the neighbour of a base photo drawn just before it
    assert set(mined) <= {data.MINED[b][0] for b in bases}


def test_knob_off_draws_the_earlier_batches(photos) -> None:
    photos.update(photo_share=1.0, cousin_p=0.5, mined_p=0.0)
    data.MINED[:] = []
    a1, a2 = data.make_batch((5, 3, 48, 12))
    data.MINED[:] = [[1], [0], [3], [2]]  # present but off: the same batch
    b1, b2 = data.make_batch((5, 3, 48, 12))
    assert np.array_equal(a1, b1) and np.array_equal(a2, b2)


def test_load_mined_maps_names_and_names_strangers(tmp_path) -> None:
    files = ["photos/a.jpg", "photos/b.jpg", "photos/c.jpg"]
    f = tmp_path / "mined.json"
    f.write_text(json.dumps({"neighbours": {"photos/a.jpg": [["photos/c.jpg", 9]]}}))
    data.load_mined(str(f), files)
    assert data.MINED == [[2], [], []]
    f.write_text(json.dumps({"neighbours": {"photos/z.jpg": [["photos/a.jpg", 9]]}}))
    with pytest.raises(SystemExit, match="mined.json: 1 photos not in the split"):
        data.load_mined(str(f), files)
    data.MINED[:] = []
