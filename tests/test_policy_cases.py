"""Every test case of every built-in policy, one pytest test each (`pytest -k telnet`)."""

from __future__ import annotations

import pytest

from smmcheck.casetest import load_cases, run_cases
from smmcheck.policies import load_policies

POLICIES = load_policies()
CASES = [
    (pid, case.name)
    for pid in sorted(POLICIES.policies)
    for path in [POLICIES.test_file(pid)]
    if path is not None
    for case in load_cases(path).cases
]


def test_every_policy_has_cases_that_pass_and_fail() -> None:
    for policy_id in POLICIES.policies:
        path = POLICIES.test_file(policy_id)
        assert path is not None, f"{policy_id} has no test cases"
        expected = {case.expect for case in load_cases(path).cases}
        assert {"pass", "fail"} <= expected, f"{policy_id} lacks a pass or a fail case"


@pytest.mark.parametrize(("policy_id", "case_name"), CASES, ids=[f"{p}::{c}" for p, c in CASES])
def test_policy_case(policy_id: str, case_name: str) -> None:
    results = [r for r in run_cases(POLICIES, {policy_id}) if r.case == case_name]
    assert len(results) == 1
    assert results[0].problem is None, results[0].problem
