"""Benchmark (not a test): the Android/Java core on the JVM next to the Python reference, on the
SAME inputs, outputs compared byte for byte. Run through android_bridge/bench.sh (it builds the
Java side and passes --java/--classpath).

1. resize: one 4032x3024 RGB8 buffer (numpy PCG64 seed 20261121) written to a file that both read;
   Java BicubicResize with 1 and 2 threads, Python nhkit.runtime.resize.resize_rgb; the 360x360
   outputs' sha256 must be equal.
2. pipeline: the first N photos of --photos (sorted paths) through each exported TFLite bundle,
   Java (javax.imageio + core + LiteRT via java.lang.foreign) and Python (nhkit selftest's
   run_case: Pillow + numpy + ai_edge_litert), LiteRT with 1 and 2 threads; per image the stage
   digests, the embedding bits and the hash are compared; median wall times per image.

Writes benchmarks/results/android_jvm.md and .json. Timings are wall clock on a shared machine:
compare within one run, not across machines.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def java(args: argparse.Namespace, *cmd: str) -> dict:
    p = subprocess.run(
        [
            args.java,
            "--enable-native-access=ALL-UNNAMED",
            "-Xmx2g",
            "-cp",
            args.classpath,
            "dev.nhkit.jvm.bench.JvmBench",
            *cmd,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if p.returncode != 0:
        raise SystemExit(f"JvmBench {' '.join(cmd[:3])} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def bench_resize(args: argparse.Namespace, work: Path) -> dict:
    from nhkit.runtime.resize import resize_rgb

    img = np.random.default_rng(20261121).integers(0, 256, (3024, 4032, 3), dtype=np.uint8)
    raw = work / "input-4032x3024.rgb"
    raw.write_bytes(img.tobytes())
    for _ in range(3):
        out = resize_rgb(img)
    ms = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        out = resize_rgb(img)
        ms.append((time.perf_counter() - t0) * 1e3)
    py = {"ms": ms, "sha256": hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest()}
    jv = {
        t: java(
            args,
            "resize",
            "--input",
            str(raw),
            "--size",
            "4032x3024",
            "--threads",
            str(t),
            "--runs",
            str(args.runs),
        )
        for t in (1, 2)
    }
    return {"python": py, "java": jv}


def python_pipeline(bundle_dir: Path, images: list[Path], threads: int, passes: int) -> list[dict]:
    from nhkit.runtime.bundle import load_bundle
    from nhkit.runtime.floathex import f32_to_hex
    from nhkit.runtime.selftest import run_case

    out = []
    with load_bundle(bundle_dir) as b:
        backend = b.backend(threads=threads)
        for img in images:
            data = img.read_bytes()
            totals, case = [], None
            for p in range(passes + 1):
                t0 = time.perf_counter()
                case = run_case(img.name, data, spec=b.spec, backend=backend, seed=b.seed)
                if p:
                    totals.append((time.perf_counter() - t0) * 1e3)
            if case.error:
                raise SystemExit(f"{img}: {case.error}")
            out.append(
                {
                    "image": str(img),
                    "decoded": case.digests.decoded,
                    "resized": case.digests.resized,
                    "tensor": case.digests.tensor,
                    "embedding": f32_to_hex(case.embedding),
                    "hash": case.hash,
                    "median_ms": {
                        "total": statistics.median(totals),
                        "model": case.timings_ms["model"],
                    },
                }
            )
    return out


def bench_pipeline(args: argparse.Namespace, bundles: list[Path], images: list[Path]) -> list[dict]:
    rows = []
    for b in bundles:
        for t in (1, 2):
            jv = java(
                args,
                "pipeline",
                "--bundle",
                str(b),
                "--threads",
                str(t),
                "--passes",
                str(args.passes),
                *map(str, images),
            )["results"]
            py = python_pipeline(b, images, t, args.passes)
            same = {
                k: sum(1 for j, p in zip(jv, py) if j[k] == p[k])
                for k in ("decoded", "resized", "tensor", "embedding", "hash")
            }
            rows.append(
                {
                    "bundle": b.name,
                    "threads": t,
                    "images": len(images),
                    "equal": same,
                    "java_ms": statistics.median(r["median_ms"]["total"] for r in jv),
                    "java_model_ms": statistics.median(r["median_ms"]["model_project"] for r in jv),
                    "python_ms": statistics.median(r["median_ms"]["total"] for r in py),
                    "python_model_ms": statistics.median(r["median_ms"]["model"] for r in py),
                    "java": jv,
                    "python": py,
                }
            )
            print(
                f"  {b.name} threads={t}: java {rows[-1]['java_ms']:.1f} ms, python "
                f"{rows[-1]['python_ms']:.1f} ms per image; equal {same}",
                flush=True,
            )
    return rows


def write(args: argparse.Namespace, resize: dict, rows: list[dict], images: list[Path]) -> None:
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    med = statistics.median
    jres = resize["java"]
    lines = [
        "# Android/Java core on the JVM vs the Python reference (same inputs)",
        "",
        (
            f"Written by `android_bridge/bench.sh` (benchmarks/android_jvm.py) on "
            f"{platform.machine()} {platform.system()} {platform.release()}, {os.cpu_count()} CPUs "
            f"(shared with other jobs: wall times are indicative), {jres[1]['jvm']}, Python "
            f"{platform.python_version()}, LiteRT {args.litert_version} (Java: libLiteRt.so via "
            "java.lang.foreign; Python: ai_edge_litert Interpreter)."
        ),
        "",
        (
            f"Load average (1 min) at the start / end of the run: {args.load_start:.1f} / "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: above the CPU count, other "
            "jobs took CPU time and the wall times below are inflated by an unknown, varying "
            "amount; the byte-for-byte comparisons are unaffected."
        ),
        "",
        "## Resize 4032x3024 -> 360x360 (spec BICUBIC, exact)",
        "",
        (
            "One random RGB8 buffer (numpy PCG64 seed 20261121) written to a file that both sides "
            f"read; {args.runs} timed runs after warm-up."
        ),
        "",
        "| implementation | threads | median ms | min ms | output sha256 | equal to Python |",
        "|---|---|---|---|---|---|",
        (
            f"| Python `resize_rgb` (numpy) | 1 | {med(resize['python']['ms']):.1f} | "
            f"{min(resize['python']['ms']):.1f} | `{resize['python']['sha256'][:16]}...` | - |"
        ),
    ]
    for t in (1, 2):
        j = jres[t]
        lines.append(
            f"| Java `BicubicResize.resizeTo360` | {t} | {med(j['ms']):.1f} | "
            f"{min(j['ms']):.1f} | `{j['sha256'][:16]}...` | "
            f"{'yes' if j['sha256'] == resize['python']['sha256'] else '**NO**'} |"
        )
    lines += [
        "",
        "## Full pipeline per image, real LiteRT per variant",
        "",
        (
            f"{len(images)} photos ({', '.join(p.name for p in images)}; from `{args.photos}`, "
            f"first by sorted path), {args.passes} timed passes after one warm-up; per image the "
            "median wall time from encoded bytes to hash, then the median over images. Java: "
            "javax.imageio decode + core steps 2-4 (resize threads = LiteRT threads) + LiteRT + "
            "projection. Python: `nhkit.runtime.selftest.run_case` (Pillow decode, numpy, "
            "ai_edge_litert). `equal` counts images whose output is byte-identical in both "
            "languages, per stage."
        ),
        "",
        (
            "| bundle | threads | Java ms/image | Java model ms | Python ms/image | "
            "Python model ms | equal decoded | resized | tensor | embedding | hash |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        e, n = r["equal"], r["images"]
        lines.append(
            f"| {r['bundle']} | {r['threads']} | {r['java_ms']:.1f} | "
            f"{r['java_model_ms']:.1f} | {r['python_ms']:.1f} | "
            f"{r['python_model_ms']:.1f} "
            f"| {e['decoded']}/{n} | {e['resized']}/{n} | {e['tensor']}/{n} | "
            f"{e['embedding']}/{n} | {e['hash']}/{n} |"
        )
    lines += ["", "Java model ms includes the projection (step 6-7, < 0.1 ms).", ""]
    (res / "android_jvm.md").write_text("\n".join(lines), encoding="utf-8")
    slim = [{k: v for k, v in r.items() if k not in ("java", "python")} for r in rows]
    (res / "android_jvm.json").write_text(
        json.dumps(
            {
                "resize": {
                    "python": resize["python"],
                    "java": {str(k): v for k, v in jres.items()},
                },
                "pipeline": slim,
                "images": [str(p) for p in images],
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    print("wrote benchmarks/results/android_jvm.md and .json")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--java", required=True)
    ap.add_argument("--classpath", required=True)
    ap.add_argument("--bundles", type=Path, required=True, help="folder of exported TFLite bundles")
    # ../shared/photos beside the checkout (or beside its parent folder, for a git worktree)
    shared = [d / "shared" / "photos" for d in (ROOT.parent, ROOT.parent.parent)]
    ap.add_argument(
        "--photos", type=Path, default=next((d for d in shared if d.is_dir()), shared[0])
    )
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--work", type=Path, required=True)
    args = ap.parse_args()
    import importlib.metadata as md

    args.litert_version = md.version("ai-edge-litert")
    args.load_start = os.getloadavg()[0]
    args.work.mkdir(parents=True, exist_ok=True)
    bundles = sorted(p for p in args.bundles.iterdir() if (p / "manifest.json").is_file())
    images = sorted(
        p for p in args.photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")
    )
    images = images[: args.images]
    if not bundles or not images:
        sys.exit(f"need bundles under {args.bundles} and photos under {args.photos}")
    print("== resize 4032x3024 -> 360", flush=True)
    resize = bench_resize(args, args.work)
    print("== pipeline", flush=True)
    rows = bench_pipeline(args, bundles, images)
    write(args, resize, rows, images)


if __name__ == "__main__":
    main()
