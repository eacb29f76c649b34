"""Apply a phase's selection rule, written before the phase ran (training/README.md, "Phase 3"),
to two quality reports of the same evaluation set, so the decision is a computation, not a
reading of tables.

    python training/compare_candidate.py benchmarks/results/quality_eval_v2.json \
        benchmarks/results/quality_eval_v3c.json

The candidate replaces the current default only if it
1. meets every issue 12 §2 goal the current model meets,
2. improves at least one goal the current model misses (closest distinct pair: more bits;
   a geometric edit: a higher rate; above PDQ/pHash: fewer photos short on the edits that fall
   below them),
3. lowers no edit's zero-FP match rate by more than one photo,
and (checked by `nhkit export`, not here) its bundles pass the export budgets.
Exit 0: candidate selected; 1: not selected; 2: the reports are not comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))

from quality import goals_v2  # noqa: E402


def compare(current: dict, candidate: dict) -> tuple[bool, list[str]]:
    for r in (current, candidate):
        if r.get("split_version") != 2:
            raise ValueError("not a report on the issue 12 evaluation set (split_version 2)")
    if current["photos"] != candidate["photos"] or current["transforms"] != candidate["transforms"]:
        raise ValueError("the two reports are not on the same photos and edits")
    cur = {g: (ok, fig, text) for g, ok, fig, text in goals_v2(current)}
    can = {g: (ok, fig, text) for g, ok, fig, text in goals_v2(candidate)}
    lines, ok = [], True
    kept = [g for g in cur if cur[g][0]]
    lost = [g for g in kept if not can[g][0]]
    ok &= not lost
    lines.append(
        f"1. goals the current model meets, kept: {len(kept) - len(lost)}/{len(kept)}"
        + (f" (lost: {', '.join(can[g][2] for g in lost)})" if lost else "")
    )
    improved = []
    for g in cur:
        if cur[g][0]:
            continue
        a, b = cur[g][1], can[g][1]
        lines.append(f"   missed by current: {g}: {a:.4g} -> {b:.4g}")
        if b > a:
            improved.append(g)
    ok &= bool(improved)
    lines.append(f"2. missed goals improved: {', '.join(improved) or 'none'}")
    n = current["n_photos"]
    drops = []
    for t in current["transforms"]:
        a = current["methods"]["nhkit"]["transforms"][t]["match_zero_fp"]
        b = candidate["methods"]["nhkit"]["transforms"][t]["match_zero_fp"]
        if round((a - b) * n) > 1:
            drops.append(f"{t} {a * 100:.1f}% -> {b * 100:.1f}%")
    ok &= not drops
    lines.append("3. edits losing more than one photo: " + ("; ".join(drops) if drops else "none"))
    return ok, lines


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("current", help="quality_eval_*.json of the current default")
    ap.add_argument("candidate", help="quality_eval_*.json of the candidate")
    a = ap.parse_args()
    reports = []
    for path in (a.current, a.candidate):
        try:
            with open(path, encoding="utf-8") as f:
                reports.append(json.load(f))
        except (OSError, json.JSONDecodeError) as e:
            print(f"{path}: {e}", file=sys.stderr)
            return 2
    try:
        ok, lines = compare(*reports)
    except (ValueError, KeyError) as e:
        print(f"{a.current} vs {a.candidate}: {e}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    print(
        "candidate SELECTED (still needs its bundles to pass the export budgets)"
        if ok
        else "candidate NOT selected"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
