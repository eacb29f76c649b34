#!/usr/bin/env bash
# Resize benchmark (not a test): the iOS bridge's NHCore exact spec resize of a 4032x3024 (and
# 3024x4032) RGB8 buffer to 360x360 in a release build, next to the Python reference
# (nhkit.runtime.resize.resize_rgb) on the same input, whose output digest must be identical.
# Writes benchmarks/results/ios_resize.md. Needs swift; the Python part needs nhkit installed.
#   benchmarks/ios_resize.sh [--runs N] [--out FILE.md]
# One core / two: run it under `taskset -c 0` / `taskset -c 0,1` with --out per setting (NHCore's
# resize is single-threaded; the Python reference's horizontal pass uses up to 2 threads).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
RUNS=15
OUT_ARG=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --out) OUT_ARG="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--out FILE.md]" >&2; exit 2 ;;
  esac
done
OUT="$(realpath -m "${OUT_ARG:-$REPO/benchmarks/results/ios_resize.md}")"
mkdir -p "$(dirname "$OUT")"
swift build -c release -j 2 --package-path "$REPO" --scratch-path "$REPO/ios_bridge/.build" --product NHBench >/dev/null
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
"$REPO/ios_bridge/.build/release/NHBench" --runs "$RUNS" --out "$OUT" | tee "$LOG"

if (cd "$REPO" && python3 -c "import nhkit.runtime.resize") >/dev/null 2>&1; then
  (cd "$REPO" && python3 - "$RUNS" "$LOG" "$OUT" <<'PY'
import hashlib, sys, time
import numpy as np
from nhkit.runtime.resize import resize_rgb

runs, log, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
swift = {}
for line in open(log):
    if line.startswith("resize ") and "sha256 " in line:
        swift[line.split()[1]] = line.rsplit("sha256 ", 1)[1].strip()

def splitmix_bytes(seed, n):
    i = np.arange(1, (n + 7) // 8 + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z.astype("<u8").view(np.uint8)[:n]

raw = splitmix_bytes(0x6E686B6974, 4032 * 3024 * 3)
rows = []
for label, (h, w) in [("4032x3024", (3024, 4032)), ("3024x4032", (4032, 3024))]:
    img = raw.reshape(h, w, 3)
    digest = hashlib.sha256(resize_rgb(img).tobytes()).hexdigest()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        resize_rgb(img)
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    same = "identical" if swift.get(label) == digest else f"DIFFERENT (Swift {swift.get(label)})"
    rows.append(f"| {label} -> 360x360 | {times[len(times)//2]:.1f} | {times[0]:.1f} | {same} |")
    print(f"python resize {label}: median {times[len(times)//2]:.1f} ms, min {times[0]:.1f} ms; output vs Swift: {same}")
with open(out, "a") as f:
    f.write("\nPython reference (`nhkit.runtime.resize.resize_rgb`: Pillow's C passes, horizontal pass on up to "
            "2 threads), same input, same machine, wall time:\n\n")
    f.write("| input | median ms | min ms | output vs NHCore |\n|---|---|---|---|\n")
    f.write("\n".join(rows) + "\n")
PY
  )
else
  printf '\nPython reference: not measured (nhkit is not installed).\n' >> "$OUT"
fi
echo "wrote $OUT"
