"""Every test case of every built-in policy, one pytest test each (`pytest -k telnet`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smmcheck.casetest import Case, load_cases, run_case
from smmcheck.policies import load_policies

POLICIES = load_policies()
CASES: list[tuple[str, Case, Path]] = [
    (pid, case, path)
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


@pytest.mark.parametrize(
    ("policy_id", "case", "path"), CASES, ids=[f"{p}::{c.name}" for p, c, _ in CASES]
)
def test_policy_case(policy_id: str, case: Case, path: Path) -> None:
    problem = run_case(POLICIES, policy_id, case, path)
    assert problem is None, problem
