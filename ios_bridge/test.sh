#!/usr/bin/env bash
# The Swift package's whole suite on any machine with swift (Linux or macOS). The package
# manifest is the repository root's Package.swift; builds go to ios_bridge/.build.
#   1. fixture bundles from tests/fixture_bundles.py (shared with android_bridge/test.sh):
#      `nhkit export` of nhkit's tiny test model when the Python export extras are installed,
#      Core ML fp32/fp16 and TFLite fp32, fp16, dynamic-int8, int8, int8-io, cached in
#      build/fixture-bundles/<key> keyed on the working-tree content of runtime/, export/ and that
#      script, so uncommitted edits re-export (NHKIT_FIXTURE_EXPORT=0 disables;
#      NHKIT_TEST_BUNDLES=a:b uses given ones), plus a copy of the TFLite fp32 bundle with one
#      corrupted weight (Tests/tools/corrupt_weight.py);
#   2. `swift test` (NHCoreTests: vectors, SHA-256, bundles, reports, pipeline, fixture bundles;
#      NHLiteRTTests: the full self-test of the TFLite bundles through NHCore's pipeline and the
#      real LiteRT runtime (libLiteRt of ai-edge-litert 2.3.0); NHKitTests: Core ML self-test on
#      macOS, skipped on Linux);
#   3. the type-check package (ios_bridge/TypeCheck, Linux only): NHKit's sources compiled
#      against signature-accurate stand-ins of the Apple frameworks it uses;
#   4. `nhkit golden check` on every self-test report: every lossless case must pass; a lossy
#      (JPEG) case may only fail for want of a JPEG decoder on Linux (reported, never faked);
#      the corrupted-weight report must FAIL the check.
# Usage: ios_bridge/test.sh      Exit status non-zero if anything failed.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
B="$HERE/.build"
FIX="$B/fixture-bundles"
CORRUPT="$B/fixture-corrupt"
status=0

# Fixture bundles: tests/fixture_bundles.py (shared with android_bridge/test.sh) exports them once
# per content of runtime/, export/ and itself (uncommitted edits included) into build/fixture-bundles/<key>/.
# The corrupted-weight copy is made here, cached on that key and on corrupt_weight.py's content.
CORRUPT="$B/fixture-corrupt"
if [ -z "${NHKIT_TEST_BUNDLES:-}" ] && [ "${NHKIT_FIXTURE_EXPORT:-1}" != "0" ]; then
  mkdir -p "$B"
  rm -rf "$B/fixture-bundles" "$B/fixture-src"   # the per-bridge cache this replaced
  FIX="$(cd "$REPO" && python3 tests/fixture_bundles.py 2>"$B/fixture-bundles.log")"
  case $? in
    0) ;;
    3) echo "== fixture: nhkit export not available; fixture tests need NHKIT_TEST_BUNDLES"; FIX="" ;;
    *) echo "warning: exporting the fixture bundles failed (see $B/fixture-bundles.log); their tests will skip" >&2
       tail -n 5 "$B/fixture-bundles.log" >&2; FIX="" ;;
  esac
  if [ -n "$FIX" ] && [ -f "$FIX/tiny.tflite-fp32/manifest.json" ]; then
    stamp="$(basename "$FIX") $(sha256sum "$HERE/Tests/tools/corrupt_weight.py" | cut -c1-64)"
    if [ "$(cat "$CORRUPT/.stamp" 2>/dev/null)" != "$stamp" ]; then
      rm -rf "$CORRUPT"
      if python3 "$HERE/Tests/tools/corrupt_weight.py" "$FIX/tiny.tflite-fp32" "$CORRUPT/tiny.tflite-fp32" \
           >"$B/fixture-corrupt.log" 2>&1; then
        echo "$stamp" > "$CORRUPT/.stamp"
      else
        echo "warning: corrupting a weight failed (see $B/fixture-corrupt.log)" >&2; rm -rf "$CORRUPT"
      fi
    fi
  fi
  if [ -n "$FIX" ] && ls "$FIX"/*/manifest.json >/dev/null 2>&1; then
    echo "ok    fixture bundles ($FIX): $(ls "$FIX"/*/manifest.json | xargs -n1 dirname | xargs -n1 basename | tr '\n' ' ')"
    NHKIT_TEST_BUNDLES="$(ls "$FIX"/*/manifest.json | xargs -n1 dirname | paste -sd: -)"
    export NHKIT_TEST_BUNDLES
  fi
  [ -f "$CORRUPT/tiny.tflite-fp32/manifest.json" ] && export NHKIT_CORRUPT_BUNDLE="$CORRUPT/tiny.tflite-fp32"
fi
# On Linux, where Python has LiteRT, the LiteRT tests must run (a skip would hide a broken
# engine). On macOS they run when the wheel ships a loadable library and skip with the reason
# otherwise (not verified: no Mac here).
if [ -z "${NHKIT_REQUIRE_LITERT:-}" ] && [ "$(uname -s)" = "Linux" ] \
   && python3 -c "import ai_edge_litert" >/dev/null 2>&1 && [ -n "${NHKIT_CORRUPT_BUNDLE:-}" ]; then
  export NHKIT_REQUIRE_LITERT=1
fi

REPORTS="$B/fixture-reports"
rm -rf "$REPORTS" && mkdir -p "$REPORTS"
export NHKIT_REPORT_OUT="$REPORTS"
echo "== swift test (package: $REPO/Package.swift)${NHKIT_TEST_BUNDLES:+ with bundles: $NHKIT_TEST_BUNDLES}"
swift test --package-path "$REPO" --scratch-path "$B" -j 2 --disable-swift-testing 2>&1 \
  | grep -vE "^\[[0-9]+/[0-9]+\]|^Test Case .* (started|passed)" | tail -n 40
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

if [ "$(uname -s)" = "Linux" ] && [ -f "$HERE/TypeCheck/Package.swift" ]; then
  echo "== type-check NHKit against the Apple API stand-ins (ios_bridge/TypeCheck)"
  swift build --package-path "$HERE/TypeCheck" -j 2 2>&1 | grep -vE "^\[[0-9]+/[0-9]+\]" | tail -n 30
  if [ "${PIPESTATUS[0]}" -eq 0 ]; then
    echo "ok    NHKit and NHKitTests type-check against the CoreML/ImageIO/CoreGraphics/XCTest stand-ins"
  else
    echo "FAIL  NHKit does not type-check (see above)"; status=1
  fi
fi

# Judges one report; prints "golden check <report> [runtime version]: N passed, N failed".
# Mode "pass": every case must pass except a non-PNG case the Linux decoder cannot read.
# Mode "fail": the check must fail (a corrupted model) on the model stage of lossless cases.
judge() {  # report bundle mode
  local r="$1" bdir="$2" mode="$3" rt
  rt="$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runtime"]; print(r["name"], r["version"])' "$r")"
  (cd "$REPO" && python3 -m nhkit.runtime golden check "$r" --bundle "$bdir" --junit-xml "$r.junit.xml") > "$r.check.txt" 2>&1
  local rc=$?
  local line="golden check $(basename "$r") [$rt]: $(tail -n1 "$r.check.txt")"
  if [ "$mode" = "fail" ]; then
    if [ "$rc" -eq 1 ] && grep -qiE "model|hamming|embedding" "$r.check.txt"; then
      echo "ok    $line (expected: one corrupted weight must fail the check)"
    else
      echo "FAIL  $line (exit $rc; a corrupted weight must fail the check)"; tail -n 25 "$r.check.txt"; status=1
    fi
    return
  fi
  local note ok=0
  note="$(python3 - "$r.junit.xml" "$bdir/selftest/cases.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
junit, cases = sys.argv[1], sys.argv[2]
source = {c["id"]: c["source"] for c in json.load(open(cases))["cases"]}
ok, lossy = True, []
for tc in ET.parse(junit).iter("testcase"):
    bad = tc.find("failure") if tc.find("failure") is not None else tc.find("error")
    if bad is None:
        continue
    # Allowed only: a non-PNG source that the Linux test decoder cannot read (not judged).
    if (not source.get(tc.get("name"), "").endswith(".png") and bad.get("type") == "device"
            and "not a PNG" in (bad.get("message") or "")):
        lossy.append(tc.get("name"))
        continue
    print(f"  {tc.get('name')}: {bad.get('message')}")
    ok = False
if lossy:
    print(f"  not judged: {', '.join(lossy)} (lossy, no JPEG decoder in NHCore on Linux; reported as failed)")
sys.exit(0 if ok else 1)
PY
  )" || ok=1
  if [ "$rc" -le 1 ] && [ "$ok" -eq 0 ]; then
    echo "ok    $line"; [ -z "$note" ] || echo "$note"
  else
    echo "FAIL  $line"; [ -z "$note" ] || echo "$note"; tail -n 25 "$r.check.txt"; status=1
  fi
}

if ls "$REPORTS"/*.json >/dev/null 2>&1; then
  if (cd "$REPO" && python3 -c "import nhkit.runtime.cli") >/dev/null 2>&1; then
    echo "== nhkit golden check on the Swift self-test reports"
    IFS=: read -r -a bundles <<< "${NHKIT_TEST_BUNDLES:-}"
    for r in "$REPORTS"/*.json; do
      id="$(basename "$r")"
      if [ "$id" = "corrupted.litert-report.json" ]; then
        judge "$r" "$NHKIT_CORRUPT_BUNDLE" fail; continue
      fi
      id="${id%%.linux-report.json}"; id="${id%%.litert-report.json}"; id="${id%%.device-report.json}"
      bdir=""
      for b in "${bundles[@]}"; do [ "$(basename "$b")" = "$id" ] && bdir="$b"; done
      [ -n "$bdir" ] || { echo "FAIL  no bundle for report $r"; status=1; continue; }
      judge "$r" "$bdir" pass
    done
    if [ "${NHKIT_REQUIRE_LITERT:-}" = "1" ] && ! ls "$REPORTS"/*.litert-report.json >/dev/null 2>&1; then
      echo "FAIL  no LiteRT report was written"; status=1
    fi
  else
    echo "== nhkit not installed: golden check of the Swift reports skipped"
  fi
fi
[ "$status" -eq 0 ] && echo "== ios_bridge: all passed" || echo "== ios_bridge: FAILURES (see above)"
exit $status
