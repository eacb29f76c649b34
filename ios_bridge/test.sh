#!/usr/bin/env bash
# The iOS bridge's whole suite on any machine with swift (Linux or macOS):
#   1. a real Core ML fixture bundle, exported here from nhkit's tiny test model when the Python
#      export extras are installed (cached in .build/fixture-bundles, re-exported when export/ or
#      runtime/ change; NHKIT_FIXTURE_EXPORT=0 disables; NHKIT_TEST_BUNDLES=a:b uses given ones);
#   2. `swift test` (NHCoreTests: vectors, SHA-256, bundles, reports, pipeline, fixture bundles;
#      NHKitTests: Core ML self-test on macOS, skipped on Linux);
#   3. `nhkit golden check` on the self-test reports the fixture test wrote: every lossless case
#      must pass; on Linux a lossy (JPEG) case may only fail for want of a JPEG decoder.
# Usage: ios_bridge/test.sh      Exit status non-zero if anything failed.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
B="$HERE/.build"
FIX="$B/fixture-bundles"
status=0

if [ -z "${NHKIT_TEST_BUNDLES:-}" ] && [ "${NHKIT_FIXTURE_EXPORT:-1}" != "0" ]; then
  stamp="$( (cd "$REPO" && git rev-parse HEAD:export HEAD:runtime 2>/dev/null) | tr '\n' ' ')"
  if [ ! -f "$FIX/tiny.coreml-fp32/manifest.json" ] || [ "$(cat "$FIX/.stamp" 2>/dev/null)" != "$stamp" ]; then
    if (cd "$REPO" && python3 -c "import nhkit.export.testmodels, coremltools") >/dev/null 2>&1; then
      echo "== fixture: exporting tiny Core ML bundles with nhkit export (.build/fixture-bundles)"
      rm -rf "$FIX" "$B/fixture-src"
      mkdir -p "$B/fixture-src"
      if (cd "$B/fixture-src" && python3 - <<'PY'
import numpy as np
from nhkit.export import testmodels
testmodels.save(testmodels.tiny_onnx(seed=3), "tiny.onnx")
np.random.default_rng(5).standard_normal((96, 128)).astype("<f4").tofile("seed.f32")
PY
         ) >"$B/fixture-src/make.log" 2>&1 \
         && (cd "$B/fixture-src" && python3 -m nhkit.runtime export --model tiny.onnx --seed seed.f32 \
               --name tiny --target coreml --variants fp32,fp16 --allow-over-budget --threads 1 \
               --quiet -o "$FIX") >"$B/fixture-src/export.log" 2>&1; then
        echo "$stamp" > "$FIX/.stamp"
        echo "ok    fixture bundles: $(ls "$FIX"/*/manifest.json | xargs -n1 dirname | xargs -n1 basename | tr '\n' ' ')"
      else
        echo "warning: nhkit export of the fixture bundles failed (see $B/fixture-src/export.log); fixture tests will be skipped" >&2
        rm -rf "$FIX"
      fi
    else
      echo "== fixture: nhkit export (with coremltools) not available; fixture tests need NHKIT_TEST_BUNDLES"
    fi
  fi
  if [ -f "$FIX/tiny.coreml-fp32/manifest.json" ]; then
    NHKIT_TEST_BUNDLES="$(ls "$FIX"/*/manifest.json | xargs -n1 dirname | paste -sd: -)"
    export NHKIT_TEST_BUNDLES
  fi
fi

REPORTS="$B/fixture-reports"
rm -rf "$REPORTS" && mkdir -p "$REPORTS"
export NHKIT_REPORT_OUT="$REPORTS"
echo "== swift test (ios_bridge)${NHKIT_TEST_BUNDLES:+ with bundles: $NHKIT_TEST_BUNDLES}"
swift test --package-path "$HERE" -j 2 --disable-swift-testing 2>&1 | grep -vE "^\[[0-9]+/[0-9]+\]|^Test Case .* (started|passed)" | tail -n 40
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

if ls "$REPORTS"/*.json >/dev/null 2>&1; then
  if (cd "$REPO" && python3 -c "import nhkit.runtime.cli") >/dev/null 2>&1; then
    echo "== nhkit golden check on the Swift self-test reports"
    IFS=: read -r -a bundles <<< "${NHKIT_TEST_BUNDLES:-}"
    for r in "$REPORTS"/*.json; do
      id="$(basename "$r")"; id="${id%%.linux-report.json}"; id="${id%%.device-report.json}"
      bdir=""
      for b in "${bundles[@]}"; do [ "$(basename "$b")" = "$id" ] && bdir="$b"; done
      [ -n "$bdir" ] || { echo "FAIL  no bundle for report $r"; status=1; continue; }
      (cd "$REPO" && python3 -m nhkit.runtime golden check "$r" --bundle "$bdir" --junit-xml "$r.junit.xml") > "$r.check.txt" 2>&1
      if python3 - "$r.junit.xml" "$bdir/selftest/cases.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
junit, cases = sys.argv[1], sys.argv[2]
source = {c["id"]: c["source"] for c in json.load(open(cases))["cases"]}
ok = True
for tc in ET.parse(junit).iter("testcase"):
    bad = tc.find("failure") if tc.find("failure") is not None else tc.find("error")
    if bad is None:
        continue
    # Allowed only: a non-PNG source that the Linux test decoder cannot read.
    if not (not source.get(tc.get("name"), "").endswith(".png") and bad.get("type") == "device"
            and "not a PNG" in (bad.get("message") or "")):
        print(f"  {tc.get('name')}: {bad.get('message')}")
        ok = False
sys.exit(0 if ok else 1)
PY
      then
        echo "ok    golden check $(basename "$r"): $(tail -n1 "$r.check.txt") (lossless all pass; JPEG needs ImageIO)"
      else
        echo "FAIL  golden check $(basename "$r"):"; tail -n 25 "$r.check.txt"; status=1
      fi
    done
  else
    echo "== nhkit not installed: golden check of the Swift reports skipped"
  fi
fi
[ "$status" -eq 0 ] && echo "== ios_bridge: all passed" || echo "== ios_bridge: FAILURES (see above)"
exit $status
