"""Range search over a hash list's unique hashes: every backend returns exactly the hits of
brute force, in the documented order (distance, then index).

Backends (all exact):
- `numpy`: brute force. The 96 bits are packed as a big-endian uint64 (bytes 0-7) and a uint32
  (bytes 8-11); distance = bitwise_count of the XORs. Queries and list are processed in blocks
  so temporary memory stays bounded (about 64 MiB) whatever the list size.
- `mih`: multi-index hashing in numpy (Norouzi et al.): the hash is cut into 6 slots of 16
  bits; if popcount(q^h) <= T then some slot differs in at most floor(T/6) bits (pigeonhole),
  so probing every slot value within that radius finds every hit; candidates are then checked
  with the full distance. Why our own and not FAISS's IndexBinaryMultiHash: measured here on
  10^6 random hashes at T=12, IndexBinaryMultiHash answered 150 queries/s on one thread, slower
  than its own flat scan (500/s); this index, with a counting-sort bucket table, is an order of
  magnitude faster on the same data (benchmarks/results/match.md).
- `faiss`: faiss-cpu's IndexBinaryFlat on codes zero-padded to 128 bits (FAISS has fast
  Hamming kernels for 16-byte codes, not 12-byte ones; zero padding leaves distances unchanged).
  FAISS range search keeps distances strictly below the radius, so the radius is T + 1.
- `auto`: picks by list size and threshold (see `choose_backend`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .errors import NhkitError

if TYPE_CHECKING:
    from .hashlist import HashList, SearchResult

CODE_BYTES = 12
SLOTS = 6
SLOT_BITS = 16
BLOCK_CELLS = 1 << 22     # query x list cells per numpy block (about 64 MiB of temporaries)
MIH_CANDIDATES = 1 << 22  # candidates per mih block
BACKENDS = ("auto", "numpy", "mih", "faiss")

Ranges = tuple[np.ndarray, np.ndarray, np.ndarray]  # lims int64, ids int64, distances int32


def pack(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [n, 12] -> (uint64 [n] of bytes 0-7, uint32 [n] of bytes 8-11), big-endian."""
    c = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, CODE_BYTES)
    hi = c[:, :8].copy().view(">u8").ravel().astype(np.uint64)
    lo = c[:, 8:].copy().view(">u4").ravel().astype(np.uint32)
    return hi, lo


def popcount96(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    return np.bitwise_count(hi).astype(np.int32) + np.bitwise_count(lo).astype(np.int32)


def sort_ranges(q: np.ndarray, ids: np.ndarray, dist: np.ndarray, nq: int) -> Ranges:
    """Order hits by query, then distance, then id; lims from the per-query counts."""
    order = np.lexsort((ids, dist, q))
    counts = np.bincount(q, minlength=nq) if len(q) else np.zeros(nq, np.int64)
    lims = np.zeros(nq + 1, np.int64)
    np.cumsum(counts, out=lims[1:])
    return lims, ids[order].astype(np.int64), dist[order].astype(np.int32)


class Index(Protocol):
    name: str

    def range_search(self, queries: np.ndarray, threshold: int) -> Ranges: ...


class NumpyIndex:
    """Brute force over packed codes, in bounded blocks."""

    name = "numpy"

    def __init__(self, codes: np.ndarray) -> None:
        self.hi, self.lo = pack(codes)

    def range_search(self, queries: np.ndarray, threshold: int) -> Ranges:
        qhi, qlo = pack(queries)
        nq, n = len(qhi), len(self.hi)
        chunk = max(1, min(n, BLOCK_CELLS))
        qblock = max(1, BLOCK_CELLS // chunk)
        qs, ids, ds = [], [], []
        for q0 in range(0, nq, qblock):
            bh, bl = qhi[q0:q0 + qblock, None], qlo[q0:q0 + qblock, None]
            for c0 in range(0, n, chunk):
                d = np.bitwise_count(bh ^ self.hi[None, c0:c0 + chunk])
                d += np.bitwise_count(bl ^ self.lo[None, c0:c0 + chunk])
                qi, ci = np.nonzero(d <= threshold)
                if len(qi):
                    qs.append(qi + q0)
                    ids.append(ci + c0)
                    ds.append(d[qi, ci])
        return _finish(qs, ids, ds, nq)


def _finish(qs: list[np.ndarray], ids: list[np.ndarray], ds: list[np.ndarray], nq: int
            ) -> Ranges:
    if not qs:
        return np.zeros(nq + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)
    return sort_ranges(np.concatenate(qs).astype(np.int64), np.concatenate(ids).astype(np.int64),
                       np.concatenate(ds).astype(np.int32), nq)


_FLIPS_CACHE: dict[int, np.ndarray] = {}


def _flip_masks(radius: int) -> np.ndarray:
    """All 16-bit masks with at most `radius` bits set."""
    if radius not in _FLIPS_CACHE:
        allm = np.arange(1 << SLOT_BITS, dtype=np.uint32)
        _FLIPS_CACHE[radius] = allm[np.bitwise_count(allm) <= radius]
    return _FLIPS_CACHE[radius]


class MultiIndex:
    """Exact multi-index hashing (6 x 16-bit slots, counting-sort bucket tables)."""

    name = "mih"

    def __init__(self, codes: np.ndarray) -> None:
        c = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, CODE_BYTES)
        hi, lo = pack(c)
        self.n = len(c)
        # Per slot: entries sorted by that slot's value, a bucket table (counting sort), and a
        # copy of the packed codes in that order, so that checking a bucket's candidates reads
        # contiguous memory instead of gathering at random (3-5x faster at 10^7 hashes).
        self.order: list[np.ndarray] = []
        self.starts: list[np.ndarray] = []
        self.shi: list[np.ndarray] = []
        self.slo: list[np.ndarray] = []
        for s in range(SLOTS):
            v = c[:, 2 * s:2 * s + 2].copy().view(">u2").ravel()
            order = np.argsort(v, kind="stable").astype(np.uint32)
            st = np.zeros((1 << SLOT_BITS) + 1, np.int64)
            np.cumsum(np.bincount(v, minlength=1 << SLOT_BITS), out=st[1:])
            self.order.append(order)
            self.starts.append(st)
            self.shi.append(hi[order])
            self.slo.append(lo[order])

    @staticmethod
    def radius(threshold: int) -> int:
        return threshold // SLOTS

    def range_search(self, queries: np.ndarray, threshold: int) -> Ranges:
        q = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, CODE_BYTES)
        nq = len(q)
        if nq == 0 or self.n == 0:
            return _finish([], [], [], nq)
        qhi, qlo = pack(q)
        qwords = q.view(">u2").astype(np.int64)  # [nq, 6] slot values
        masks = _flip_masks(self.radius(threshold)).astype(np.int64)
        qs, ids, ds = [], [], []
        self._search_block(np.arange(nq), qwords, qhi, qlo, masks, threshold, qs, ids, ds)
        return _finish(qs, ids, ds, nq)

    def _search_block(self, qidx: np.ndarray, qwords: np.ndarray, qhi: np.ndarray,
                      qlo: np.ndarray, masks: np.ndarray, threshold: int, qs: list[np.ndarray],
                      ids: list[np.ndarray], ds: list[np.ndarray]) -> None:
        found_q, found_c, found_d = [], [], []
        for s in range(SLOTS):
            keys = qwords[qidx, s][:, None] ^ masks[None, :]          # [b, K]
            lo = self.starts[s][keys]
            cnt = self.starts[s][keys + 1] - lo
            total = int(cnt.sum())
            if total > MIH_CANDIDATES and len(qidx) > 1:
                half = len(qidx) // 2
                for part in (qidx[:half], qidx[half:]):
                    self._search_block(part, qwords, qhi, qlo, masks, threshold, qs, ids, ds)
                return
            if total == 0:
                continue
            flat_cnt = cnt.ravel()
            nz = flat_cnt > 0
            flat_cnt, flat_lo = flat_cnt[nz], lo.ravel()[nz]
            rows = np.repeat(np.arange(len(qidx)), masks.size)[nz]
            first = np.cumsum(flat_cnt) - flat_cnt
            pos = np.arange(total) - np.repeat(first - flat_lo, flat_cnt)
            qsel = qidx[np.repeat(rows, flat_cnt)]
            d = popcount96(qhi[qsel] ^ self.shi[s][pos], qlo[qsel] ^ self.slo[s][pos])
            keep = np.flatnonzero(d <= threshold)
            found_q.append(qsel[keep])
            found_c.append(self.order[s][pos[keep]].astype(np.int64))
            found_d.append(d[keep])
        if not found_q:
            return
        fq, fc, fd = np.concatenate(found_q), np.concatenate(found_c), np.concatenate(found_d)
        # A hit can be found through several slots: keep one of each (query, hash).
        key = fq * np.int64(self.n) + fc
        _, first = np.unique(key, return_index=True)
        qs.append(fq[first])
        ids.append(fc[first])
        ds.append(fd[first])


class FaissIndex:
    """faiss-cpu IndexBinaryFlat on zero-padded 128-bit codes."""

    name = "faiss"

    def __init__(self, codes: np.ndarray) -> None:
        faiss = import_faiss()
        self.index = faiss.IndexBinaryFlat(128)
        if len(codes):
            self.index.add(pad128(codes))

    def range_search(self, queries: np.ndarray, threshold: int) -> Ranges:
        nq = len(queries)
        if nq == 0 or self.index.ntotal == 0:
            return _finish([], [], [], nq)
        lims, dist, ids = self.index.range_search(pad128(queries), threshold + 1)
        lims = np.asarray(lims, np.int64)
        q = np.repeat(np.arange(nq, dtype=np.int64), np.diff(lims))
        return sort_ranges(q, np.asarray(ids, np.int64), np.asarray(dist).astype(np.int32), nq)


def pad128(codes: np.ndarray) -> np.ndarray:
    c = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, CODE_BYTES)
    out = np.zeros((len(c), 16), np.uint8)
    out[:, :CODE_BYTES] = c
    return out


def import_faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise NhkitError("backend 'faiss' needs faiss-cpu: pip install 'nhkit[faiss]' (or use "
                         "--backend numpy / mih, which are exact too)") from None
    return faiss


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def mih_cost(n: int, threshold: int) -> float:
    """Expected work of one mih query in 'code comparisons' for uniformly spread hashes:
    bucket probes plus candidates (clustered lists make candidates grow; the benchmarks check
    realistic clusters too)."""
    probes = SLOTS * sum(math.comb(SLOT_BITS, k) for k in range(threshold // SLOTS + 1))
    return probes * (8.0 + n / float(1 << SLOT_BITS))


def choose_backend(n: int, threshold: int, *, have_faiss: bool | None = None) -> str:
    """Small lists: numpy (no index to build). Otherwise mih when its probes are cheaper than a
    scan, else faiss's flat scan if installed, else numpy."""
    if n < 4096:
        return "numpy"
    if mih_cost(n, threshold) * 4 < n:
        return "mih"
    if have_faiss is None:
        have_faiss = faiss_available()
    return "faiss" if have_faiss else "numpy"


def make_index(codes: np.ndarray, backend: str) -> Index:
    if backend == "numpy":
        return NumpyIndex(codes)
    if backend == "mih":
        return MultiIndex(codes)
    if backend == "faiss":
        return FaissIndex(codes)
    raise NhkitError(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")


def search_codes(codes: np.ndarray, queries: np.ndarray, threshold: int, backend: str = "auto"
                 ) -> tuple[Ranges, str]:
    """Range search over unique codes with a fresh index (the API caches indexes per list)."""
    name = choose_backend(len(codes), threshold) if backend == "auto" else backend
    return make_index(codes, name).range_search(queries, threshold), name


def _index_for(hl: "HashList", backend: str) -> Index:
    idx = hl._index_cache.get(backend)
    if idx is None:
        idx = make_index(hl.hashes, backend)
        hl._index_cache[backend] = idx
    return idx  # type: ignore[no-any-return]


def search_entries(hl: "HashList", codes: np.ndarray, fq: np.ndarray | None, threshold: int, *,
                   backend: str = "auto", names: list[str | None] | None = None
                   ) -> "SearchResult":
    """Search the unique hashes, then expand each hit hash to the entries that share it."""
    from .hashlist import SearchResult, check_threshold

    threshold = check_threshold(threshold)
    if backend not in BACKENDS:
        raise NhkitError(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")
    name = choose_backend(len(hl.hashes), threshold) if backend == "auto" else backend
    nq = len(codes)
    lims_h, hid, dist = _index_for(hl, name).range_search(codes, threshold) if nq else \
        _finish([], [], [], 0)
    qh = np.repeat(np.arange(nq, dtype=np.int64), np.diff(lims_h))
    start, stop = hl.offsets[hid], hl.offsets[hid + 1]
    cnt = stop - start
    total = int(cnt.sum())
    first = np.cumsum(cnt) - cnt
    entry = np.arange(total, dtype=np.int64) - np.repeat(first - start, cnt)
    qe = np.repeat(qh, cnt)
    de = np.repeat(dist, cnt).astype(np.int32)
    he = np.repeat(hid, cnt)
    lims = np.zeros(nq + 1, np.int64)
    np.cumsum(np.bincount(qe, minlength=nq) if total else np.zeros(nq, np.int64), out=lims[1:])
    # Non-fragile distance: the differing bits that neither side marks fragile.
    qhi, qlo = pack(codes)
    hhi, hlo = pack(hl.hashes)
    xhi, xlo = qhi[qe] ^ hhi[he], qlo[qe] ^ hlo[he]
    if fq is not None:
        fhi, flo = pack(fq)
        xhi, xlo = xhi & ~fhi[qe], xlo & ~flo[qe]
    if hl.fragile is not None:
        ehi, elo = pack(hl.fragile)
        xhi, xlo = xhi & ~ehi[entry], xlo & ~elo[entry]
    nonfragile = popcount96(xhi, xlo)
    return SearchResult(lims=lims, ids=entry, distances=de, nonfragile=nonfragile, hashlist=hl,
                        names=list(names) if names is not None else [None] * nq,
                        query_hex=[c.tobytes().hex() for c in codes], threshold=threshold)
