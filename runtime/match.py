"""Range search over a hash list's unique hashes: every backend returns exactly the hits of
brute force, in the documented order (distance, then index).

Backends (all exact):
- `numpy`: brute force. The 96 bits are packed as a big-endian uint64 (bytes 0-7) and a uint32
  (bytes 8-11); distance = bitwise_count of the XORs. Queries and list are processed in blocks
  so temporary memory stays bounded (about 64 MiB) whatever the list size.
- `mih`: multi-index hashing in numpy (Norouzi et al.): the hash is cut into m = 5..8 slots
  (the layout the cost model finds cheapest for the list size and T); if
  popcount(q^h) <= T then some slot differs in at most floor(T/m) bits (pigeonhole), so probing
  every slot value within that radius finds every hit; candidates are then checked with the
  full distance. Why our own and not FAISS's IndexBinaryMultiHash: measured here on
  10^6 random hashes at T=12, IndexBinaryMultiHash answered 150 queries/s on one thread, slower
  than its own flat scan (500/s); this index, with a counting-sort bucket table, is an order of
  magnitude faster on the same data (benchmarks/results/match.md).
- `faiss`: faiss-cpu's IndexBinaryFlat on codes zero-padded to 128 bits (FAISS has fast
  Hamming kernels for 16-byte codes, not 12-byte ones; zero padding leaves distances unchanged).
  FAISS range search keeps distances strictly below the radius, so the radius is T + 1.
- `auto`: picks by list size and threshold (see `choose_backend`).
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .errors import NhkitError

if TYPE_CHECKING:
    from .hashlist import HashList

CODE_BYTES = 12
HASH_BITS = 96
BLOCK_CELLS = 1 << 22  # query x list cells per numpy block (about 64 MiB of temporaries)
MIH_CANDIDATES = 1 << 22  # candidates per mih block
BACKENDS = ("auto", "numpy", "mih", "faiss")
THREADS = min(2, os.cpu_count() or 1)  # the numpy backends' threads (faiss: OpenMP's own)
MIN_QUERIES_PER_THREAD = 16

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


Found = tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]


def _in_threads(nq: int, threads: int, part: Callable[[int, int], Found]) -> Ranges:
    """Split the queries over threads (numpy releases the GIL in the heavy loops), then merge:
    the answer does not depend on the split."""
    if threads <= 1 or nq < 2 * MIN_QUERIES_PER_THREAD:
        qs, ids, ds = part(0, nq)
        return _finish(qs, ids, ds, nq)
    bounds = np.linspace(0, nq, threads + 1).astype(int)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        parts = list(pool.map(lambda k: part(int(bounds[k]), int(bounds[k + 1])), range(threads)))
    return _finish(
        [a for p in parts for a in p[0]],
        [a for p in parts for a in p[1]],
        [a for p in parts for a in p[2]],
        nq,
    )


class NumpyIndex:
    """Brute force over packed codes, in bounded blocks."""

    name = "numpy"

    def __init__(self, codes: np.ndarray, threads: int = THREADS) -> None:
        self.hi, self.lo = pack(codes)
        self.threads = threads

    def range_search(self, queries: np.ndarray, threshold: int) -> Ranges:
        qhi, qlo = pack(queries)
        return _in_threads(
            len(qhi), self.threads, lambda a, b: self._part(qhi, qlo, a, b, threshold)
        )

    def _part(
        self, qhi: np.ndarray, qlo: np.ndarray, start: int, stop: int, threshold: int
    ) -> Found:
        n = len(self.hi)
        chunk = max(1, min(n, BLOCK_CELLS))
        qblock = max(1, BLOCK_CELLS // chunk)
        qs: list[np.ndarray] = []
        ids: list[np.ndarray] = []
        ds: list[np.ndarray] = []
        for q0 in range(start, stop, qblock):
            q1 = min(stop, q0 + qblock)
            bh, bl = qhi[q0:q1, None], qlo[q0:q1, None]
            for c0 in range(0, n, chunk):
                d = np.bitwise_count(bh ^ self.hi[None, c0 : c0 + chunk])
                d += np.bitwise_count(bl ^ self.lo[None, c0 : c0 + chunk])
                qi, ci = np.nonzero(d <= threshold)
                if len(qi):
                    qs.append(qi + q0)
                    ids.append(ci + c0)
                    ds.append(d[qi, ci])
        return qs, ids, ds


def _finish(qs: list[np.ndarray], ids: list[np.ndarray], ds: list[np.ndarray], nq: int) -> Ranges:
    if not qs:
        return np.zeros(nq + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)
    return sort_ranges(
        np.concatenate(qs).astype(np.int64),
        np.concatenate(ids).astype(np.int64),
        np.concatenate(ds).astype(np.int32),
        nq,
    )


_FLIPS_CACHE: dict[tuple[int, int], np.ndarray] = {}


def _flip_masks(width: int, radius: int) -> np.ndarray:
    """All `width`-bit masks with at most `radius` bits set (int64)."""
    key = (width, radius)
    if key not in _FLIPS_CACHE:
        out = [0]
        for k in range(1, min(radius, width) + 1):
            out += [sum(1 << b for b in c) for c in itertools.combinations(range(width), k)]
        _FLIPS_CACHE[key] = np.asarray(out, np.int64)
    return _FLIPS_CACHE[key]


def split96(m: int) -> list[int]:
    return [96 // m + (1 if i < 96 % m else 0) for i in range(m)]


def layout_cost(widths: list[int], n: int, threshold: int) -> float:
    """Expected work of one query in 'code comparisons' for uniformly spread hashes: bucket
    probes (one costs about 4 candidate checks: measured on 10^5 and 10^6 lists at T = 12 and
    16, where this picks the fastest of the 5-8 slot layouts) plus candidates checked."""
    r = threshold // len(widths)
    return sum(
        sum(math.comb(w, k) for k in range(r + 1)) * (4.0 + n / float(1 << w)) for w in widths
    )


def slot_widths(n: int, threshold: int = 12) -> list[int]:
    """The cheapest layout of 5 to 8 slots (20 to 12 bits; bucket tables stay <= 8 MiB): few
    wide slots probe many keys but check few candidates, which pays on big lists and small T."""
    return min((split96(m) for m in (5, 6, 7, 8)), key=lambda w: layout_cost(w, n, threshold))


def slot_values(hi: np.ndarray, lo: np.ndarray, start: int, width: int) -> np.ndarray:
    """Bits start..start+width-1 of packed codes (bit 0 = MSB of hi) as int64."""
    stop = start + width
    mask = np.uint64((1 << width) - 1)
    lo64 = lo.astype(np.uint64)
    if stop <= 64:
        v = (hi >> np.uint64(64 - stop)) & mask
    elif start >= 64:
        v = (lo64 >> np.uint64(96 - stop)) & mask
    else:
        v = ((hi << np.uint64(stop - 64)) | (lo64 >> np.uint64(96 - stop))) & mask
    return v.astype(np.int64)


class MultiIndex:
    """Exact multi-index hashing (slots of 16-20 bits, counting-sort bucket tables)."""

    name = "mih"

    def __init__(
        self, codes: np.ndarray, threads: int = THREADS, widths: list[int] | None = None
    ) -> None:
        c = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, CODE_BYTES)
        hi, lo = pack(c)
        self.n = len(c)
        self.threads = threads
        self.widths = list(widths) if widths else slot_widths(self.n)
        if sum(self.widths) != 96 or min(self.widths) < 1 or max(self.widths) > 24:
            raise ValueError(f"slot widths must add up to 96 bits, each 1..24: {self.widths}")
        self.offsets = [sum(self.widths[:i]) for i in range(len(self.widths))]
        # Per slot: entries sorted by that slot's value, a bucket table (counting sort), and a
        # copy of the packed codes in that order, so that checking a bucket's candidates reads
        # contiguous memory instead of gathering at random (3-5x faster at 10^7 hashes).
        self.order: list[np.ndarray] = []
        self.starts: list[np.ndarray] = []
        self.shi: list[np.ndarray] = []
        self.slo: list[np.ndarray] = []
        for start, width in zip(self.offsets, self.widths):
            v = slot_values(hi, lo, start, width)
            order = np.argsort(v, kind="stable").astype(np.uint32)
            st = np.zeros((1 << width) + 1, np.int64)
            np.cumsum(np.bincount(v, minlength=1 << width), out=st[1:])
            self.order.append(order)
            self.starts.append(st)
            self.shi.append(hi[order])
            self.slo.append(lo[order])

    def radius(self, threshold: int) -> int:
        """Pigeonhole: distance <= T over m slots means some slot differs in <= T // m bits."""
        return threshold // len(self.widths)

    def range_search(self, queries: np.ndarray, threshold: int) -> Ranges:
        q = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, CODE_BYTES)
        nq = len(q)
        if nq == 0 or self.n == 0:
            return _finish([], [], [], nq)
        qhi, qlo = pack(q)
        qwords = np.stack(
            [slot_values(qhi, qlo, a, w) for a, w in zip(self.offsets, self.widths)], axis=1
        )  # [nq, slots]
        r = self.radius(threshold)
        masks = [_flip_masks(w, r) for w in self.widths]

        def part(a: int, b: int) -> Found:
            found: Found = ([], [], [])
            self._search_block(np.arange(a, b), qwords, qhi, qlo, masks, threshold, *found)
            return found

        return _in_threads(nq, self.threads, part)

    def _search_block(
        self,
        qidx: np.ndarray,
        qwords: np.ndarray,
        qhi: np.ndarray,
        qlo: np.ndarray,
        masks: list[np.ndarray],
        threshold: int,
        qs: list[np.ndarray],
        ids: list[np.ndarray],
        ds: list[np.ndarray],
    ) -> None:
        found_q, found_c, found_d = [], [], []
        for s in range(len(self.widths)):
            keys = qwords[qidx, s][:, None] ^ masks[s][None, :]  # [b, K]
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
            rows = np.repeat(np.arange(len(qidx)), masks[s].size)[nz]
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
        raise NhkitError(
            "backend 'faiss' needs faiss-cpu: pip install 'nhkit[faiss]' (or use "
            "--backend numpy / mih, which are exact too)"
        ) from None
    return faiss


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def mih_cost(n: int, threshold: int) -> float:
    """layout_cost of the layout mih would use (clustered lists make candidates grow; the
    benchmarks check realistic clusters too)."""
    return layout_cost(slot_widths(n, threshold), n, threshold)


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


def make_index(codes: np.ndarray, backend: str, threshold: int = 12) -> Index:
    """An index for `backend`; mih's slot layout is chosen for `threshold` (any threshold
    still gets exact answers from it, only slower)."""
    if backend == "numpy":
        return NumpyIndex(codes)
    if backend == "mih":
        return MultiIndex(codes, widths=slot_widths(len(codes), threshold))
    if backend == "faiss":
        return FaissIndex(codes)
    raise NhkitError(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")


def search_codes(
    codes: np.ndarray, queries: np.ndarray, threshold: int, backend: str = "auto"
) -> tuple[Ranges, str]:
    """Range search over unique codes with a fresh index (the API caches indexes per list)."""
    name = choose_backend(len(codes), threshold) if backend == "auto" else backend
    return make_index(codes, name, threshold).range_search(queries, threshold), name


def _index_for(hl: HashList, backend: str, threshold: int) -> Index:
    """Indexes are kept on the list: mih per slot layout (it depends on T), others once."""
    key = (backend, tuple(slot_widths(len(hl.hashes), threshold)) if backend == "mih" else ())
    idx = hl._index_cache.get(key)
    if idx is None:
        idx = make_index(hl.hashes, backend, threshold)
        hl._index_cache[key] = idx
    return idx


def search_entries(
    hl: HashList,
    codes: np.ndarray,
    fq: np.ndarray | None,
    threshold: int,
    *,
    backend: str = "auto",
    names: list[str | None] | None = None,
) -> SearchResult:
    """Search the unique hashes, then expand each hit hash to the entries that share it."""
    from .hashlist import SearchResult, check_threshold

    threshold = check_threshold(threshold)
    if backend not in BACKENDS:
        raise NhkitError(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")
    name = choose_backend(len(hl.hashes), threshold) if backend == "auto" else backend
    nq = len(codes)
    lims_h, hid, dist = (
        _index_for(hl, name, threshold).range_search(codes, threshold)
        if nq
        else _finish([], [], [], 0)
    )
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
    return SearchResult(
        lims=lims,
        ids=entry,
        distances=de,
        nonfragile=nonfragile,
        hashlist=hl,
        names=list(names) if names is not None else [None] * nq,
        query_hex=[c.tobytes().hex() for c in codes],
        threshold=threshold,
    )


# ----- queries and results (what HashList.search takes and gives) -----------------------------


def check_threshold(threshold: Any) -> int:
    """A hit is distance <= T; T outside 0..96 is a mistake, never clamped."""
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, np.integer))
        or not 0 <= int(threshold) <= HASH_BITS
    ):
        raise NhkitError(f"threshold: must be an integer in 0..{HASH_BITS}, got {threshold!r}")
    return int(threshold)


def query_codes(
    queries: Any, fragile: Any
) -> tuple[np.ndarray, np.ndarray | None, list[str | None]]:
    """Normalise the accepted query forms to (codes uint8 [Q,12], fragile or None, names)."""
    if isinstance(queries, str):
        queries = [queries]
    if isinstance(queries, np.ndarray) and queries.dtype == np.uint8 and queries.ndim == 2:
        if queries.shape[1] != CODE_BYTES:
            raise NhkitError(
                f"queries: expected [Q, {CODE_BYTES}] uint8 codes, got {queries.shape}"
            )
        codes = np.ascontiguousarray(queries)
        names: list[str | None] = [None] * len(codes)
        fq = None
    else:
        items = list(queries)
        codes = np.zeros((len(items), CODE_BYTES), np.uint8)
        fq_list: list[bytes | None] = []
        names = []
        for i, q in enumerate(items):
            hx = q if isinstance(q, str) else getattr(q, "hex", None)
            if not isinstance(hx, str) or not re.fullmatch(r"[0-9a-fA-F]{24}", hx):
                raise NhkitError(f"queries[{i}]: not a 96-bit hash (24 hex digits): {hx!r:.40}")
            codes[i] = np.frombuffer(bytes.fromhex(hx), np.uint8)
            raw = getattr(q, "fragile", None)
            if raw is None or isinstance(raw, (bytes, bytearray)):
                fq_list.append(None if raw is None else bytes(raw))
            else:  # a bool mask of 96 bits (HashResult.fragile)
                fq_list.append(np.packbits(np.asarray(raw, dtype=bool)).tobytes())
            names.append(getattr(q, "source", None) or getattr(q, "name", None))
        fq = None
        if any(m is not None for m in fq_list):
            fq = np.zeros((len(items), CODE_BYTES), np.uint8)
            for i, m in enumerate(fq_list):
                if m is not None:
                    fq[i] = np.frombuffer(bytes(m), np.uint8)
    if fragile is not None:
        fq = np.asarray(fragile, dtype=np.uint8).reshape(len(codes), CODE_BYTES)
    return codes, fq, names


@dataclass
class SearchResult:
    """FAISS-style range result over entries, plus the friendly per-query view."""

    lims: np.ndarray  # int64 [Q + 1]
    ids: np.ndarray  # int64 entry indices
    distances: np.ndarray  # int32
    nonfragile: np.ndarray  # int32
    hashlist: HashList = field(repr=False)
    names: list[str | None] = field(default_factory=list)
    query_hex: list[str] = field(default_factory=list)
    threshold: int = 0

    def __iter__(self) -> Any:  # lims, ids, distances = result
        return iter((self.lims, self.ids, self.distances))

    def hits(self, q: int) -> list[Hit]:
        a, b = int(self.lims[q]), int(self.lims[q + 1])
        hl = self.hashlist
        return [
            Hit(
                query=q,
                query_name=self.names[q] if self.names else None,
                query_hash=self.query_hex[q] if self.query_hex else "",
                entry=int(self.ids[j]),
                id=hl.ids[int(self.ids[j])],
                label=hl.labels[int(self.ids[j])],
                distance=int(self.distances[j]),
                nonfragile_distance=int(self.nonfragile[j]),
            )
            for j in range(a, b)
        ]

    def rows(self) -> list[Hit]:
        return [h for q in range(len(self.lims) - 1) for h in self.hits(q)]


@dataclass(frozen=True)
class Hit:
    query: int
    query_name: str | None
    query_hash: str
    entry: int
    id: str
    label: str | None
    distance: int
    nonfragile_distance: int

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query_name,
            "query_hash": self.query_hash,
            "entry": self.entry,
            "id": self.id,
            "label": self.label,
            "distance": self.distance,
            "nonfragile_distance": self.nonfragile_distance,
        }
