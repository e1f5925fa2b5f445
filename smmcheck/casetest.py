"""Run policies' test cases: small native-syntax configs that must pass, fail, be not
applicable or inconclusive (like ``conftest verify``), for built-in and users' policies.

A test file ``<domain>/<id>.tests.yaml`` sits beside its policy::

    policy: telnet-disabled
    cases:
      - name: vty-with-telnet-fails
        platform: cisco_ios          # optional: detected from the text otherwise
        expect: fail
        evidence_lines: [5]          # optional: the 1-based lines the verdict must cite
        message_contains: "vty 5 15" # optional
        config: |
          hostname sw1
          ...

A gateway (platform ``linux``) is several files and outputs: a case gives them by artifact
name under ``files:`` instead of ``config:`` (``null`` for a file the device does not have),
and may give the SSH banner's ``server_version``::

      - name: root-password-login-fails
        expect: fail
        files:
          sshd-effective: |
            permitrootlogin yes
            ...
          mosquitto-config: null
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, model_validator

from smmcheck.checks import Status
from smmcheck.engine import evaluate
from smmcheck.errors import PolicyError
from smmcheck.frozen import Frozen
from smmcheck.parse import UnsupportedPlatform, parse_bundle, parse_config
from smmcheck.parse.artifacts import Artifact, bundle_text
from smmcheck.policies import PolicySet
from smmcheck.project import Project, check_intent
from smmcheck.yamlfile import LocatedProblem, read_yaml, validate, where


class Case(Frozen):
    """One test case of a policy."""

    name: str
    expect: Status
    config: str | None = None
    files: dict[str, str | None] | None = None
    server_version: str | None = None
    platform: str | None = None
    evidence_lines: list[int] | None = None
    message_contains: str | None = None
    # The smmcheck.yaml intent (zones, services, flows) the case is judged against.
    project: Project | None = None

    @model_validator(mode="after")
    def _one_input(self) -> Case:
        if (self.config is None) == (self.files is None):
            raise ValueError("a test case has exactly one of 'config' or 'files'")
        return self


class CaseFile(Frozen):
    """A policy's test cases."""

    policy: str
    cases: list[Case] = Field(min_length=1)


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case: ``problem`` is None when the case holds."""

    policy: str
    case: str
    problem: str | None


def load_cases(path: Path) -> CaseFile:
    """Read and validate a test cases file."""
    data, text = read_yaml(path, PolicyError)
    cases = validate(CaseFile, data, path, text, PolicyError)
    for case in cases.cases:
        if case.project is not None:
            try:
                check_intent(case.project)
            except LocatedProblem as exc:
                raise PolicyError(
                    f"test case '{case.name}' has an invalid project",
                    where=where(path, exc.token),
                    why=str(exc),
                ) from None
    names = [c.name for c in cases.cases]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise PolicyError(f"test case '{duplicate}' is defined twice", where=str(path))
    return cases


def run_cases(policies: PolicySet, only: set[str] | None = None) -> list[CaseResult]:
    """Run the test cases of every policy (or of the ``only`` IDs); a missing file counts."""
    results: list[CaseResult] = []
    for policy in policies.sorted():
        if only is not None and policy.id not in only:
            continue
        path = policies.test_file(policy.id)
        if path is None:
            results.append(
                CaseResult(
                    policy.id,
                    "(none)",
                    "the policy has no test cases file"
                    f" {policies.origins[policy.id].with_suffix('.tests.yaml')}",
                )
            )
            continue
        case_file = load_cases(path)
        if case_file.policy != policy.id:
            raise PolicyError(
                f"test file names policy '{case_file.policy}'",
                where=str(path),
                why=f"it sits beside '{policy.id}'",
            )
        for case in case_file.cases:
            results.append(
                CaseResult(policy.id, case.name, run_case(policies, policy.id, case, path))
            )
    return results


def run_case(policies: PolicySet, policy_id: str, case: Case, path: Path) -> str | None:
    """Run one case; return what is wrong with the verdict, or None when it holds."""
    source = f"{path.name}#{case.name}"
    try:
        if case.files is not None:
            artifacts = tuple(
                Artifact(name, f"{source}/{name}", text or "", absent=text is None)
                for name, text in case.files.items()
            )
            if case.server_version:
                artifacts += (Artifact("ssh-banner", f"{source}/banner", case.server_version),)
            facts = parse_bundle(
                artifacts,
                source=source,
                sha256=hashlib.sha256(bundle_text(artifacts).encode()).hexdigest(),
                name_hint=case.name,
                platform=case.platform or "linux",
            )
        else:
            assert case.config is not None  # one of the two, by validation
            facts = parse_config(
                case.config, source=source, name_hint=case.name, platform=case.platform
            )
    except UnsupportedPlatform as exc:
        return f"config not parsed: {exc}"
    outcome = evaluate(policies.policies[policy_id], facts, policies.lists, project=case.project)
    if outcome.status != case.expect:
        return f"expected {case.expect}, got {outcome.status}: {outcome.message}"
    if case.evidence_lines is not None:
        cited = sorted({e.line for e in outcome.evidence})
        if cited != sorted(case.evidence_lines):
            return f"expected evidence lines {sorted(case.evidence_lines)}, got {cited}"
    if case.message_contains and case.message_contains not in outcome.message:
        return f"message does not contain {case.message_contains!r}: {outcome.message}"
    return None
