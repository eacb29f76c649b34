"""Every Python parser and reader under hypothesis: arbitrary input gives a result or an
NhkitError, never another exception (targets in tests/fuzz_targets.py).

A short deterministic profile (derandomized, 25 examples a target) so the suite stays fast
and repeatable; `python benchmarks/fuzz.py` runs the same targets for long and writes
benchmarks/results/fuzz.md."""

from __future__ import annotations

import pytest
from fuzz_targets import TARGETS, Target, check
from hypothesis import HealthCheck, given, settings

PROFILE = settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_reader_fails_only_with_nhkit_errors(target: Target) -> None:
    @PROFILE
    @given(target.strategy())
    def run(value: object) -> None:
        check(target, value)

    run()
