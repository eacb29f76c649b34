#!/usr/bin/env bash
# Matcher benchmark of the bridges (not a test): Swift NHCore (release build) and the Java core,
# one thread pinned to one core (taskset, when present), one query at a time over a 10^5-hash list
# that nhkit's writer makes (benchmarks/match_bridge_list.py). Issue 11 goal: < 2 ms per query.
# Writes benchmarks/results/match_swift.md and benchmarks/results/match_java.md.
# Needs nhkit installed (the list writer), and swift and/or javac/java 17+ (each part is skipped,
# with a message, when its toolchain is missing).
#   benchmarks/match_bridges.sh [--swift-only | --java-only] [--hashes N] [--queries N]
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
RUN_SWIFT=1 RUN_JAVA=1 HASHES=100000 QUERIES=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --swift-only) RUN_JAVA=0; shift ;;
    --java-only) RUN_SWIFT=0; shift ;;
    --hashes) HASHES="$2"; shift 2 ;;
    --queries) QUERIES="$2"; shift 2 ;;
    *) echo "usage: $0 [--swift-only | --java-only] [--hashes N] [--queries N]" >&2; exit 2 ;;
  esac
done
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
PIN=()
command -v taskset >/dev/null 2>&1 && PIN=(taskset -c 0)
mkdir -p "$REPO/benchmarks/results"

echo "== list: $HASHES distinct hashes, $QUERIES queries (benchmarks/match_bridge_list.py)"
(cd "$REPO" && python3 benchmarks/match_bridge_list.py "$WORK" --hashes "$HASHES" --queries "$QUERIES")

if [ "$RUN_SWIFT" = 1 ]; then
  if command -v swift >/dev/null 2>&1; then
    echo "== Swift: NHMatchBench (release)"
    # The Swift package is the repository root's Package.swift where there is one (sources under
    # ios_bridge/), else ios_bridge/Package.swift; either way the build goes to ios_bridge/.build.
    PKG="$REPO/ios_bridge"
    [ -f "$REPO/Package.swift" ] && PKG="$REPO"
    swift build -c release -j 2 --package-path "$PKG" --scratch-path "$REPO/ios_bridge/.build" \
      --product NHMatchBench >/dev/null
    "${PIN[@]}" "$REPO/ios_bridge/.build/release/NHMatchBench" --list "$WORK/bench-list" \
      --queries "$WORK/queries.txt" --out "$REPO/benchmarks/results/match_swift.md"
  else
    echo "== Swift: swift not found, skipped"
  fi
fi

if [ "$RUN_JAVA" = 1 ]; then
  if command -v javac >/dev/null 2>&1; then
    echo "== Java: dev.nhkit.core.bench.MatchBench"
    B="$WORK/java"
    javac --release 11 -encoding UTF-8 -d "$B/core" $(find "$REPO/android_bridge/core/src/main/java" -name '*.java')
    javac --release 11 -encoding UTF-8 -cp "$B/core" -d "$B/bench" \
      "$REPO/android_bridge/core/src/bench/java/dev/nhkit/core/bench/MatchBench.java"
    "${PIN[@]}" java -Xmx1g -cp "$B/core:$B/bench" dev.nhkit.core.bench.MatchBench --list "$WORK/bench-list" \
      --queries "$WORK/queries.txt" --out "$REPO/benchmarks/results/match_java.md"
  else
    echo "== Java: javac not found, skipped"
  fi
fi
