#!/usr/bin/env python3
"""Hash-list matching speed and exactness: every backend on synthetic lists of 10^5, 10^6 (and,
with --big, 10^7) hashes, thresholds 8, 12, 16, 24; plus list build and load time.

    nice python benchmarks/match.py [--sizes 1e5,1e6] [--big] [--queries 1000] [--budget 3]

Lists: `random` (uniform 96-bit hashes) and `clustered` (70% singletons, 30% in clusters of six
near-duplicates 1-10 bits from a centre: what a real collection of photos with edited copies
looks like). Queries: half true near-duplicates (a listed hash with up to T random bits
flipped), half random, interleaved. Each backend runs a prefix of the same query list, as many
as fit in --budget seconds; its hits on that prefix are compared with the numpy brute force's
(exact = identical lims, ids and distances).

Goals (issue 11): 10^6 hashes, T = 12: >= 2,000 queries/s, exact; 10^7 hashes: >= 200 queries/s,
exact; list build of 10^6 hashes < 10 s. numpy and mih run on one thread; faiss on --threads
(default 2). Writes benchmarks/results/match.md and .json. Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
THRESHOLDS = (8, 12, 16, 24)


def flip_bits(rng: np.random.Generator, codes: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Flip up to k[i] random bits of codes[i] (positions may repeat: 'up to')."""
    out = codes.copy()
    rows = np.arange(len(codes))
    for j in range(int(k.max(initial=0))):
        sel = rows[k > j]
        pos = rng.integers(0, 96, len(sel))
        out[sel, pos // 8] ^= (1 << (7 - pos % 8)).astype(np.uint8)
    return out


def make_list(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    if kind == "random":
        codes = rng.integers(0, 256, (n, 12), dtype=np.uint8)
    else:
        n_clustered = int(n * 0.3) // 6
        centres = rng.integers(0, 256, (n_clustered, 12), dtype=np.uint8)
        members = flip_bits(
            rng, np.repeat(centres, 5, axis=0), rng.integers(1, 11, n_clustered * 5)
        )
        single = rng.integers(0, 256, (n - n_clustered * 6, 12), dtype=np.uint8)
        codes = np.concatenate([centres, members, single])
    return np.unique(codes, axis=0)


def make_queries(rng: np.random.Generator, codes: np.ndarray, q: int, t: int) -> np.ndarray:
    near = flip_bits(
        rng, codes[rng.integers(0, len(codes), q // 2)], rng.integers(0, t + 1, q // 2)
    )
    rand = rng.integers(0, 256, (q - q // 2, 12), dtype=np.uint8)
    out = np.empty((q, 12), np.uint8)
    out[0::2], out[1::2] = near, rand
    return out


def index_bytes(idx: Any) -> int:
    if hasattr(idx, "index"):  # faiss: 16-byte codes
        return int(idx.index.ntotal) * 16
    return sum(
        int(v.nbytes)
        for a in vars(idx).values()
        for v in (a if isinstance(a, list) else [a])
        if isinstance(v, np.ndarray)
    )


def timed_search(
    idx: Any, queries: np.ndarray, t: int, budget: float, at_least: int = 10
) -> tuple[Any, int, float, float]:
    """Run a prefix of the queries sized to take about `budget` seconds (at least
    `at_least` queries)."""
    n = min(at_least, len(queries))
    t0, c0 = time.perf_counter(), time.process_time()
    res = idx.range_search(queries[:n], t)
    el, cpu = time.perf_counter() - t0, time.process_time() - c0
    if n < len(queries) and el < budget:
        per = el / n
        n = int(min(len(queries), max(n, budget / max(per, 1e-7))))
        t0, c0 = time.perf_counter(), time.process_time()
        res = idx.range_search(queries[:n], t)
        el, cpu = time.perf_counter() - t0, time.process_time() - c0
    return res, n, el, cpu


def same(a: Any, b: Any, n: int) -> bool:
    """Identical hits for the first n queries."""
    la, lb = a[0][: n + 1], b[0][: n + 1]
    if not np.array_equal(la, lb):
        return False
    m = int(la[-1])
    return bool(np.array_equal(a[1][:m], b[1][:m]) and np.array_equal(a[2][:m], b[2][:m]))


def bench_lists(
    sizes: list[int],
    backends: list[str],
    queries: int,
    budget: float,
    threads: int,
    min_exact: int = 100,
    kinds: tuple[str, ...] = ("random", "clustered"),
) -> list[dict[str, Any]]:
    from nhkit.runtime import match

    if "faiss" in backends:
        import faiss

        faiss.omp_set_num_threads(threads)
    rows = []
    for n in sizes:
        for kind in kinds:
            rng = np.random.default_rng(n + (kind == "clustered"))
            codes = make_list(rng, n, kind)
            built: dict[Any, Any] = {}

            def index_for(
                b: str, t: int, codes: np.ndarray = codes, built: dict[Any, Any] = built
            ) -> tuple[Any, float]:
                key = (b, tuple(match.slot_widths(len(codes), t))) if b == "mih" else (b,)
                if key not in built:
                    t0 = time.perf_counter()
                    idx = match.make_index(codes, b, t)
                    built[key] = (idx, time.perf_counter() - t0)
                return built[key]  # type: ignore[no-any-return]

            for t in THRESHOLDS:
                qs = make_queries(np.random.default_rng(t), codes, queries, t)
                ref, ref_n, ref_el, ref_cpu = timed_search(
                    index_for("numpy", t)[0], qs, t, budget, at_least=min_exact
                )
                for b in backends:
                    idx, build_s = index_for(b, t)
                    if b == "numpy":
                        res, done, el, cpu = ref, ref_n, ref_el, ref_cpu
                    else:
                        res, done, el, cpu = timed_search(idx, qs, t, budget)
                    k = min(done, ref_n)
                    row = {
                        "n": int(len(codes)),
                        "kind": kind,
                        "threshold": t,
                        "backend": b,
                        "auto": match.choose_backend(len(codes), t) == b,
                        "build_s": round(build_s, 3),
                        "index_mb": round(index_bytes(idx) / 2**20, 1),
                        "layout": "x".join(map(str, idx.widths)) if b == "mih" else "",
                        "queries": done,
                        "qps": round(done / el, 1),
                        "ms_per_query": round(1000 * el / done, 3),
                        "cpu_ms_per_query": round(1000 * cpu / done, 3),
                        "hits_per_query": round(float(res[0][done]) / done, 2),
                        "exact_on": k,
                        "exact": same(res, ref, k),
                    }
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    return rows


def bench_build(sizes: list[int]) -> list[dict[str, Any]]:
    from nhkit.runtime.hashlist import Entry, load, write_hashlist
    from nhkit.runtime.spec import Spec

    out = []
    model = {"name": "bench", "fingerprint": "1" * 64, "seed_sha256": "2" * 64}
    for n in sizes:
        rng = np.random.default_rng(n)
        codes = make_list(rng, n, "clustered")
        frag = rng.integers(0, 256, (len(codes), 12), dtype=np.uint8)
        hexes = [c.tobytes().hex() for c in codes]
        with tempfile.TemporaryDirectory(prefix="nhkit-bench-") as d:
            t0, c0 = time.perf_counter(), time.process_time()
            entries = [
                Entry(f"img-{i:08d}", h, None, f"photos/{i}.jpg", None, frag[i].tobytes())
                for i, h in enumerate(hexes)
            ]
            rep = write_hashlist(Path(d) / "L", entries, spec=Spec(fragile_margin=0.1), model=model)
            build, build_cpu = time.perf_counter() - t0, time.process_time() - c0
            size = sum(p.stat().st_size for p in (Path(d) / "L").iterdir())
            zsize = (Path(d) / "L.zip").stat().st_size
            t0, c0 = time.perf_counter(), time.process_time()
            hl = load(Path(d) / "L")
            load_s, load_cpu = time.perf_counter() - t0, time.process_time() - c0
            t0 = time.perf_counter()
            load(Path(d) / "L.zip")
            zload_s = time.perf_counter() - t0
            assert len(hl) == rep.entries
        row = {
            "n": rep.entries,
            "build_s": round(build, 2),
            "build_cpu_s": round(build_cpu, 2),
            "load_s": round(load_s, 2),
            "load_cpu_s": round(load_cpu, 2),
            "load_zip_s": round(zload_s, 2),
            "folder_mb": round(size / 2**20, 1),
            "zip_mb": round(zsize / 2**20, 1),
        }
        print(json.dumps(row), flush=True)
        out.append(row)
    return out


def _first_load(value: Any) -> float:
    """The 1-minute load average of a (possibly merged, nested) loadavg record."""
    while isinstance(value, list) and value and isinstance(value[0], list):
        value = value[0]
    return float(value[0]) if isinstance(value, list) and value else 0.0


def _load_note(doc: dict[str, Any]) -> str:
    """Say how busy the machine was, since wall times depend on it."""
    load = max(_first_load(doc["loadavg_before"]), _first_load(doc["loadavg_after"]))
    cores = os.cpu_count() or 1
    if load > 2 * cores:
        return (
            f"about {load / cores:.0f} times more runnable work than cores, so wall times "
            "are several times the CPU times"
        )
    return "a lightly loaded machine, so wall times are close to the CPU times"


def render(doc: dict[str, Any]) -> str:
    lines = [
        "# Hash-list matching benchmark",
        "",
        f"`{doc['command']}` on {doc['machine']} (load average before: "
        f"{doc['loadavg_before']}, after: {doc['loadavg_after']}: {_load_note(doc)}). "
        "numpy and "
        f"mih split the queries over 2 threads; faiss uses {doc['threads']} OpenMP threads. "
        "`CPU ms/query` is process CPU time (all threads) per query. Queries: half "
        "near-duplicates of listed hashes "
        "(up to T bits flipped), half random. `exact`: identical lims/ids/distances to the "
        "numpy brute force on the first `exact on` queries. `auto`: the backend "
        "`--backend auto` picks.",
        "",
        "## Search",
        "",
        "| hashes | list | T | backend | auto | build s | index MiB | queries | queries/s | "
        "ms/query | CPU ms/query | hits/query | exact (on) |",
        "|---:|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in doc["search"]:
        backend = r["backend"] + (f" ({r['layout']})" if r.get("layout") else "")
        lines.append(
            f"| {r['n']:,} | {r['kind']} | {r['threshold']} | {backend} | "
            f"{'*' if r['auto'] else ''} | {r['build_s']} | {r['index_mb']} | "
            f"{r['queries']} | {r['qps']:,} | {r['ms_per_query']} | "
            f"{r['cpu_ms_per_query']} | "
            f"{r['hits_per_query']} | {'yes' if r['exact'] else 'NO'} "
            f"({r['exact_on']}) |"
        )
    lines += [
        "",
        "## List build and load (clustered lists, fragile masks, `nhkit.runtime.hashlist`)",
        "",
        "| entries | build s | build CPU s | load folder s | load CPU s | load zip s | "
        "folder MiB | zip MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in doc["build"]:
        lines.append(
            f"| {r['n']:,} | {r['build_s']} | {r['build_cpu_s']} | {r['load_s']} | "
            f"{r['load_cpu_s']} | {r['load_zip_s']} | "
            f"{r['folder_mb']} | {r['zip_mb']} |"
        )
    lines += ["", "## Goals", ""] + [f"- {g}" for g in doc["goals"]] + [""]
    return "\n".join(lines)


def goals(doc: dict[str, Any]) -> list[str]:
    out = []

    def best(n_lo: float, n_hi: float, t: int) -> dict[str, Any] | None:
        rows = [
            r
            for r in doc["search"]
            if n_lo <= r["n"] <= n_hi and r["threshold"] == t and r["exact"]
        ]
        return max(rows, key=lambda r: r["qps"]) if rows else None

    for label, lo, hi, want in (
        ("10^6 hashes, T = 12", 9e5, 1.1e6, 2000),
        ("10^7 hashes, T = 12", 9e6, 1.1e7, 200),
    ):
        for kind in ("random", "clustered"):
            rows = [
                r
                for r in doc["search"]
                if lo <= r["n"] <= hi and r["threshold"] == 12 and r["kind"] == kind and r["exact"]
            ]
            if not rows:
                out.append(f"{label} ({kind}): not run")
                continue
            r = max(rows, key=lambda r: r["qps"])
            per_cpu = 1000 / r["cpu_ms_per_query"]
            out.append(
                f"{label} ({kind}): {r['qps']:,} queries/s wall with {r['backend']} "
                f"(goal >= {want:,}, exact): {'met' if r['qps'] >= want else 'MISSED'}; "
                f"{per_cpu:,.0f} queries per CPU-second ({r['cpu_ms_per_query']} ms)"
            )
    for r in doc["build"]:
        if 9e5 <= r["n"] <= 1.1e6:
            out.append(
                f"list build of {r['n']:,} hashes: {r['build_s']} s wall, "
                f"{r['build_cpu_s']} s CPU (goal < 10 s): "
                f"{'met' if r['build_s'] < 10 else 'MISSED'} on wall time"
            )
    return out


def rerender(out: Path = RESULTS) -> None:
    """Rewrite match.md (and the goals) from match.json without measuring again."""
    doc = json.loads((out / "match.json").read_text())
    doc["goals"] = goals(doc)
    (out / "match.json").write_text(json.dumps(doc, indent=2) + "\n")
    (out / "match.md").write_text(render(doc))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e5,1e6")
    ap.add_argument("--big", action="store_true", help="add 10^7 (minutes, ~3 GB of memory)")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--budget", type=float, default=3.0, help="seconds per (backend, T)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--backends", default="numpy,mih,faiss")
    ap.add_argument("--build-sizes", default="1e5,1e6")
    ap.add_argument("--kinds", default="random,clustered")
    ap.add_argument(
        "--min-exact",
        type=int,
        default=100,
        help="queries the numpy brute force answers at least, for the exactness check",
    )
    ap.add_argument(
        "--merge",
        action="store_true",
        help="add to the existing results files instead of replacing them",
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--rerender", action="store_true", help="only rewrite match.md from .json")
    args = ap.parse_args(argv)
    if args.rerender:
        rerender(args.out)
        return 0
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    if args.big:
        sizes.append(10**7)
    before = os.getloadavg()
    doc: dict[str, Any] = {
        "command": "python benchmarks/match.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numpy {np.__version__}",
        "threads": args.threads,
        "loadavg_before": [round(x, 2) for x in before],
    }
    doc["build"] = bench_build([int(float(s)) for s in args.build_sizes.split(",") if s])
    doc["search"] = bench_lists(
        sizes,
        args.backends.split(","),
        args.queries,
        args.budget,
        args.threads,
        args.min_exact,
        tuple(args.kinds.split(",")),
    )
    doc["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    old = args.out / "match.json"
    if args.merge and old.is_file():  # e.g. the 10^7 run added to the 10^5/10^6 one
        prev = json.loads(old.read_text())
        done = {(r["n"], r["kind"]) for r in doc["search"]}
        doc["search"] = [r for r in prev["search"] if (r["n"], r["kind"]) not in done] + doc[
            "search"
        ]
        doc["build"] = prev["build"] + [r for r in doc["build"] if r not in prev["build"]]
        doc["command"] = prev["command"] + "; then " + doc["command"]
        doc["loadavg_before"] = [prev["loadavg_before"], doc["loadavg_before"]]
        doc["loadavg_after"] = [prev["loadavg_after"], doc["loadavg_after"]]
    doc["goals"] = goals(doc)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "match.json").write_text(json.dumps(doc, indent=2) + "\n")
    (args.out / "match.md").write_text(render(doc))
    print("\n".join(doc["goals"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
