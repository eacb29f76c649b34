"""Long fuzzing run of every Python parser and reader (targets: tests/fuzz_targets.py).

    python benchmarks/fuzz.py                       # 1000 random inputs per target
    python benchmarks/fuzz.py --examples 5000 --target image-decode

Each target's function runs on hypothesis-generated inputs (random, not the suite's
derandomized profile). An NhkitError is a clean rejection; any other exception is a finding,
recorded with its input. Writes benchmarks/results/fuzz.md (and .json): executions, seconds and
findings per target. A finding is fixed in the runtime, with a test, and the run repeated."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fuzz_targets import TARGETS, Target, check  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

# Crashes found so far and fixed (each with a regression test); a run lists new ones above.
FIXED = [
    "image-decode: a mutated TIFF whose tag table makes Pillow's TIFF plugin raise TypeError "
    "('Missing dimensions') escaped decode_image as a TypeError; it is now an ImageDecodeError "
    "(runtime/decode.py; test_corrupt_tiff_tag_table_is_an_image_decode_error). Found by "
    "`--examples 1000` (3 of 1000 inputs).",
    "bundle-zip: a zip entry named '.' (no path parts) raised IndexError in the bundle reader's "
    "path check; it is now 'has an unsafe path' (runtime/bundle.py; "
    "test_bundle_zip_entry_naming_nothing_is_unsafe). Found by `--examples 5000` (5 inputs).",
    "onnx: tensor dims whose int64 product wraps around (2^33 x 2^31) passed the size check as "
    "an empty tensor and crashed in reshape (ValueError); the count is now a Python int "
    "(runtime/onnx_wire.py; test_onnx_tensor_with_overflowing_dims_is_a_model_error). Found "
    "while writing the target, before any run.",
]


def fuzz(target: Target, examples: int) -> dict[str, Any]:
    executions = 0
    findings: dict[str, dict[str, Any]] = {}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(target.strategy())
    def run(value: object) -> None:
        nonlocal executions
        executions += 1
        try:
            check(target, value)
        except Exception as exc:  # a finding: record it, keep fuzzing
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
            entry = findings.setdefault(
                key, {"count": 0, "message": str(exc)[:200], "input": repr(value)[:300]}
            )
            entry["count"] = int(entry["count"]) + 1

    t0 = time.perf_counter()
    run()
    return {
        "target": target.name,
        "what": target.what,
        "executions": executions,
        "seconds": round(time.perf_counter() - t0, 1),
        "findings": findings,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=1000, help="inputs per target")
    ap.add_argument("--target", action="append", help="only these targets (repeatable)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fuzz")
    args = ap.parse_args()
    chosen = [t for t in TARGETS if not args.target or t.name in args.target]
    rows = []
    for t in chosen:
        row = fuzz(t, args.examples)
        rows.append(row)
        print(
            f"{t.name}: {row['executions']} executions, {len(row['findings'])} findings "
            f"({row['seconds']} s)",
            flush=True,
        )
    total = sum(int(r["executions"]) for r in rows)
    found = sum(len(r["findings"]) for r in rows)
    lines = [
        "# Fuzzing the Python readers",
        "",
        f"`python benchmarks/fuzz.py --examples {args.examples}`: hypothesis-generated "
        "inputs (random; arbitrary bytes, structured archives and JSON, and mutations of "
        "valid files) into every parser and reader. A rejection must be an NhkitError; "
        "any other exception is a finding.",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, shared 2-core host.",
        "",
        "| target | what | executions | seconds | findings |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['target']} | {r['what']} | {r['executions']} | {r['seconds']} | "
            f"{len(r['findings'])} |"
        )
    lines += ["", f"**Total: {total} executions, {found} distinct findings.**", ""]
    for r in rows:
        for key, f in r["findings"].items():
            lines += [
                f"- `{r['target']}`: {key} ({f['count']}x): {f['message']}; input `{f['input']}`"
            ]
    lines += ["", "## Fixed findings", ""] + [f"- {f}" for f in FIXED]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(f"total: {total} executions, {found} distinct findings -> {args.out}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
