"""Parsers: config in, facts out (golden files), plus the traps of IOS syntax."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from smmcheck.parse import UnsupportedPlatform, parse_config
from smmcheck.parse.detect import detect_platform
from smmcheck.parse.redact import redact

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", ["ios_branch"])
def test_facts_match_golden_file(name: str) -> None:
    text = (GOLDEN / f"{name}.cfg").read_text()
    facts = parse_config(text, source=f"{name}.cfg", name_hint=name)
    actual = json.loads(facts.model_dump_json())
    golden = GOLDEN / f"{name}.facts.json"
    if os.environ.get("SMMCHECK_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    assert actual == json.loads(golden.read_text())


def test_banner_body_is_not_configuration() -> None:
    text = (GOLDEN / "ios_branch.cfg").read_text()
    facts = parse_config(text, source="b.cfg", name_hint="b")
    assert facts.management_lines is not None
    vty = [line for line in facts.management_lines if line.kind == "vty"]
    # The banner quotes 'line vty 0 4 / transport input telnet' (lines 55-57): not a line.
    assert [v.label for v in vty] == ["line vty 0 4", "line vty 5 15"]
    assert vty[0].transport_input == ("ssh",)
    assert all(e.line > 58 for v in vty for e in v.evidence)


def test_line_numbers_are_one_based_and_point_at_the_text() -> None:
    text = (GOLDEN / "ios_branch.cfg").read_text()
    lines = text.splitlines()
    facts = parse_config(text, source="b.cfg", name_hint="b")
    assert facts.ssh is not None
    (evidence,) = facts.ssh.evidence
    assert lines[evidence.line - 1] == "ip ssh version 2"


def test_secrets_are_redacted_from_evidence_but_kept_for_checks() -> None:
    text = (GOLDEN / "ios_branch.cfg").read_text()
    facts = parse_config(text, source="b.cfg", name_hint="b")
    dumped = json.dumps([e.model_dump() for c in facts.credentials or () for e in c.evidence])
    dumped += json.dumps([e.model_dump() for c in facts.snmp_communities or () for e in c.evidence])
    for secret in (
        "0822455D0A16",
        "Pl4ntAdm1n!",
        "$1$mERr",
        "n0t-Publ1c",
        "trapcomm",
        "05080F1C2243",
    ):
        assert secret not in dumped
    enable = next(c for c in facts.credentials or () if c.label.startswith("enable password"))
    assert (enable.secret.storage_type, enable.secret.value) == ("7", "0822455D0A16")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "username a privilege 15 secret 9 $9$abc$def",
            "username a privilege 15 secret 9 <redacted>",
        ),
        ("enable password cisco", "enable password <redacted>"),
        (" password 7 05080F1C2243", " password 7 <redacted>"),
        ("snmp-server community public RO 10", "snmp-server community <redacted> RO 10"),
        (
            "snmp-server host 10.1.1.1 vrf M informs version 2c comm",
            "snmp-server host 10.1.1.1 vrf M informs version 2c <redacted>",
        ),
        ("tacacs-server key 7 1234ABCD", "tacacs-server key 7 <redacted>"),
        (" key-string 7 0011223344", " key-string 7 <redacted>"),
        (
            "snmp-server user u g v3 auth sha AUTHPASS priv aes 128 PRIVPASS",
            "snmp-server user u g v3 auth sha <redacted> priv aes 128 <redacted>",
        ),
        ("service password-encryption", "service password-encryption"),
    ],
)
def test_redaction(line: str, expected: str) -> None:
    assert redact(line) == expected


@pytest.mark.parametrize(
    ("text", "platform"),
    [
        ("version 15.2\nhostname a\nline vty 0 4\nend\n", "cisco_ios"),
        ("!Command: show running-config\nversion 9.3(3)\nfeature telnet\n", "cisco_nxos"),
        (": Saved\nASA Version 9.8(4)\nhostname fw\n", "cisco_asa"),
        ("set system host-name r1\nset interfaces ge-0/0/0 unit 0\n", "juniper_junos"),
        ("The quick brown fox.\n", None),
    ],
)
def test_platform_detection(text: str, platform: str | None) -> None:
    assert detect_platform(text) == platform


def test_unsupported_platform_is_explained() -> None:
    with pytest.raises(UnsupportedPlatform, match="cisco_asa is not supported yet"):
        parse_config(": Saved\nASA Version 9.8(4)\nhostname fw\n", source="fw", name_hint="fw")


def test_truncated_config_is_marked_incomplete() -> None:
    facts = parse_config(
        "version 17.9\nhostname a\nline vty 0 4\n transport input ssh\n", source="a", name_hint="a"
    )
    assert facts.complete is False
    assert "no final 'end'" in (facts.incomplete_reason or "")


def test_hostname_absent_uses_file_stem() -> None:
    facts = parse_config("version 17.9\nline vty 0 4\nend\n", source="x/sw9.cfg", name_hint="sw9")
    assert facts.device == "sw9"
