#!/usr/bin/env bash
# Resize benchmark (not a test): the Java core's exact spec resize of a 4032x3024 RGB8 buffer to
# 360x360, next to the Python reference (nhkit.runtime.resize.resize_rgb) on the same machine.
# Writes benchmarks/results/android_resize.md. Needs javac/java 17+; Python part needs nhkit.
#   android_bridge/bench.sh [--runs N] [--warmup N]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
B="$HERE/build/bench"
rm -rf "$B" && mkdir -p "$B"
javac --release 11 -encoding UTF-8 -d "$B/core" $(find "$HERE/core/src/main/java" -name '*.java')
javac --release 11 -encoding UTF-8 -cp "$B/core" -d "$B/bench" $(find "$HERE/core/src/bench/java" -name '*.java')

py_note=()
if (cd "$REPO" && python3 -c "import nhkit.runtime.resize") >/dev/null 2>&1; then
  echo "== Python reference: nhkit.runtime.resize.resize_rgb on 4032x3024"
  py=$(cd "$REPO" && python3 - <<'PY'
import statistics, time
import numpy as np
from nhkit.runtime.resize import resize_rgb
rng = np.random.default_rng(20261121)
img = rng.integers(0, 256, (3024, 4032, 3), dtype=np.uint8)
for _ in range(3):
    resize_rgb(img)
t = []
for _ in range(15):
    t0 = time.perf_counter(); resize_rgb(img); t.append((time.perf_counter() - t0) * 1e3)
print(f"median {statistics.median(t):.1f} ms, min {min(t):.1f} ms (15 runs, wall time)")
PY
)
  echo "   $py"
  py_note=(--python "$py")
fi

echo "== Java core: dev.nhkit.core.bench.ResizeBench"
mkdir -p "$REPO/benchmarks/results"
java -Xmx1g -cp "$B/core:$B/bench" dev.nhkit.core.bench.ResizeBench \
  --out "$REPO/benchmarks/results/android_resize.md" "${py_note[@]}" "$@"
echo "wrote benchmarks/results/android_resize.md"
