"""Every search backend returns exactly the hits of a plain-Python brute force, in the documented
order, on random lists with near-duplicate clusters, ties, exact duplicates and the threshold
boundary; and small memory blocks do not change the answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nhkit.runtime import match
from nhkit.runtime.errors import NhkitError
from nhkit.runtime.hashlist import Entry, load, write_hashlist
from nhkit.runtime.spec import Spec

BACKENDS = ["numpy", "mih"] + (["faiss"] if match.faiss_available() else [])


def _flip(rng: np.random.Generator, code: np.ndarray, k: int) -> np.ndarray:
    bits = np.unpackbits(code)
    idx = rng.choice(96, size=k, replace=False)
    bits[idx] ^= 1
    return np.packbits(bits)


def _clustered(rng: np.random.Generator, n_centres: int, per: int) -> np.ndarray:
    centres = rng.integers(0, 256, (n_centres, 12), dtype=np.uint8)
    out = [centres]
    for _ in range(per):
        out.append(np.stack([_flip(rng, c, int(rng.integers(1, 14))) for c in centres]))
    return np.unique(np.concatenate(out), axis=0)  # unique and ascending, like hashes.bin


_BRUTE: dict[tuple[int, int, int], list[list[tuple[int, int]]]] = {}


def _brute(codes: np.ndarray, queries: np.ndarray, t: int) -> list[list[tuple[int, int]]]:
    key = (id(codes), id(queries), t)
    if key not in _BRUTE:
        _BRUTE[key] = _brute_uncached(codes, queries, t)
    return _BRUTE[key]


def _brute_uncached(codes: np.ndarray, queries: np.ndarray, t: int) -> list[list[tuple[int, int]]]:
    ints = [int.from_bytes(c.tobytes(), "big") for c in codes]
    out = []
    for q in queries:
        qi = int.from_bytes(q.tobytes(), "big")
        d = [(bin(qi ^ h).count("1"), k) for k, h in enumerate(ints)]
        out.append(sorted(x for x in d if x[0] <= t))
    return out


def _as_lists(lims, ids, dist) -> list[list[tuple[int, int]]]:
    return [
        list(zip(dist[lims[i] : lims[i + 1]].tolist(), ids[lims[i] : lims[i + 1]].tolist()))
        for i in range(len(lims) - 1)
    ]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    codes = _clustered(rng, 150, 6)
    # Queries: near-duplicates of listed hashes (at 0..14 bits), exact copies, random ones.
    near = np.stack(
        [_flip(rng, codes[i], int(rng.integers(0, 15))) for i in rng.choice(len(codes), 60)]
    )
    queries = np.concatenate([near, codes[:5], rng.integers(0, 256, (20, 12), dtype=np.uint8)])
    return codes, queries


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("t", [0, 1, 5, 6, 7, 11, 12, 13, 17, 18, 24, 48, 96])
def test_backends_equal_brute_force(data, backend: str, t: int) -> None:
    codes, queries = data
    got = match.make_index(codes, backend).range_search(queries, t)
    assert got[0].dtype == np.int64 and got[1].dtype == np.int64 and got[2].dtype == np.int32
    assert _as_lists(*got) == _brute(codes, queries, t)


@pytest.mark.parametrize("backend", ["numpy", "mih"])
def test_small_memory_blocks_give_the_same_hits(data, backend: str, monkeypatch) -> None:
    codes, queries = data
    want = _brute(codes, queries, 13)
    monkeypatch.setattr(match, "BLOCK_CELLS", 97)  # many list chunks and query blocks
    monkeypatch.setattr(match, "MIH_CANDIDATES", 50)  # mih splits query batches down to one
    assert _as_lists(*match.make_index(codes, backend).range_search(queries, 13)) == want


def test_ties_and_boundary_order() -> None:
    # Four hashes at distance 2 from the query and one at 3: the 2s come in index order.
    q = np.zeros((1, 12), np.uint8)
    codes = np.zeros((6, 12), np.uint8)
    codes[1, 11], codes[2, 11], codes[3, 0], codes[4, 5], codes[5, 6] = 3, 5, 0x81, 0x11, 0x07
    codes = np.unique(codes, axis=0)
    for backend in BACKENDS:
        lims, ids, dist = match.make_index(codes, backend).range_search(q, 2)
        assert list(zip(dist.tolist(), ids.tolist())) == _brute(codes, q, 2)[0]
        assert dist.tolist() == [0, 2, 2, 2, 2]


def test_zero_queries_and_empty_lists() -> None:
    codes = np.random.default_rng(1).integers(0, 256, (10, 12), dtype=np.uint8)
    for backend in BACKENDS:
        lims, ids, dist = match.make_index(codes, backend).range_search(
            np.zeros((0, 12), np.uint8), 5
        )
        assert lims.tolist() == [0] and ids.size == 0 and dist.size == 0
        lims, ids, _ = match.make_index(np.zeros((0, 12), np.uint8), backend).range_search(
            codes, 96
        )
        assert lims.tolist() == [0] * 11 and ids.size == 0


def test_search_expands_shared_hashes_to_entries_in_order(tmp_path: Path, data) -> None:
    codes, queries = data
    rng = np.random.default_rng(3)
    ents = []
    for k, c in enumerate(codes[:200]):
        for j in range(int(rng.integers(1, 4))):  # 1-3 entries behind each hash
            ents.append(
                Entry(
                    f"e{k:04d}-{j}",
                    c.tobytes().hex(),
                    fragile=rng.integers(0, 256, 12, np.uint8).tobytes(),
                )
            )
    write_hashlist(
        tmp_path / "L",
        ents,
        spec=Spec(fragile_margin=0.1),
        model={"name": "m", "fingerprint": "1" * 64, "seed_sha256": "2" * 64},
    )
    hl = load(tmp_path / "L")
    fq = np.random.default_rng(4).integers(0, 256, (len(queries), 12), dtype=np.uint8)
    results = {b: hl.search(queries, 14, backend=b, fragile=fq) for b in BACKENDS + ["auto"]}
    entry_codes = np.stack(
        [np.frombuffer(bytes.fromhex(hl.entry(i).hash), np.uint8) for i in range(len(hl))]
    )
    qints = [int.from_bytes(q.tobytes(), "big") for q in queries]
    for b, res in results.items():
        for qi, q in enumerate(qints):
            want = []
            for i in range(len(hl)):
                x = q ^ int.from_bytes(entry_codes[i].tobytes(), "big")
                if bin(x).count("1") <= 14:
                    mask = int.from_bytes(fq[qi].tobytes(), "big") | int.from_bytes(
                        hl.fragile[i].tobytes(), "big"
                    )
                    want.append((bin(x).count("1"), i, bin(x & ~mask).count("1")))
            got = [(h.distance, h.entry, h.nonfragile_distance) for h in res.hits(qi)]
            assert got == sorted(want), (b, qi)


def test_auto_choice() -> None:
    assert match.choose_backend(100, 12) == "numpy"
    assert match.choose_backend(10**6, 12) == "mih"
    assert match.choose_backend(10**6, 40, have_faiss=True) == "faiss"
    assert match.choose_backend(10**6, 40, have_faiss=False) == "numpy"


def test_unknown_backend_and_missing_faiss(monkeypatch) -> None:
    codes = np.zeros((1, 12), np.uint8)
    with pytest.raises(NhkitError, match="backend"):
        match.make_index(codes, "annoy")
    import builtins

    real = builtins.__import__

    def no_faiss(name, *a, **k):
        if name == "faiss":
            raise ImportError("no faiss")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_faiss)
    with pytest.raises(NhkitError, match=r"nhkit\[faiss\]"):
        match.make_index(codes, "faiss")
    assert match.choose_backend(10**6, 40) == "numpy"


@pytest.mark.parametrize(
    "widths",
    [[20, 19, 19, 19, 19], [16] * 6, [14] * 5 + [13] * 2, [12] * 8, [1] * 8 + [22, 22, 22, 22]],
)
@pytest.mark.parametrize("t", [0, 4, 12, 19])
def test_every_slot_layout_is_exact(data, widths: list[int], t: int) -> None:
    codes, queries = data
    got = match.MultiIndex(codes, widths=widths).range_search(queries, t)
    assert _as_lists(*got) == _brute(codes, queries, t)
