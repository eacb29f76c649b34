#!/usr/bin/env bash
# android_bridge tests without Gradle or the Android SDK (plain javac + JUnit 4):
#   1. compile core (Java 11, no dependencies) and check it uses no Java API missing on Android 24
#   2. compile and run the core JUnit 4 tests (every tests/vectors/*.json, JSON, bundles, ...)
#   3. compile-check bridge/ (main and androidTest) against the compile-only stubs in stubs/
#   4. if nhkit's Python CLI is importable: `nhkit golden check` on the reports the fixture test wrote
#      (replayed reference embeddings: they check the report format and the pipeline up to the model)
#   5. jvm/test.sh: real inference (LiteRT C API via java.lang.foreign, JDK 22+) on real exported
#      bundles, each self-test report judged by `nhkit golden check`; skipped with a message without
#      a JDK 22+
# Installs nothing. Needs javac/java (17+) and JUnit 4 (Debian: apt-get install -y junit4, or set
# JUNIT4_JAR and HAMCREST_JAR). Output goes to android_bridge/build/.
#
# Environment: NHKIT_TEST_BUNDLE=DIR[:DIR] bundles for FixtureBundleTest (default: the tiny TFLite
# fp32 and int8-io bundles of tests/fixture_bundles.py when `nhkit export` works here, else any
# under the searched folders; NHKIT_FIXTURE_EXPORT=0 disables that export).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
B="$HERE/build"
JUNIT="${JUNIT4_JAR:-/usr/share/java/junit4.jar}"
HAMCREST="${HAMCREST_JAR:-/usr/share/java/hamcrest-core.jar}"
[ -f "$HAMCREST" ] || HAMCREST=/usr/share/java/hamcrest.jar

die() { echo "android_bridge/test.sh: $*" >&2; exit 2; }
command -v javac >/dev/null 2>&1 || die "javac not found (install a JDK 17+)"
command -v java >/dev/null 2>&1 || die "java not found (install a JDK 17+)"
[ -f "$JUNIT" ] || die "JUnit 4 not found at $JUNIT: install Debian's junit4 package (apt-get install -y junit4) or set JUNIT4_JAR=/path/to/junit-4.x.jar"
[ -f "$HAMCREST" ] || die "hamcrest not found at $HAMCREST (comes with Debian's junit4; or set HAMCREST_JAR)"

checks_failed=0
note_fail() { echo "FAIL  $*"; checks_failed=$((checks_failed + 1)); }

rm -rf "$B/classes"
mkdir -p "$B/classes"
CORE="$B/classes/core"; TESTS="$B/classes/core-test"; BENCH="$B/classes/bench"
STUBS="$B/classes/stubs"; BRIDGE="$B/classes/bridge"; ATEST="$B/classes/bridge-androidTest"

srcs() { find "$@" -name '*.java' | LC_ALL=C sort; }

echo "== core: compile (javac --release 11)"
javac --release 11 -encoding UTF-8 -Xlint:all -Werror -d "$CORE" $(srcs "$HERE/core/src/main/java") \
  || die "core does not compile"

echo "== core: Android API 24 guard (no Java APIs newer than Android 7.0, no android.* imports)"
# Java APIs a Java 11 compile accepts but Android 24 lacks (or has only from API 26/33/34).
DENY='java/nio/file/|java/time/|java/util/HexFormat|java/util/Base64|java/lang/String\.(join|repeat|isBlank|strip|stripLeading|stripTrailing|lines|indent|transform|describeConstable)|java/io/InputStream\.(readAllBytes|readNBytes|transferTo|nullInputStream)|java/util/(List|Set|Map)\.(of|copyOf|ofEntries|entry):|java/util/Objects\.(requireNonNullElse|requireNonNullElseGet|checkIndex)|java/nio/(Byte|Char|Short|Int|Long|Float|Double|Mapped)Buffer\.(clear|flip|rewind|mark|reset):\(\)|java/nio/(Byte|Char|Short|Int|Long|Float|Double|Mapped)Buffer\.(position|limit):\(I\)|java/lang/Math\.fma|java/lang/Long\.(parseUnsignedLong|toUnsignedString|compareUnsigned|divideUnsigned|remainderUnsigned)|java/lang/Integer\.(parseUnsignedInt|toUnsignedString|compareUnsigned)'
hits=$( { find "$CORE" -name '*.class' -print0 | xargs -0 javap -c -p 2>/dev/null;
          [ -d "$BRIDGE" ] || true; } | grep -E "$DENY" | sed 's/^ *//' | sort -u)
if [ -n "$hits" ]; then note_fail "core uses Java APIs missing on Android API 24:"; echo "$hits" | head -20; fi
if grep -rlE '^import (android|androidx)\.' "$HERE/core/src/main/java" >/dev/null 2>&1; then
  note_fail "core imports android.*/androidx.* classes:"; grep -rnE '^import (android|androidx)\.' "$HERE/core/src/main/java"
fi

echo "== core: compile tests and benchmark"
CP_TEST="$CORE:$JUNIT:$HAMCREST"
javac --release 11 -encoding UTF-8 -Xlint:all -Werror -cp "$CP_TEST" -d "$TESTS" $(srcs "$HERE/core/src/test/java") \
  || die "core tests do not compile"
javac --release 11 -encoding UTF-8 -Xlint:all -Werror -cp "$CORE" -d "$BENCH" $(srcs "$HERE/core/src/bench/java") \
  || die "benchmark does not compile"

echo "== bridge: compile-check against the compile-only stubs (stubs/ is never packaged)"
javac --release 11 -encoding UTF-8 -nowarn -cp "$JUNIT" -d "$STUBS" $(srcs "$HERE/stubs/src") \
  || die "stubs do not compile"
if javac --release 11 -encoding UTF-8 -Xlint:all -Werror -cp "$CORE:$STUBS" -d "$BRIDGE" \
     $(srcs "$HERE/bridge/src/main/java"); then
  echo "ok    bridge main compiles"
else
  note_fail "bridge main does not compile against core + stubs"
fi
if [ -d "$BRIDGE" ] && javac --release 11 -encoding UTF-8 -Xlint:all -Werror \
     -cp "$CORE:$BRIDGE:$STUBS:$JUNIT:$HAMCREST" -d "$ATEST" $(srcs "$HERE/bridge/src/androidTest/java"); then
  echo "ok    bridge androidTest compiles"
else
  note_fail "bridge androidTest does not compile"
fi
hits=$(find "$BRIDGE" -name '*.class' -print0 2>/dev/null | xargs -0 -r javap -c -p 2>/dev/null | grep -E "$DENY" | sed 's/^ *//' | sort -u)
if [ -n "$hits" ]; then note_fail "bridge uses Java APIs missing on Android API 24:"; echo "$hits" | head -20; fi
if grep -rn 'stubs' "$HERE/settings.gradle.kts" "$HERE/build.gradle.kts" "$HERE/core/build.gradle.kts" \
     "$HERE/bridge/build.gradle.kts" >/dev/null 2>&1; then
  note_fail "a Gradle file refers to stubs/ (they must never reach a build)"
fi
stray=$(grep -rlE '^package (android|androidx|org\.tensorflow)' "$HERE/bridge/src" "$HERE/core/src" 2>/dev/null)
[ -z "$stray" ] || note_fail "framework stand-ins outside stubs/: $stray"

# Real bundles for FixtureBundleTest: tests/fixture_bundles.py (shared with ios_bridge/test.sh)
# exports the tiny test model once per content of runtime/, export/ and itself (uncommitted edits
# included) into build/fixture-bundles/<key>/; this suite checks its TFLite fp32 and int8-io bundles.
if [ -z "${NHKIT_TEST_BUNDLE:-}" ] && [ "${NHKIT_FIXTURE_EXPORT:-1}" != "0" ]; then
  mkdir -p "$B"
  rm -rf "$B/fixture-bundles" "$B/fixture-src"   # the per-bridge cache this replaced
  FIX="$(cd "$REPO" && python3 tests/fixture_bundles.py 2>"$B/fixture-bundles.log")"
  case $? in
    0) ;;
    3) echo "== fixture: nhkit export not available here; FixtureBundleTest runs only with NHKIT_TEST_BUNDLE"; FIX="" ;;
    *) echo "warning: exporting the fixture bundles failed (see $B/fixture-bundles.log); FixtureBundleTest will be skipped" >&2
       tail -n 5 "$B/fixture-bundles.log" >&2; FIX="" ;;
  esac
  picked=""
  for v in fp32 int8-io; do
    [ -n "$FIX" ] && [ -f "$FIX/tiny.tflite-$v/manifest.json" ] && picked="${picked:+$picked:}$FIX/tiny.tflite-$v"
  done
  if [ -n "$picked" ]; then
    echo "ok    fixture bundles ($FIX): tiny.tflite-fp32 tiny.tflite-int8-io"
    NHKIT_TEST_BUNDLE="$picked"
  fi
fi

echo "== core: JUnit 4"
rm -rf "$B/fixture-reports"
TEST_CLASSES=$(cd "$HERE/core/src/test/java" && find . -name '*Test.java' | sed 's|^\./||; s|\.java$||; s|/|.|g' | LC_ALL=C sort)
java -Xmx1g -Dnhkit.repo.root="$REPO" ${NHKIT_TEST_BUNDLE:+-Dnhkit.bundle.dir="$NHKIT_TEST_BUNDLE"} \
  -cp "$TESTS:$CORE:$JUNIT:$HAMCREST" dev.nhkit.core.AllTestsMain $TEST_CLASSES | tee "$B/junit.log"
junit_rc=${PIPESTATUS[0]}

# Cross-check with the Python reference: the report format and results as `nhkit golden check`
# (what users run on device reports) sees them.
if ls "$B"/fixture-reports/*.json >/dev/null 2>&1; then
  if (cd "$REPO" && python3 -c "import nhkit.runtime.cli") >/dev/null 2>&1; then
    echo "== nhkit golden check on the JVM self-test reports"
    for r in "$B"/fixture-reports/*.json; do
      bdir=$(head -n1 "$r.bundle")
      if out=$(cd "$REPO" && python3 -m nhkit.runtime golden check "$r" --bundle "$bdir" 2>&1); then
        echo "ok    golden check $(basename "$r") [replayed reference embeddings]: $(echo "$out" | tail -n1)"
      else
        note_fail "nhkit golden check $(basename "$r"):"; echo "$out" | tail -n 25
      fi
    done
  fi
fi

# Real inference: the JVM engine over LiteRT's C API (Java 22+), real bundles, golden check.
rm -f "$B/jvm-junit.log"
bash "$HERE/jvm/test.sh"
case $? in
  0) ;;
  3) echo "note  the JVM LiteRT self-test was skipped (see the skip line above)" ;;
  *) note_fail "JVM LiteRT engine (android_bridge/jvm/test.sh)" ;;
esac

summary=$(grep -E '^Tests run: ' "$B/junit.log" | tail -n1)
[ -n "$summary" ] || summary="Tests run: 0 (the JUnit runner did not finish)"
if [ -f "$B/jvm-junit.log" ] && grep -qE '^Tests run: ' "$B/jvm-junit.log"; then
  # One line adding up both JUnit runs (core on the default JDK, jvm on a JDK 22+).
  summary=$(cat "$B/junit.log" "$B/jvm-junit.log" | grep -E '^Tests run: ' | awk -F'[:,] *' '
    { n += $2; f += $4; e += $6; s += $8 }
    END { printf "Tests run: %d, Failures: %d, Errors: %d, Skipped: %d (core + jvm)", n, f, e, s }')
  echo "$summary"
fi
if [ "$junit_rc" -eq 0 ] && [ "$checks_failed" -eq 0 ]; then
  echo "android_bridge: PASS - $summary; other checks failed: 0"
  exit 0
fi
echo "android_bridge: FAIL - $summary; other checks failed: $checks_failed"
exit 1
