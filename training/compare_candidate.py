"""Apply a phase's selection rule, written before the phase ran (training/README.md, "Phase 3"
and "Phase 4"), to two quality reports of the same evaluation set, so the decision is a
computation, not a reading of tables.

    python training/compare_candidate.py benchmarks/results/quality_eval_v2.json \
        benchmarks/results/quality_eval_v3c.json
    # phase 4 on: with the quantization drift of both models on the same photos
    python training/compare_candidate.py CUR_quality.json CAND_quality.json \
        --quantization CUR_quantization.json CAND_quantization.json

The candidate replaces the current default only if it
1. meets every issue 12 §2 goal the current model meets,
2. improves at least one goal the current model misses (closest distinct pair: more bits;
   a geometric edit: a higher rate; above PDQ/pHash: fewer photos short on the edits that fall
   below them; with --quantization, also a §4 drift term (mean, p99, max, non-fragile flips of
   a variant) the current model misses: a lower figure),
3. lowers no edit's zero-FP match rate by more than one photo,
4. with --quantization: meets every §4 drift term the current model meets,
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

QUANT_TERMS = ("mean", "p99", "max", "nonfragile_flips")


def quantization_goals(report: dict) -> dict[tuple[str, str], tuple[bool, float]]:
    """(variant, term) -> (met, figure) for every §4 goal term, from a benchmarks/quantization.py
    report of the evaluation side, on the current export recipe (rows 'after' or 'unchanged')."""
    if report.get("measured_on") != "eval":
        raise ValueError("a quantization report of tuning photos cannot select a model")
    rows = {r["variant"]: r for r in report["rows"] if r["recipe"] in ("after", "unchanged")}
    out = {}
    for variant, goal in report["goals"].items():
        if variant not in rows:
            raise ValueError(f"quantization report has no current-recipe row for {variant}")
        for term in QUANT_TERMS:
            if goal.get(term) is not None:
                fig = rows[variant][term]
                out[(variant, term)] = (fig <= goal[term], fig)
    return out


def compare_quantization(current: dict, candidate: dict) -> tuple[bool, list[str], list[str], str]:
    """Rule 4, and the §4 part of rule 2: (kept every met term, improved missed terms, one line
    per missed term, rule 4's line)."""
    if current["evaluation"]["sha256_list"] != candidate["evaluation"]["sha256_list"]:
        raise ValueError("the two quantization reports are not on the same photos")
    cur, can = quantization_goals(current), quantization_goals(candidate)
    # A variant added to the export after one report was written (tflite-int16x8) is judged
    # only where both reports measured it, so older candidates' verdicts stay reproducible.
    only = sorted({v for v, _ in cur.keys() ^ can.keys()})
    cur = {k: x for k, x in cur.items() if k in can}
    lost = [
        f"{v} {t} {can[(v, t)][1]:g}"
        for (v, t), (ok, _) in cur.items()
        if ok and not can[(v, t)][0]
    ]
    improved, lines = [], []
    for (v, t), (ok, a) in cur.items():
        if ok:
            continue
        b = can[(v, t)][1]
        lines.append(f"   §4 missed by current: {v} {t}: {a:g} -> {b:g}")
        if b < a:
            improved.append(f"{v} {t}")
    met = sum(ok for ok, _ in cur.values())
    rule4 = (
        f"4. §4 drift terms the current model meets, kept: {met - len(lost)}/{met}"
        + (f" (lost: {'; '.join(lost)})" if lost else "")
        + (f" (measured in one report only, not judged: {', '.join(only)})" if only else "")
    )
    return not lost, improved, lines, rule4


def compare(
    current: dict,
    candidate: dict,
    quant: tuple[dict, dict] | None = None,
) -> tuple[bool, list[str]]:
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
    rule4 = None
    if quant is not None:
        kept_q, improved_q, missed_q, rule4 = compare_quantization(*quant)
        ok &= kept_q
        lines.extend(missed_q)
        improved += improved_q
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
    if rule4 is not None:
        lines.append(rule4)
    return ok, lines


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("current", help="quality_eval_*.json of the current default")
    ap.add_argument("candidate", help="quality_eval_*.json of the candidate")
    ap.add_argument(
        "--quantization",
        nargs=2,
        metavar=("CURRENT", "CANDIDATE"),
        help="benchmarks/quantization.py reports (eval side) of the two models",
    )
    a = ap.parse_args()
    reports = []
    for path in (a.current, a.candidate, *(a.quantization or ())):
        try:
            with open(path, encoding="utf-8") as f:
                reports.append(json.load(f))
        except (OSError, json.JSONDecodeError) as e:
            print(f"{path}: {e}", file=sys.stderr)
            return 2
    try:
        quant = (reports[2], reports[3]) if a.quantization else None
        ok, lines = compare(reports[0], reports[1], quant)
    except (ValueError, KeyError) as e:
        print(f"{a.current} vs {a.candidate}: {e}", file=sys.stderr)
        if a.quantization:
            print(f"(with {a.quantization[0]} vs {a.quantization[1]})", file=sys.stderr)
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
