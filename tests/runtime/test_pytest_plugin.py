"""The nhkit_golden pytest plugin, driven through pytester like a user's test suite would be."""

from __future__ import annotations

import json

import pytest

# Imported here, outside the inner runs: pytester restores sys.modules after each run, so a
# module first imported inside one would be imported (and assertion-rewritten) again every run.
import nhkit.runtime.golden  # noqa: F401
import nhkit.runtime.hasher  # noqa: F401
from nhkit.runtime.jsonfile import load_schema

load_schema("golden-set.v1.schema.json")
pytest_plugins = ["pytester"]

# The user's test module. Hashes come from fixed projections so every run is instant; the
# environment says which bits to flip (negate) to simulate a changed model.
USER_TESTS = """
import os
import numpy as np
import pytest
from nhkit.runtime.hasher import HashResult
from nhkit.runtime.hashing import bits_from_projections, bits_to_hex, fragile_mask
from nhkit.runtime.spec import Spec

SPEC = Spec(fragile_margin=0.1)
# bits 0..9 are fragile (|p| < 0.1), the rest are not
BASE = np.concatenate([np.linspace(-0.09, 0.09, 10), np.linspace(0.2, 1.0, 86) *
                       np.where(np.arange(86) % 2, 1.0, -1.0)])


def result(image, flips=()):
    p = BASE * (1.0 + 0.01 * image)
    p = p.copy()
    for i in flips:
        p[i] = -p[i]
    bits = bits_from_projections(p)
    return HashResult(hex=bits_to_hex(bits), bits=bits, projections=p,
                      fragile=fragile_mask(p, SPEC.fragile_margin),
                      embedding=np.zeros(128, np.float32))


def flips(name):
    text = os.environ.get(name, "")
    return [int(x) for x in text.split(",") if x]


def ids():
    return os.environ.get("IDS", "cat,dog,bird").split(",")


class FakeHasher:
    spec = SPEC


def test_hashes(golden_hashes):
    golden_hashes.check({i: result(n, flips("FLIP_" + i)) for n, i in enumerate(ids())},
                        spec=SPEC)
    if os.environ.get("CRASH"):
        raise RuntimeError("crashed after checking")


@pytest.mark.golden(tolerance=5, ignore_fragile=True)
def test_lenient(golden_hashes):
    golden_hashes.check_image("cat", result(0, flips("FLIP_cat")), spec=SPEC)
"""


@pytest.fixture(autouse=True)
def only_this_plugin(monkeypatch):
    """Inner runs load just this plugin (see run()), not every installed one: that keeps each
    run fast. test_plugin_registered_by_entry_point covers loading through the entry point."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "-p",
        "nhkit.runtime.pytest_plugin",
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        *args,
    )


@pytest.fixture()
def suite(pytester: pytest.Pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    return pytester


def _golden(pytester: pytest.Pytester, name: str = "test_hashes"):
    return pytester.path / "golden" / "test_user" / f"{name}.json"


def test_missing_golden_file_fails_without_update(suite):
    res = run(suite)
    res.assert_outcomes(failed=2)
    res.stdout.fnmatch_lines(
        [
            "*golden file golden/test_user/test_hashes.json does not exist; "
            "run `pytest --golden-update` to create it*"
        ]
    )
    assert not _golden(suite).exists()


def test_update_writes_then_plain_run_passes(suite):
    res = run(suite, "--golden-update")
    res.assert_outcomes(passed=2)
    res.stdout.fnmatch_lines(
        ["*nhkit golden files*", "golden/test_user/test_hashes.json: created (3 images)"]
    )
    obj = json.loads(_golden(suite).read_text())
    assert obj["format"] == "nhkit-golden" and [i["id"] for i in obj["images"]] == [
        "cat",
        "dog",
        "bird",
    ]
    assert obj["spec"]["fragile_margin"] == 0.1
    assert _golden(suite, "test_lenient").exists()
    run(suite).assert_outcomes(passed=2)


def test_fragile_flips_within_tolerance_pass(suite, monkeypatch):
    run(suite, "--golden-update").assert_outcomes(passed=2)
    monkeypatch.setenv("FLIP_dog", "3,4")  # two fragile bits, default tolerance 2
    run(suite, "-k", "test_hashes").assert_outcomes(passed=1)


def test_failure_lists_flipped_bits_with_margins(suite, monkeypatch):
    run(suite, "--golden-update").assert_outcomes(passed=2)
    monkeypatch.setenv("FLIP_dog", "40")  # one non-fragile bit
    monkeypatch.setenv("FLIP_bird", "1,2,5")  # three fragile bits: over tolerance 2
    res = run(suite, "-k", "test_hashes")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(
        [
            "*golden hashes differ from golden/test_user/test_hashes.json (lossless <= 2 bits, "
            "lossy <= 6 bits, non-fragile flips <= 0*",
            "*dog: 1 bit(s) flipped (1 outside the fragile mask, 0 allowed)*",
            "*bit 40: margin 0.487* (NOT fragile), golden -0.487* -> now +0.487*",
            "*bird: 3 bit(s) flipped (tolerance 2)*",
            "*bit  1: margin 0.0* (fragile), golden*",
            "*2 of 3 image(s) differ; run `pytest --golden-update` if the change is intended*",
        ]
    )
    assert "cat:" not in res.stdout.str()


def test_marker_tolerance_and_ignore_fragile(suite, monkeypatch):
    run(suite, "--golden-update").assert_outcomes(passed=2)
    monkeypatch.setenv("FLIP_cat", "20,21,22,23")  # four non-fragile flips
    res = run(suite)
    res.assert_outcomes(passed=1, failed=1)  # test_lenient (tolerance 5, ignore fragile) passes
    res.stdout.fnmatch_lines(["*FAILED test_user.py::test_hashes*"])


def test_ini_tolerance_applies(suite, monkeypatch):
    run(suite, "--golden-update").assert_outcomes(passed=2)
    suite.makeini("[pytest]\ngolden_tolerance = 3\n")
    monkeypatch.setenv("FLIP_dog", "1,2,3")
    run(suite, "-k", "test_hashes").assert_outcomes(passed=1)


def test_update_refreshes_only_when_changed(suite, monkeypatch):
    run(suite, "--golden-update").assert_outcomes(passed=2)
    path = _golden(suite)
    before = path.read_bytes()
    res = run(suite, "--golden-update", "-k", "test_hashes")
    assert "nhkit golden files" not in res.stdout.str() and path.read_bytes() == before
    monkeypatch.setenv("FLIP_dog", "50")
    monkeypatch.setenv("IDS", "cat,dog,fish")
    res = run(suite, "--golden-update", "-k", "test_hashes")
    res.stdout.fnmatch_lines(
        ["*test_hashes.json: updated (1 hash(es) changed, 1 added, 1 removed)"]
    )
    assert [i["id"] for i in json.loads(path.read_text())["images"]] == ["cat", "dog", "fish"]
    run(suite, "-k", "test_hashes").assert_outcomes(passed=1)


def test_crashed_test_does_not_write_golden(suite, monkeypatch):
    monkeypatch.setenv("CRASH", "1")
    run(suite, "--golden-update", "-k", "test_hashes").assert_outcomes(failed=1)
    assert not _golden(suite).exists()


def test_new_and_unchecked_ids(suite, monkeypatch):
    run(suite, "--golden-update").assert_outcomes(passed=2)
    monkeypatch.setenv("IDS", "cat,dog,fish")
    res = run(suite, "-k", "test_hashes")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(
        ["*fish: not in the golden file (run `pytest --golden-update` to add it)*"]
    )
    monkeypatch.setenv("IDS", "cat,dog")
    res = run(suite, "-k", "test_hashes")
    res.assert_outcomes(passed=1, warnings=1)
    res.stdout.fnmatch_lines(["*GoldenUnusedWarning*golden image(s) not checked*bird*"])


def test_corrupt_golden_file_is_a_clear_failure(suite):
    run(suite, "--golden-update").assert_outcomes(passed=2)
    path = _golden(suite)
    path.write_text(path.read_text()[:200])
    res = run(suite, "-k", "test_hashes")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(
        ["*golden file is not usable: *test_hashes.json: not valid JSON*truncated*"]
    )
    # --golden-update repairs it
    run(suite, "--golden-update", "-k", "test_hashes").assert_outcomes(passed=1)
    run(suite, "-k", "test_hashes").assert_outcomes(passed=1)


def test_spec_mismatch_fails(suite):
    run(suite, "--golden-update").assert_outcomes(passed=2)
    path = _golden(suite)
    obj = json.loads(path.read_text())
    obj["spec"]["orientation"] = "ignore"
    path.write_text(json.dumps(obj))
    res = run(suite, "-k", "test_hashes")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(["*was made under spec*'orientation': 'ignore'*"])


def test_update_needs_projections_and_spec(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_other="""
from nhkit.runtime.hasher import HashResult
from nhkit.runtime.spec import Spec

def test_hex(golden_hashes):
    golden_hashes.check({"a": "0" * 24}, spec=Spec())

def test_no_spec(golden_hashes, request):
    import numpy as np
    p = np.ones(96)
    golden_hashes.check({"a": HashResult(hex="f" * 24, bits=np.ones(96, np.uint8),
                        projections=p, fragile=np.zeros(96, bool),
                        embedding=np.zeros(128, np.float32))})
"""
    )
    res = run(pytester, "--golden-update")
    res.assert_outcomes(failed=2)
    res.stdout.fnmatch_lines(
        [
            "*a: --golden-update needs a HashResult (with projections)*",
            "*spec=... is needed to write a new golden file*",
        ]
    )


def test_plugin_registered_by_entry_point(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    res = pytester.runpytest("--help")
    res.stdout.fnmatch_lines(["*--golden-update*"])
