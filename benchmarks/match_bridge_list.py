"""Writes the hash list and queries that the Swift and Java matcher benchmarks load (not a test).

    python3 benchmarks/match_bridge_list.py OUT_DIR [--hashes 100000] [--queries 1000]

OUT_DIR/bench-list/ is a real list made by nhkit's one writer (nhkit.runtime.hashlist): half
random hashes, half clusters of near duplicates (2..20 copies within 0..8 bits of a centre, so some
exact duplicates); exactly --hashes distinct hashes, each with a fragile mask of 0..4 bits.
OUT_DIR/queries.txt holds one query a line, `<hash hex> <fragile hex>`: half near duplicates of
listed hashes (0..12 bits flipped), half random. Deterministic (fixed seed), so every run and
language measures the same work.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nhkit.runtime.hashlist import Entry, write_hashlist
from nhkit.runtime.spec import Spec


def flip(code: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    out = code.copy()
    for b in rng.choice(96, size=k, replace=False):
        out[b // 8] ^= np.uint8(0x80 >> (b % 8))
    return out


def mask(rng: np.random.Generator) -> bytes:
    return bytes(flip(np.zeros(12, np.uint8), int(rng.integers(0, 5)), rng))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--hashes", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    a = ap.parse_args()
    rng = np.random.default_rng(20261202)
    codes: list[np.ndarray] = [c for c in rng.integers(0, 256, (a.hashes // 2, 12), dtype=np.uint8)]
    distinct = {bytes(c) for c in codes}
    while len(distinct) < a.hashes:  # exactly --hashes distinct hashes; exact duplicates on top
        centre = rng.integers(0, 256, 12, dtype=np.uint8)
        for _ in range(int(rng.integers(2, 21))):
            c = flip(centre, int(rng.integers(0, 9)), rng)
            if bytes(c) in distinct or len(distinct) < a.hashes:
                codes.append(c)
                distinct.add(bytes(c))
    entries = [
        Entry(
            id=f"img-{i:07d}",
            hash=bytes(c).hex(),
            label=f"image {i}" if i % 3 else None,
            source=f"photos/{i % 997:03d}/img-{i:07d}.jpg",
            meta=None,
            fragile=mask(rng),
        )
        for i, c in enumerate(codes)
    ]
    model = {"name": "bench", "fingerprint": "b" * 64, "seed_sha256": "5" * 64}
    a.out.mkdir(parents=True, exist_ok=True)
    report = write_hashlist(
        a.out / "bench-list",
        entries,
        spec=Spec(fragile_margin=0.1),
        model=model,
        zip_too=False,
        overwrite=True,
    )
    with open(a.out / "queries.txt", "w") as f:
        for q in range(a.queries):
            if q % 2 == 0:
                code = flip(codes[int(rng.integers(0, len(codes)))], int(rng.integers(0, 13)), rng)
            else:
                code = rng.integers(0, 256, 12, dtype=np.uint8)
            f.write(f"{bytes(code).hex()} {mask(rng).hex()}\n")
    print(
        f"wrote {a.out / 'bench-list'} ({report.entries} entries, {report.hashes} distinct "
        f"hashes) and {a.queries} queries"
    )


if __name__ == "__main__":
    main()
