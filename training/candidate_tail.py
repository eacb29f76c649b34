#!/usr/bin/env python3
"""Where each candidate's zero-FP figures come from: the bulk or the tail.

The issue-12 goals are read at the zero-false-positive threshold, which one closest distinct pair
sets. This table puts that pair next to the bulk of the distinct distribution (p0.1, p1, median)
and next to the 10 %-crop distances, and gives the crop match rate at three thresholds (zero FP,
p0.1, p1), so a phase's result can be told apart: did crops come closer, or did one look-alike
pair move? Reads only `benchmarks/results/quality_{eval,fresh}_<tag>.json`.

usage: candidate_tail.py [--edit crop_10%] [TAG ...]     (default: every tag with a results file)
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys

import numpy as np

RESULTS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "results"
)
SETS = {"eval": "split_v2", "fresh": "fresh set"}


def tags_with_results() -> list[str]:
    """Every tag that has a quality_eval_ or quality_fresh_ results file, in version order."""
    found = set()
    for p in glob.glob(os.path.join(RESULTS, "quality_*_*.json")):
        m = re.fullmatch(r"quality_(eval|fresh)_(.+)\.json", os.path.basename(p))
        if m:
            found.add(m.group(2))

    def order(t: str) -> tuple[int, str]:
        m = re.match(r"v(\d+)", t)
        return (int(m.group(1)) if m else 1 << 30, t)

    return sorted(found, key=order)


def row(path: str, edit: str) -> str:
    res = json.load(open(path))
    nh = res["methods"]["nhkit"]
    d = nh["distinct"]
    if edit not in nh["transforms"]:
        raise SystemExit(f"{path}: no edit {edit!r} (it has {', '.join(nh['transforms'])})")
    e = np.asarray(nh["transforms"][edit]["distances"])
    at = [np.mean(e <= t) for t in (nh["threshold_zero_fp"], d["p0.1"], d["p1"])]
    return (
        f"| {d['min']} | {d['p0.1']:.0f} | {d['p1']:.0f} | {d['median']:.0f} | {e.mean():.2f} | "
        f"{np.percentile(e, 90):.0f} | " + " | ".join(f"{v * 100:.1f} %" for v in at) + " |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tags", nargs="*", help="result tags (v2, v10k, ...); default: all")
    ap.add_argument("--edit", default="crop_10%", help="edit whose distances are tabled")
    a = ap.parse_args()
    tags = a.tags or tags_with_results()
    print(
        f"| set | model | closest | p0.1 | p1 | median | {a.edit} mean | p90 "
        "| match @ zero FP | @ p0.1 | @ p1 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    missing = []
    for s, name in SETS.items():
        for t in tags:
            p = os.path.join(RESULTS, f"quality_{s}_{t}.json")
            if os.path.exists(p):
                print(f"| {name} | {t} " + row(p, a.edit))
            elif a.tags:
                missing.append(os.path.relpath(p))
    if missing:
        print("no results file: " + ", ".join(missing), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
