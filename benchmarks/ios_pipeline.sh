#!/usr/bin/env bash
# Full-pipeline benchmark (not a test) of the Swift package on Linux with the REAL LiteRT runtime:
# NHCore's spec steps 2-7 (orient, exact resize, normalise, model through NHLiteRT's
# libLiteRt CompiledModel engine, projections, bits) per image, per TFLite variant of the default
# model, on 1 core (taskset -c 0, 1 task) and 2 cores (taskset -c 0,1, 2 tasks with one engine
# each), next to the Python reference (nhkit Hasher over the bundle's LiteRT Interpreter backend,
# threads 1 and 2, same taskset) on the SAME inputs: photos decoded and oriented once by nhkit's
# decoder (spec step 1; NHCore has no JPEG decoder on Linux), written as raw RGB8 and read by both.
# Outputs compared byte for byte: the 360x360 resized bytes (sha256), the float32 embedding bit
# patterns, and the hash. Writes benchmarks/results/ios_pipeline.md.
#   benchmarks/ios_pipeline.sh [--images N] [--runs N] [--variants fp32,fp16,dynamic-int8,int8-io]
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
IMAGES=6 RUNS=3 VARIANTS=fp32,fp16,dynamic-int8,int8-io
while [ $# -gt 0 ]; do
  case "$1" in
    --images) IMAGES="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --variants) VARIANTS="$2"; shift 2 ;;
    *) echo "usage: $0 [--images N] [--runs N] [--variants LIST]" >&2; exit 2 ;;
  esac
done
OUT="$REPO/benchmarks/results/ios_pipeline.md"
WORK="${NHKIT_BENCH_WORK:-$REPO/ios_bridge/.build/bench-pipeline}"
mkdir -p "$WORK" "$(dirname "$OUT")"

echo "== build (release): NHPipelineBench"
swift build -c release -j 2 --package-path "$REPO" --scratch-path "$REPO/ios_bridge/.build" --product NHPipelineBench >/dev/null
BIN="$REPO/ios_bridge/.build/release/NHPipelineBench"

if [ ! -f "$WORK/bundles/.done-$VARIANTS" ]; then
  echo "== export the default model's TFLite bundles: $VARIANTS"
  rm -rf "$WORK/bundles"
  (cd "$REPO" && python3 -m nhkit.runtime export --target tflite --variants "$VARIANTS" --threads 2 --quiet \
     --allow-over-budget -o "$WORK/bundles") > "$WORK/export.log" 2>&1
  touch "$WORK/bundles/.done-$VARIANTS"
fi

echo "== inputs: $IMAGES photos from ../shared/photos, decoded and oriented once by nhkit (spec step 1)"
(cd "$REPO" && python3 - "$WORK/inputs" "$IMAGES" <<'PY'
import json, sys
from pathlib import Path
from nhkit.runtime.decode import decode_image
out, n = Path(sys.argv[1]), int(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
photos = sorted(p for p in Path("/work/shared/photos").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
index = []
step = max(1, len(photos) // n)   # spread over the collection: several sizes
for i, p in enumerate(photos[::step][:n]):
    d = decode_image(str(p), orientation="apply")
    rgb = d.rgb
    name = f"{i:03d}.rgb"
    (out / name).write_bytes(rgb.tobytes())
    index.append({"file": name, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "source": p.name})
(out / "index.json").write_text(json.dumps(index, indent=1))
print(" ".join(f"{e['source']}({e['width']}x{e['height']})" for e in index))
PY
)

echo "== runs"
: > "$WORK/runs.txt"
for v in ${VARIANTS//,/ }; do
  b="$(ls -d "$WORK"/bundles/*.tflite-"$v" | head -n1)"
  for cores in 1 2; do
    cpus=0; [ "$cores" = 2 ] && cpus=0,1
    taskset -c "$cpus" "$BIN" --bundle "$b" --inputs "$WORK/inputs" --runs "$RUNS" --tasks "$cores" \
      --out "$WORK/swift-$v-$cores.json" 2>/dev/null
    (cd "$REPO" && taskset -c "$cpus" python3 - "$b" "$WORK/inputs" "$RUNS" "$cores" "$WORK/python-$v-$cores.json" <<'PY'
import hashlib, json, sys, time
from pathlib import Path
import numpy as np
from nhkit.runtime.bundle_backend import hasher_for_bundle
from nhkit.runtime.floathex import f32_to_hex
from nhkit.runtime.resize import resize_rgb
bundle, inputs, runs, threads, out = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
index = json.loads((inputs / "index.json").read_text())
imgs = [np.frombuffer((inputs / e["file"]).read_bytes(), np.uint8).reshape(e["height"], e["width"], 3) for e in index]
h = hasher_for_bundle(bundle, threads=threads)
per, res = [], None
for _ in range(runs):
    t0 = time.perf_counter()
    res = [h.hash_rgb(im) for im in imgs]
    per.append((time.perf_counter() - t0) * 1e3 / len(imgs))
outs = [{"file": e["file"], "resizedSHA256": hashlib.sha256(resize_rgb(im, 360).tobytes()).hexdigest(),
         "embedding": f32_to_hex(r.embedding), "hash": r.hex} for e, im, r in zip(index, imgs, res)]
json.dump({"runtime": h.backend.describe(), "msPerImage": per, "outputs": outs}, open(out, "w"))
PY
    )
    echo "$v $cores" >> "$WORK/runs.txt"
    echo "   $v, $cores core(s): done"
  done
done

(cd "$REPO" && python3 - "$WORK" "$OUT" "$RUNS" <<'PY'
import json, os, platform, sys
from pathlib import Path
work, out, runs = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
index = json.loads((work / "inputs" / "index.json").read_text())
def med(xs): xs = sorted(xs); return xs[len(xs) // 2]
rows, cmp_rows = [], []
for line in (work / "runs.txt").read_text().split("\n"):
    if not line.strip():
        continue
    v, cores = line.split()
    s = json.loads((work / f"swift-{v}-{cores}.json").read_text())
    p = json.loads((work / f"python-{v}-{cores}.json").read_text())
    rows.append(f"| {v} | {cores} | {med(s['msPerImage']):.1f} | {med(p['msPerImage']):.1f} | "
                f"{s['runtime']['name']} {s['runtime']['version']} (CompiledModel C API) | "
                f"{p['runtime']['name']} {p['runtime']['version']} (Interpreter) |")
    if cores == "1":
        so, po = s["outputs"], p["outputs"]
        same_resize = sum(a["resizedSHA256"] == b["resizedSHA256"] for a, b in zip(so, po))
        same_emb = sum(a["embedding"] == b["embedding"] for a, b in zip(so, po))
        same_hash = sum(a["hash"] == b["hash"] for a, b in zip(so, po))
        n = len(so)
        cmp_rows.append(f"| {v} | {same_resize}/{n} | {same_emb}/{n} | {same_hash}/{n} |")
load = os.getloadavg()
text = [
    "# Swift package (NHCore + NHLiteRT) full pipeline vs the Python reference, same inputs",
    "",
    "`benchmarks/ios_pipeline.sh` (release build, Linux x86_64). Inputs: "
    + ", ".join(f"{e['source']} ({e['width']}x{e['height']})" for e in index)
    + " from ../shared/photos, decoded and oriented ONCE by nhkit's decoder (spec step 1) and written as raw RGB8;"
    " both sides hash those same bytes (spec steps 2-7). Swift: NHCore pipeline + NHLiteRT "
    "(libLiteRt of ai-edge-litert, CompiledModel API, CPU), 1 core = `taskset -c 0` with 1 task, "
    "2 cores = `taskset -c 0,1` with 2 tasks (one engine each). Python: `nhkit` Hasher on the bundle's "
    "LiteRT Interpreter backend, `threads` 1 / 2 under the same taskset. "
    f"Median of {runs} runs, wall milliseconds per image (total / images).",
    "",
    f"Machine: {platform.machine()}, {os.cpu_count()} CPUs visible, SHARED with other jobs "
    f"(load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}): absolute figures are noisy.",
    "",
    "| variant | cores | Swift ms/image | Python ms/image | Swift runtime | Python runtime |",
    "|---|---|---|---|---|---|",
    *rows,
    "",
    "Outputs, byte for byte (Swift vs Python, same inputs): images whose 360x360 resized bytes, "
    "float32 embedding bit patterns and 96-bit hash are identical:",
    "",
    "| variant | resized bytes | embedding bits | hash |",
    "|---|---|---|---|",
    *cmp_rows,
    "",
]
Path(out).write_text("\n".join(text))
print("\n".join(text))
PY
)
echo "wrote $OUT"
