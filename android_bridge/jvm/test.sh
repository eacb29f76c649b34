#!/usr/bin/env bash
# Real inference on the JVM (called by android_bridge/test.sh; runnable alone):
#   1. compile jvm/ (java.lang.foreign, --release 22) with a Java 22+ JDK; without one: skip, say so
#   2. export real TFLite bundles of nhkit's default model (fp32, fp16, dynamic-int8, int8-io, int16x8) into
#      build/litert-bundles/<key>/, a cache keyed on the working tree's export/, runtime/ (which
#      holds the model) and the converter versions
#   3. JUnit 4 tests of the engine (LiteRtFfmEngineTest, LiteRtLibraryTest, ...) on those bundles
#   4. the full self-test of each bundle through the Java core pipeline + javax.imageio + LiteRT
#      (SelfTestMain), judged by `nhkit golden check`; one line per report
#   5. a copy of the fp32 bundle with one weight tensor negated must change every embedding and fail
#      the check (the reports are computed, not replayed)
# Exit: 0 pass, 1 fail, 3 skipped (no Java 22+, or nhkit's export extra / ai-edge-litert missing).
# Environment: NHKIT_JAVA22_HOME (a JDK 22+), JUNIT4_JAR, HAMCREST_JAR, NHKIT_LITERT_LIB.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
AB=$(cd "$HERE/.." && pwd)
REPO=$(cd "$AB/.." && pwd)
B="$AB/build"
JUNIT="${JUNIT4_JAR:-/usr/share/java/junit4.jar}"
HAMCREST="${HAMCREST_JAR:-/usr/share/java/hamcrest-core.jar}"
[ -f "$HAMCREST" ] || HAMCREST=/usr/share/java/hamcrest.jar
VARIANTS=fp32,fp16,dynamic-int8,int8-io,int16x8
failed=0
fail() { echo "FAIL  $*"; failed=$((failed + 1)); }

java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 \
  | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'; }
JDK=""
# NHKIT_JAVA22_HOME, when set, is the only candidate (an explicit choice never falls back).
if [ -n "${NHKIT_JAVA22_HOME:-}" ]; then candidates=("$NHKIT_JAVA22_HOME")
else candidates=("${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*); fi
for cand in "${candidates[@]}"; do
  if [ -n "$cand" ] && [ -x "$cand/bin/javac" ] && [ "$(java_major "$cand" || echo 0)" -ge 22 ] 2>/dev/null; then
    JDK=$cand; break
  fi
done
if [ -z "$JDK" ]; then
  echo "skip  JVM LiteRT engine tests: they need a JDK 22+ (java.lang.foreign); found only Java" \
       "$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')" \
       "${NHKIT_JAVA22_HOME:+(NHKIT_JAVA22_HOME=$NHKIT_JAVA22_HOME is not a JDK 22+) }(set NHKIT_JAVA22_HOME=/path/to/jdk-22+)"
  exit 3
fi
echo "== jvm: compile (java.lang.foreign; $JDK, javac --release 22)"
CORE="$B/classes/core"; CORE_TEST="$B/classes/core-test"
JVM="$B/classes/jvm"; JVM_TEST="$B/classes/jvm-test"
rm -rf "$JVM" "$JVM_TEST"
if [ ! -d "$CORE" ]; then
  javac --release 11 -encoding UTF-8 -d "$CORE" $(find "$AB/core/src/main/java" -name '*.java') || exit 1
fi
"$JDK/bin/javac" --release 22 -encoding UTF-8 -Xlint:all,-restricted -Werror -cp "$CORE" -d "$JVM" \
  $(find "$HERE/src/main/java" -name '*.java' | LC_ALL=C sort) || { echo "FAIL  jvm does not compile"; exit 1; }
"$JDK/bin/javac" --release 22 -encoding UTF-8 -Xlint:all,-restricted -Werror -cp "$CORE:$JVM:$JUNIT" \
  -d "$JVM_TEST" $(find "$HERE/src/test/java" -name '*.java' | LC_ALL=C sort) \
  || { echo "FAIL  jvm tests do not compile"; exit 1; }
JAVA=("$JDK/bin/java" --enable-native-access=ALL-UNNAMED -Xmx1g)

# ---- real bundles, cached on the content of what makes them
BUNDLES=""
if (cd "$REPO" && python3 -c "import nhkit.export.tflite, tensorflow, ai_edge_litert") >/dev/null 2>&1; then
  key=$( { cd "$REPO" && find export runtime -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
             | LC_ALL=C sort -z | xargs -0 sha256sum;
           python3 - "$VARIANTS" <<'PY'
import importlib.metadata as m, sys
def v(*names):
    for n in names:
        try:
            return m.version(n)
        except m.PackageNotFoundError:
            pass
    return None
print([v("tensorflow-cpu", "tensorflow"), v("ai-edge-litert"), v("onnx"), v("onnxruntime"),
       v("numpy"), v("pillow")], sys.argv[1])
PY
         } \
         | sha256sum | cut -c1-16)
  BUNDLES="$B/litert-bundles/$key"
  if [ ! -f "$BUNDLES/.complete" ]; then
    rm -rf "$B/litert-bundles"
    mkdir -p "$B/litert-bundles"
    echo "== jvm: exporting real TFLite bundles ($VARIANTS) of the default model -> build/litert-bundles/$key"
    if (cd "$REPO" && nice python3 -m nhkit.runtime export --target tflite --variants "$VARIANTS" --threads 1 \
          --quiet -o "$BUNDLES") >"$B/litert-export.log" 2>&1; then
      touch "$BUNDLES/.complete"
    else
      fail "nhkit export of the TFLite bundles failed (see $B/litert-export.log)"; tail -n 20 "$B/litert-export.log"
      BUNDLES=""
    fi
  else
    echo "== jvm: real TFLite bundles from the cache build/litert-bundles/$key"
  fi
else
  echo "skip  real-inference self-tests: nhkit's export extra (tensorflow, ai-edge-litert) is not installed"
fi

echo "== jvm: JUnit 4 (LiteRT engine)"
JVM_TESTS=$(cd "$HERE/src/test/java" && find . -name '*Test.java' | sed 's|^\./||; s|\.java$||; s|/|.|g' | LC_ALL=C sort)
"${JAVA[@]}" ${BUNDLES:+-Dnhkit.litert.bundles="$BUNDLES"} -cp "$JVM_TEST:$JVM:$CORE_TEST:$CORE:$JUNIT:$HAMCREST" \
  dev.nhkit.core.AllTestsMain $JVM_TESTS 2>"$B/jvm-junit.stderr" | tee "$B/jvm-junit.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed=$((failed + 1))

[ -n "$BUNDLES" ] || { [ "$failed" -eq 0 ] && exit 3; exit 1; }

# ---- the full self-test of every bundle, judged by the Python reference's golden check
REPORTS="$B/litert-reports"
rm -rf "$REPORTS"; mkdir -p "$REPORTS"
golden() {  # report bundle -> prints the verdict line; returns golden check's status
  local out rc label
  out=$(cd "$REPO" && python3 -m nhkit.runtime golden check "$1" --bundle "$2" 2>&1); rc=$?
  label=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['runtime']; print(r['name'], r['version'])" "$1" 2>/dev/null)
  echo "golden check ${1#$REPO/} [${label:-unreadable report}]: $(echo "$out" | tail -n1)"
  [ "$rc" -eq 0 ] || echo "$out" | sed -n '/^case /,/^summary/p' | head -n 12
  return $rc
}
echo "== jvm: self-test of real bundles (core pipeline + javax.imageio + LiteRT via FFM) and nhkit golden check"
for dir in "$BUNDLES"/*/; do
  dir=${dir%/}; [ -f "$dir/manifest.json" ] || continue
  id=$(basename "$dir")
  if ! "${JAVA[@]}" -cp "$CORE:$JVM" dev.nhkit.jvm.SelfTestMain --bundle "$dir" -o "$REPORTS/$id.json" \
        >"$REPORTS/$id.log" 2>&1; then
    fail "self-test of $id did not write a report:"; grep -v '^INFO\|^WARNING' "$REPORTS/$id.log" | tail -n 5
    continue
  fi
  golden "$REPORTS/$id.json" "$dir" || fail "golden check of $id"
done

# ---- not replayed: corrupt one weight tensor, the embeddings must change and the check must fail
fp32=$(ls -d "$BUNDLES"/*.tflite-fp32 2>/dev/null | head -n1)
if [ -n "$fp32" ] && [ -f "$REPORTS/$(basename "$fp32").json" ]; then
  echo "== jvm: a copy of $(basename "$fp32") with one weight tensor corrupted (the report must not be replayed)"
  bad="$B/litert-corrupt/$(basename "$fp32")"
  if python3 "$HERE/src/test/python/corrupt_model_weight.py" "$fp32" "$bad" \
     && "${JAVA[@]}" -cp "$CORE:$JVM" dev.nhkit.jvm.SelfTestMain --bundle "$bad" -o "$REPORTS/corrupted-fp32.json" \
          >"$REPORTS/corrupted.log" 2>&1; then
    changed=$(python3 - "$REPORTS/$(basename "$fp32").json" "$REPORTS/corrupted-fp32.json" <<'PY'
import json, sys
good, bad = (json.load(open(p)) for p in sys.argv[1:3])
b = {c["id"]: c for c in bad["cases"]}
print(sum(1 for c in good["cases"] if c.get("embedding") != b[c["id"]].get("embedding")), len(good["cases"]))
PY
)
    echo "      embeddings changed in ${changed% *} of ${changed#* } cases"
    [ "${changed% *}" = "${changed#* }" ] || fail "corrupting the weights left some embeddings unchanged (replayed?)"
    if golden "$REPORTS/corrupted-fp32.json" "$bad" >"$REPORTS/corrupted-golden.log"; then
      fail "nhkit golden check passed a report from corrupted weights"; cat "$REPORTS/corrupted-golden.log"
    else
      echo "ok    $(head -n1 "$REPORTS/corrupted-golden.log") (expected to fail)"
    fi
  else
    fail "could not run the corrupted-weight check"; tail -n 5 "$REPORTS/corrupted.log"
  fi
fi
[ "$failed" -eq 0 ]
