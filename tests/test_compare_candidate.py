"""The selection rule of training/compare_candidate.py on the committed evaluation reports:
v2 over v1 is selected (it improved every missed goal and lost nothing), the reverse and a
model against itself are not."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _load_module():
    spec = importlib.util.spec_from_file_location(
        "compare_candidate", ROOT / "training" / "compare_candidate.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cc = _load_module()


def _report(tag: str) -> dict:
    return json.loads((RESULTS / f"quality_eval_{tag}.json").read_text(encoding="utf-8"))


def test_v2_over_v1_is_selected_and_not_the_reverse() -> None:
    v1, v2 = _report("v1"), _report("v2")
    ok, lines = cc.compare(v1, v2)
    assert ok, lines
    ok, lines = cc.compare(v2, v1)
    assert not ok
    assert any("border_10%" in line and "lost" in line for line in lines)


def test_a_model_against_itself_improves_nothing() -> None:
    v2 = _report("v2")
    ok, lines = cc.compare(v2, copy.deepcopy(v2))
    assert not ok
    assert "2. missed goals improved: none" in lines


def test_losing_two_photos_on_an_edit_rejects_an_otherwise_better_candidate() -> None:
    v2 = _report("v2")
    better = copy.deepcopy(v2)
    nh = better["methods"]["nhkit"]
    nh["distinct"]["min"] = 20  # closest pair goal now met
    rate = nh["transforms"]["rotate_5"]["match_zero_fp"]
    nh["transforms"]["rotate_5"]["match_zero_fp"] = rate - 2 / v2["n_photos"]
    ok, lines = cc.compare(v2, better)
    assert not ok
    assert any(line.startswith("3.") and "rotate_5" in line for line in lines)
    nh["transforms"]["rotate_5"]["match_zero_fp"] = rate - 1 / v2["n_photos"]
    ok, lines = cc.compare(v2, better)
    assert ok, lines


def test_reports_on_different_photos_are_refused() -> None:
    v2 = _report("v2")
    other = copy.deepcopy(v2)
    other["photos"] = other["photos"][1:]
    with pytest.raises(ValueError, match="same photos"):
        cc.compare(v2, other)


def _quant() -> dict:
    return json.loads((RESULTS / "quantization.json").read_text(encoding="utf-8"))


def _row(report: dict, variant: str) -> dict:
    return next(
        r
        for r in report["rows"]
        if r["variant"] == variant and r["recipe"] in ("after", "unchanged")
    )


def test_a_missed_drift_goal_improved_selects_and_a_met_one_lost_rejects() -> None:
    v2, q2 = _report("v2"), _quant()
    ok, lines = cc.compare(v2, copy.deepcopy(v2), (q2, copy.deepcopy(q2)))
    assert not ok and "2. missed goals improved: none" in lines
    goals = cc.quantization_goals(q2)
    missed = next(k for k, (met, _) in goals.items() if not met and k[1] == "mean")
    met = next(k for k, (ok_, _) in goals.items() if ok_ and k[1] == "mean")
    better = copy.deepcopy(q2)
    _row(better, missed[0])["mean"] = q2["goals"][missed[0]]["mean"]  # now exactly at the goal
    ok, lines = cc.compare(v2, copy.deepcopy(v2), (q2, better))
    assert ok, lines
    assert f"{missed[0]} mean" in next(line for line in lines if line.startswith("2."))
    worse = copy.deepcopy(better)
    _row(worse, met[0])["mean"] = q2["goals"][met[0]]["mean"] + 0.05
    ok, lines = cc.compare(v2, copy.deepcopy(v2), (q2, worse))
    assert not ok
    assert any(line.startswith("4.") and f"{met[0]} mean" in line for line in lines)


def test_drift_on_tuning_photos_cannot_select_a_model() -> None:
    v2, q2 = _report("v2"), _quant()
    tuning = copy.deepcopy(q2)
    tuning["measured_on"] = "train"
    with pytest.raises(ValueError, match="tuning photos"):
        cc.compare(v2, copy.deepcopy(v2), (q2, tuning))


def test_a_variant_measured_in_one_report_only_is_named_and_not_judged() -> None:
    """A variant added to the export after a candidate's report (tflite-int16x8 after v5q's)
    neither rejects nor selects it, and the verdict line says it was left out."""
    v2, q2 = _report("v2"), _quant()
    older = copy.deepcopy(q2)
    gone = next(iter(older["goals"]))
    del older["goals"][gone]
    older["rows"] = [r for r in older["rows"] if r["variant"] != gone]
    for current, candidate in ((q2, older), (older, q2)):
        ok, lines = cc.compare(v2, copy.deepcopy(v2), (current, candidate))
        rule4 = next(line for line in lines if line.startswith("4."))
        assert f"not judged: {gone}" in rule4, rule4
        assert "lost" not in rule4 and "2. missed goals improved: none" in lines
