#!/usr/bin/env bash
# Benchmarks (not tests) of the Android/Java core, next to the Python reference on the SAME inputs
# with the outputs compared byte for byte (benchmarks/android_jvm.py):
#   - resize 4032x3024 -> 360 (Java 1 and 2 threads, Python), from one shared raw RGB8 file
#   - the full pipeline per image with real LiteRT per exported TFLite variant (1 and 2 threads)
# Writes benchmarks/results/android_jvm.md (+ .json). Needs a JDK 22+ (java.lang.foreign) and nhkit
# with the export extra; bundles come from jvm/test.sh's cache (run android_bridge/test.sh first)
# or NHKIT_LITERT_BUNDLES=DIR. Photos: ../shared/photos or --photos DIR.
#   android_bridge/bench.sh [--images N] [--passes N] [--runs N] [--photos DIR]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
B="$HERE/build/bench"
JDK="${NHKIT_JAVA22_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
[ -x "$JDK/bin/javac" ] || { echo "bench.sh: needs a JDK 22+ (set NHKIT_JAVA22_HOME)" >&2; exit 2; }
bundles="${NHKIT_LITERT_BUNDLES:-$(ls -d "$HERE"/build/litert-bundles/*/ 2>/dev/null | head -n1)}"
[ -n "$bundles" ] && [ -d "$bundles" ] || { echo "bench.sh: no exported bundles: run android_bridge/test.sh first or set NHKIT_LITERT_BUNDLES" >&2; exit 2; }
rm -rf "$B" && mkdir -p "$B"
javac --release 11 -encoding UTF-8 -d "$B/core" $(find "$HERE/core/src/main/java" -name '*.java')
"$JDK/bin/javac" --release 22 -encoding UTF-8 -cp "$B/core" -d "$B/jvm" \
  $(find "$HERE/jvm/src/main/java" "$HERE/jvm/src/bench/java" -name '*.java')
cd "$REPO"
exec nice python3 benchmarks/android_jvm.py --java "$JDK/bin/java" --classpath "$B/core:$B/jvm" \
  --bundles "$bundles" --work "$B" "$@"
