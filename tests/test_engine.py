"""The engine's three-valued logic: unknown is never a pass."""

from __future__ import annotations

from typing import Any

import pytest

from smmcheck.engine import evaluate
from smmcheck.facts import Credential, DeviceFacts, Endpoint, MgmtLine, Secret, SourceLine
from smmcheck.policies import Policy, load_policies

POLICIES = load_policies()
LISTS = POLICIES.lists


def _facts(**fields: Any) -> DeviceFacts:
    base: dict[str, Any] = {
        "device": "sw1",
        "platform": "cisco_ios",
        "source": "sw1.cfg",
        "sha256": "0" * 64,
        "line_count": 40,
    }
    return DeviceFacts(**(base | fields))


def _vty(label: str, line: int, **fields: Any) -> MgmtLine:
    evidence = (SourceLine(source="sw1.cfg", line=line, text=label),)
    return MgmtLine(label=label, kind="vty", evidence=evidence, **fields)


def _policy(policy_id: str) -> Policy:
    return POLICIES.policies[policy_id]


def test_unknown_field_makes_all_check_inconclusive() -> None:
    facts = _facts(
        management_lines=(
            _vty("line vty 0 4", 3, telnet_accepted=False),
            _vty("line vty 5 15", 6, telnet_accepted=None),
        )
    )
    outcome = evaluate(_policy("telnet-disabled"), facts, LISTS)
    assert outcome.status == "inconclusive"
    assert [e.line for e in outcome.evidence] == [6]


def test_a_failing_item_wins_over_an_unknown_one() -> None:
    facts = _facts(
        management_lines=(
            _vty("line vty 0 4", 3, telnet_accepted=True),
            _vty("line vty 5 15", 6, telnet_accepted=None),
        )
    )
    outcome = evaluate(_policy("telnet-disabled"), facts, LISTS)
    assert outcome.status == "fail"
    assert [e.line for e in outcome.evidence] == [3]
    assert "1 of 2 remote management entry points" in outcome.message


def test_unknown_fact_family_is_inconclusive() -> None:
    outcome = evaluate(_policy("logging-remote"), _facts(logging_hosts=None), LISTS)
    assert outcome.status == "inconclusive"
    assert "cannot establish 'logging_hosts'" in outcome.message


def test_absence_fails_with_whole_file_evidence() -> None:
    outcome = evaluate(_policy("ntp-configured"), _facts(ntp_servers=()), LISTS)
    assert outcome.status == "fail"
    assert [(e.line, e.text) for e in outcome.evidence] == [(0, "(no ntp servers in 40 lines)")]


def test_pass_on_truncated_config_becomes_inconclusive() -> None:
    host = Endpoint(label="logging host 10.0.0.1", address="10.0.0.1")
    facts = _facts(
        logging_hosts=(host,),
        complete=False,
        incomplete_reason="the configuration has no final 'end' line",
    )
    outcome = evaluate(_policy("logging-remote"), facts, LISTS)
    assert outcome.status == "inconclusive"
    assert "a pass cannot be established" in outcome.message


def test_fail_resting_on_lines_stays_fail_on_truncated_config() -> None:
    facts = _facts(
        management_lines=(_vty("line vty 0 4", 3, telnet_accepted=True),),
        complete=False,
        incomplete_reason="truncated",
    )
    assert evaluate(_policy("telnet-disabled"), facts, LISTS).status == "fail"


def test_absence_on_truncated_config_is_inconclusive() -> None:
    # The missing lines could be the very 'ntp server' lines the policy looks for.
    facts = _facts(ntp_servers=(), complete=False, incomplete_reason="truncated")
    outcome = evaluate(_policy("ntp-configured"), facts, LISTS)
    assert outcome.status == "inconclusive"
    assert "an absence cannot be established" in outcome.message


def test_policy_for_other_platform_is_not_applicable() -> None:
    # session-timeout judges IOS and NX-OS lines only; a gateway's login services have none.
    facts = _facts(platform="linux", management_lines=())
    assert evaluate(_policy("session-timeout"), facts, LISTS).status == "not_applicable"


def test_snmp_v3_only_is_not_applicable_without_snmp() -> None:
    facts = _facts(snmp_communities=(), snmp_groups=())
    assert evaluate(_policy("snmp-v3-only"), facts, LISTS).status == "not_applicable"


@pytest.mark.parametrize(
    ("storage_type", "value", "status"),
    [
        ("0", "cisco", "fail"),
        ("7", "0822455D0A16", "fail"),  # type 7 of 'cisco'
        ("0", "Xq7-unique-9f", "pass"),
        ("9", "$9$xxxxSECRETxxxxxxxxxxx", "inconclusive"),  # redacted by a backup tool
    ],
)
def test_default_credentials_by_storage_type(storage_type: str, value: str, status: str) -> None:
    credential = Credential(
        label="username admin",
        kind="user",
        username="admin",
        form="password",
        secret=Secret(storage_type=storage_type, value=value),
    )
    outcome = evaluate(_policy("no-default-credentials"), _facts(credentials=(credential,)), LISTS)
    assert outcome.status == status
    if status == "fail":
        # The matched default is public knowledge and is named; the stored form is not.
        assert "'cisco'" in outcome.message
        assert "0822455D0A16" not in outcome.message
    else:
        assert value not in outcome.message
