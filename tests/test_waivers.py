"""Waivers: which failures they cover (name glob, site, category, tags), when they expire
(a UTC date, inclusive), what a malformed file does (an error naming file and line, never
a waiver without an end), orphans, the reports, and `smmcheck waivers lint` as a CI gate.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from smmcheck.checks import Status
from smmcheck.cli.main import main
from smmcheck.errors import WaiverError
from smmcheck.mapping import load_mappings
from smmcheck.policies import PolicySet, load_policies
from smmcheck.results import DeviceRecord, Evidence, Result, SmmPractice, summarise
from smmcheck.runner import CheckOptions, run_check
from smmcheck.waivers import (
    Waiver,
    WaiverFile,
    apply_waivers,
    lint_waivers,
    load_waivers,
    parse_expiry,
    utc_today,
)

TODAY = date(2027, 3, 31)
POLICIES: list[PolicySet] = []


def policies() -> PolicySet:
    if not POLICIES:
        POLICIES.append(load_policies())
    return POLICIES[0]


# --- helpers -------------------------------------------------------------------------------


def device(
    name: str,
    site: str | None = "plant-a",
    category: str | None = "plc",
    tags: tuple[str, ...] = (),
    status: str = "ok",
) -> DeviceRecord:
    return DeviceRecord(
        name=name,
        source=f"{name}.cfg",
        site=site,
        category=category,
        tags=list(tags),
        status="ok" if status == "ok" else "error",
        error=None if status == "ok" else "connection refused",
    )


def result(name: str, status: Status = "fail", policy: str = "telnet-disabled") -> Result:
    return Result(
        device=name,
        policy=policy,
        title="Telnet is disabled on all management lines",
        severity="high",
        status=status,
        message=f"{name}: line vty 0 4 accepts Telnet; expected SSH only.",
        evidence=[Evidence(source=f"{name}.cfg", line=12, text="line vty 0 4")],
        smm=SmmPractice(practice="SMM.AC", practice_title="Access Control", level=1),
        controls={},
        remediation="line vty 0 4\n transport input ssh" if status == "fail" else None,
    )


def waiver(number: int = 1, expires: date = TODAY, **fields: Any) -> Waiver:
    values: dict[str, Any] = {
        "policy": "telnet-disabled",
        "justification": "Vendor firmware cannot disable Telnet",
        "owner": "ot-security@example.com",
        "ticket": "CHG-10442",
        **fields,
    }
    return Waiver(id=f"waivers.yaml#{number}", line=number, expires=expires, **values)


def waived(
    results: list[Result],
    devices: list[DeviceRecord],
    *entries: Waiver,
    today: date = TODAY,
    evaluated: set[str] | None = None,
) -> tuple[list[Result], Any]:
    return apply_waivers(
        results,
        devices,
        WaiverFile(path=Path("waivers.yaml"), entries=list(entries)),
        today,
        evaluated=evaluated,
    )


def status_of(results: list[Result], name: str) -> str:
    return next(r.status for r in results if r.device == name)


ENTRY = """\
waivers:
  - policy: telnet-disabled
    devices: "plc-line3-*"
    justification: Vendor firmware cannot disable Telnet; isolated behind an industrial firewall
    compensating_control: Telnet reachable only from the engineering jump host (ACL ENG-ONLY)
    owner: ot-security@example.com
    ticket: CHG-10442
    expires: {expires}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- matching ------------------------------------------------------------------------------


def test_device_glob_waives_only_the_devices_it_names() -> None:
    devices = [device("plc-line3-01"), device("plc-line3-02"), device("plc-line4-01")]
    results = [result(d.name) for d in devices]
    out, _ = waived(results, devices, waiver(devices=["plc-line3-*"]))
    assert [r.status for r in out] == ["waived", "waived", "fail"]


def test_device_glob_is_case_sensitive() -> None:
    devices = [device("PLC-LINE3-01")]
    out, _ = waived([result("PLC-LINE3-01")], devices, waiver(devices=["plc-line3-*"]))
    assert out[0].status == "fail"


def test_site_selector_waives_only_that_site() -> None:
    devices = [device("plc-01", site="plant-a"), device("plc-02", site="plant-b")]
    out, _ = waived([result("plc-01"), result("plc-02")], devices, waiver(site="plant-b"))
    assert (status_of(out, "plc-01"), status_of(out, "plc-02")) == ("fail", "waived")


def test_category_selector_waives_only_that_category() -> None:
    devices = [device("plc-01", category="plc"), device("sw-01", category="switch")]
    out, _ = waived([result("plc-01"), result("sw-01")], devices, waiver(category="plc"))
    assert (status_of(out, "plc-01"), status_of(out, "sw-01")) == ("waived", "fail")


def test_tags_selector_needs_every_listed_tag_on_the_device() -> None:
    devices = [
        device("plc-01", tags=("legacy", "line3")),
        device("plc-02", tags=("legacy",)),
        device("plc-03", tags=()),
    ]
    results = [result(d.name) for d in devices]
    out, _ = waived(results, devices, waiver(tags=["legacy", "line3"]))
    assert [r.status for r in out] == ["waived", "fail", "fail"]


def test_selectors_must_all_match() -> None:
    devices = [device("plc-line3-01", site="plant-a"), device("plc-line3-02", site="plant-b")]
    results = [result(d.name) for d in devices]
    out, _ = waived(results, devices, waiver(devices=["plc-line3-*"], site="plant-b"))
    assert [r.status for r in out] == ["fail", "waived"]


def test_waiver_covers_only_its_own_policy() -> None:
    devices = [device("plc-01")]
    results = [result("plc-01", policy="ssh-v2-only"), result("plc-01")]
    out, _ = waived(results, devices, waiver(devices=["plc-01"]))
    assert [(r.policy, r.status) for r in out] == [
        ("ssh-v2-only", "fail"),
        ("telnet-disabled", "waived"),
    ]


def test_waived_result_keeps_message_evidence_and_names_the_waiver() -> None:
    devices = [device("plc-01")]
    original = result("plc-01")
    (out,), _ = waived([original], devices, waiver(devices=["plc-01"], compensating_control="ACL"))
    assert out.status == "waived"
    assert out.message == original.message
    assert out.evidence == original.evidence
    assert out.waiver is not None
    assert out.waiver.model_dump() == {
        "id": "waivers.yaml#1",
        "state": "active",
        "expires": "2027-03-31",
        "justification": "Vendor firmware cannot disable Telnet",
        "owner": "ot-security@example.com",
        "approver": None,
        "ticket": "CHG-10442",
        "compensating_control": "ACL",
    }


@pytest.mark.parametrize("status", ["pass", "not_applicable", "inconclusive"])
def test_only_failures_are_ever_touched(status: Status) -> None:
    devices = [device("plc-01")]
    original = result("plc-01", status=status)
    (out,), _ = waived([original], devices, waiver(devices=["plc-01"]))
    assert out == original


def test_a_waiver_never_covers_inconclusive() -> None:
    devices = [device("plc-01"), device("plc-02")]
    results = [result("plc-01", status="inconclusive"), result("plc-02", status="inconclusive")]
    out, summary = waived(results, devices, waiver(devices=["plc-*"]))
    assert [r.status for r in out] == ["inconclusive", "inconclusive"]
    assert all(r.waiver is None for r in out)
    assert summarise(devices, out, "info").exit_code == 3
    assert [o.reason for o in summary.orphans] == [
        "only inconclusive results (a waiver never covers inconclusive)"
    ]


# --- expiry --------------------------------------------------------------------------------


def test_waiver_expiring_today_is_active() -> None:
    devices = [device("plc-01")]
    (out,), summary = waived([result("plc-01")], devices, waiver(devices=["plc-01"]))
    assert out.status == "waived"
    assert (summary.active, summary.expiring_soon, summary.expired) == (1, 1, 0)


def test_waiver_expiring_tomorrow_is_active() -> None:
    devices = [device("plc-01")]
    entry = waiver(devices=["plc-01"], expires=TODAY + timedelta(days=1))
    (out,), _ = waived([result("plc-01")], devices, entry)
    assert out.status == "waived"


def test_waiver_that_expired_yesterday_fails_again_and_says_so() -> None:
    devices = [device("plc-01")]
    entry = waiver(devices=["plc-01"], expires=TODAY - timedelta(days=1))
    (out,), summary = waived([result("plc-01")], devices, entry)
    assert out.status == "fail"
    assert out.waiver is not None and out.waiver.state == "expired"
    assert out.message == (
        "plc-01: line vty 0 4 accepts Telnet; expected SSH only;"
        " waiver waivers.yaml#1 expired on 2027-03-30."
    )
    assert (summary.active, summary.expired, summary.orphans) == (0, 1, [])
    assert summarise(devices, [out], "info").exit_code == 1


def test_an_active_waiver_leaves_exit_code_0_and_counts_as_waived() -> None:
    devices = [device("plc-01")]
    out, _ = waived([result("plc-01")], devices, waiver(devices=["plc-01"]))
    summary = summarise(devices, out, "info")
    assert summary.exit_code == 0
    assert summary.by_status["waived"] == 1
    assert summary.failures_by_severity["high"] == 0


def test_active_waiver_is_preferred_over_an_expired_one() -> None:
    devices = [device("plc-01")]
    old = waiver(1, devices=["plc-01"], expires=date(2026, 12, 31))
    renewed = waiver(2, devices=["plc-*"], expires=date(2027, 9, 30))
    (out,), summary = waived([result("plc-01")], devices, old, renewed)
    assert out.status == "waived"
    assert out.waiver is not None and out.waiver.id == "waivers.yaml#2"
    # The lapsed entry covers nothing any more: it is an orphan to delete.
    assert [(o.id, o.reason) for o in summary.orphans] == [
        ("waivers.yaml#1", "every failure it matches is covered by another waiver")
    ]


def test_among_active_waivers_the_latest_expiry_wins() -> None:
    devices = [device("plc-01")]
    short = waiver(1, devices=["plc-01"], expires=date(2027, 5, 1))
    long = waiver(2, devices=["plc-01"], expires=date(2027, 8, 1))
    (out,), _ = waived([result("plc-01")], devices, short, long)
    assert out.waiver is not None and out.waiver.id == "waivers.yaml#2"


def test_expiring_soon_counts_active_waivers_within_30_days() -> None:
    devices = [device("plc-01")]
    entries = [
        waiver(1, devices=["plc-01"], expires=TODAY + timedelta(days=30)),
        waiver(2, devices=["plc-01"], expires=TODAY + timedelta(days=31)),
        waiver(3, devices=["plc-01"], expires=TODAY - timedelta(days=1)),
    ]
    _, summary = waived([result("plc-01")], devices, *entries)
    assert (summary.active, summary.expiring_soon, summary.expired) == (2, 1, 1)
    assert summary.soon_days == 30


def test_today_is_the_utc_date_whatever_the_local_time_zone() -> None:
    # 20:30 on 31 March in New York is already 00:30 on 1 April in UTC.
    new_york = datetime(2027, 3, 31, 20, 30, tzinfo=ZoneInfo("America/New_York"))
    assert new_york.astimezone(UTC) == datetime(2027, 4, 1, 0, 30, tzinfo=UTC)
    today = utc_today(new_york)
    assert today == date(2027, 4, 1)
    devices = [device("plc-01")]
    entry = waiver(devices=["plc-01"], expires=date(2027, 3, 31))
    (out,), _ = waived([result("plc-01")], devices, entry, today=today)
    assert out.status == "fail"
    assert out.waiver is not None and out.waiver.state == "expired"


def test_a_run_still_on_the_expiry_date_in_utc_is_covered_even_if_tokyo_is_a_day_ahead() -> None:
    tokyo = datetime(2027, 4, 1, 8, 59, tzinfo=ZoneInfo("Asia/Tokyo"))  # 23:59 UTC on 31 March
    today = utc_today(tokyo)
    assert today == date(2027, 3, 31)
    devices = [device("plc-01")]
    entry = waiver(devices=["plc-01"], expires=date(2027, 3, 31))
    (out,), _ = waived([result("plc-01")], devices, entry, today=today)
    assert out.status == "waived"


def test_a_naive_datetime_has_no_utc_date() -> None:
    with pytest.raises(ValueError, match="naive"):
        utc_today(datetime(2027, 3, 31, 12, 0))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2027-13-01", "is not a calendar date"),
        ("2027-02-30", "is not a calendar date"),
        ("31/03/2027", "expected a date YYYY-MM-DD"),
        ("2027-3-31", "expected a date YYYY-MM-DD"),
        ("2027-03-31T10:00:00Z", "not a date and time"),
        ("2027-03-31 10:00", "not a date and time"),
        ("never", "expected a date YYYY-MM-DD"),
        ("", "expected a date YYYY-MM-DD"),
    ],
)
def test_parse_expiry_refuses_anything_but_a_calendar_date(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_expiry(text)


def test_parse_expiry_accepts_a_date_but_not_a_datetime() -> None:
    assert parse_expiry("2027-03-31") == date(2027, 3, 31)
    assert parse_expiry(date(2027, 3, 31)) == date(2027, 3, 31)
    with pytest.raises(ValueError, match="not a date and time"):
        parse_expiry(datetime(2027, 3, 31, 10, 0, tzinfo=UTC))


# --- the file ------------------------------------------------------------------------------


def test_the_issue_example_loads(tmp_path: Path) -> None:
    path = write(tmp_path / "waivers.yaml", ENTRY.format(expires="2027-03-31"))
    (entry,) = load_waivers(path, policies()).entries
    assert entry.id == "waivers.yaml#1"
    assert entry.line == 2
    assert entry.devices == ["plc-line3-*"]
    assert entry.expires == date(2027, 3, 31)
    assert entry.compensating_control is not None


def test_a_numeric_ticket_is_kept_as_text(tmp_path: Path) -> None:
    text = ENTRY.format(expires="2027-03-31").replace("CHG-10442", "10442")
    path = write(tmp_path / "waivers.yaml", text)
    assert load_waivers(path, policies()).entries[0].ticket == "10442"


def test_a_quoted_iso_date_is_the_same_date(tmp_path: Path) -> None:
    path = write(tmp_path / "waivers.yaml", ENTRY.format(expires='"2027-03-31"'))
    assert load_waivers(path, policies()).entries[0].expires == date(2027, 3, 31)


@pytest.mark.parametrize(
    ("expires", "why"),
    [
        ("2027-13-01", "'2027-13-01' is not a calendar date"),
        ("31/03/2027", "expected a date YYYY-MM-DD (UTC), got '31/03/2027'"),
        ("2027-03-31T23:59:59Z", "not a date and time"),
        ("2027-03-31 23:59:59", "not a date and time"),
        ("20270331", "expected a date YYYY-MM-DD (UTC), got 20270331"),
        ("", "expected a date YYYY-MM-DD (UTC), got None"),
        ("!!timestamp 2027-13-01", "malformed YAML"),
    ],
)
def test_malformed_expiry_is_an_error_naming_file_and_line(
    tmp_path: Path, expires: str, why: str
) -> None:
    path = write(tmp_path / "waivers.yaml", ENTRY.format(expires=expires))
    with pytest.raises(WaiverError) as caught:
        load_waivers(path, policies())
    line = caught.value.line()
    assert why in line
    assert line.startswith(f"{path}:")
    if "malformed YAML" not in why:
        assert line.startswith(f"{path}:8: invalid waiver entry 1 (telnet-disabled): 'expires'")


def test_missing_expiry_is_an_error_not_a_permanent_waiver(tmp_path: Path) -> None:
    text = "\n".join(line for line in ENTRY.splitlines() if "expires" not in line) + "\n"
    path = write(tmp_path / "waivers.yaml", text)
    with pytest.raises(WaiverError, match="'expires': required field is missing"):
        load_waivers(path, policies())


@pytest.mark.parametrize(
    ("change", "line", "why"),
    [
        (("policy: telnet-disabled", "policy: telnet-disable"), 2, "unknown policy"),
        (("    justification:", "    #"), 2, "'justification': required field is missing"),
        (("justification: Vendor", 'justification: ""\n    #'), 4, "must not be empty"),
        (("    owner:", "    #"), 2, "'owner': required field is missing"),
        (("    ticket:", "    #"), 2, "'approver' or 'ticket'"),
        (('    devices: "plc-line3-*"', "    #"), 2, "no device selector"),
        (("    ticket:", "    colour: red\n    ticket:"), 7, "'colour': unknown field"),
        (("    owner: ot-security@example.com", "    owner: [a, b]"), 6, "'owner'"),
    ],
)
def test_invalid_entry_is_an_error_naming_file_line_and_problem(
    tmp_path: Path, change: tuple[str, str], line: int, why: str
) -> None:
    text = ENTRY.format(expires="2027-03-31").replace(*change)
    assert text != ENTRY.format(expires="2027-03-31")
    path = write(tmp_path / "waivers.yaml", text)
    with pytest.raises(WaiverError) as caught:
        load_waivers(path, policies())
    assert caught.value.line().startswith(f"{path}:{line}: invalid waiver entry 1")
    assert why in caught.value.line()


def test_unknown_policy_suggests_the_close_one(tmp_path: Path) -> None:
    text = ENTRY.format(expires="2027-03-31").replace("telnet-disabled", "telnet-disable")
    path = write(tmp_path / "waivers.yaml", text)
    with pytest.raises(WaiverError, match="did you mean 'telnet-disabled'"):
        load_waivers(path, policies())


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("- policy: telnet-disabled\n", "expected a mapping with one key, 'waivers:'"),
        ("waiver:\n  - policy: telnet-disabled\n", "unknown field 'waiver'"),
        ("waivers: telnet-disabled\n", "expected a mapping with one key"),
        ("waivers:\n  - [unclosed\n", "malformed YAML"),
    ],
)
def test_file_of_the_wrong_shape_is_an_error(tmp_path: Path, text: str, why: str) -> None:
    path = write(tmp_path / "waivers.yaml", text)
    with pytest.raises(WaiverError, match=why):
        load_waivers(path, policies())


def test_empty_waivers_file_has_no_entries(tmp_path: Path) -> None:
    path = write(tmp_path / "waivers.yaml", "# nothing waived yet\nwaivers: []\n")
    assert load_waivers(path, policies()).entries == []


# --- orphans -------------------------------------------------------------------------------


def test_orphans_say_why_they_cover_nothing() -> None:
    devices = [
        device("plc-01"),
        device("plc-02"),
        device("plc-03"),
        device("plc-dead", status="error"),
    ]
    results = [
        result("plc-01"),
        result("plc-02", status="pass"),
        result("plc-03", status="not_applicable"),
    ]
    entries = [
        waiver(1, devices=["plc-01"]),
        waiver(2, devices=["hmi-*"]),
        waiver(3, devices=["plc-02"]),
        waiver(4, devices=["plc-03"]),
        waiver(5, devices=["plc-dead"]),
    ]
    _, summary = waived(results, devices, *entries)
    assert {o.id: o.reason for o in summary.orphans} == {
        "waivers.yaml#2": "matches no device",
        "waivers.yaml#3": "the policy passes on every device it matches",
        "waivers.yaml#4": "the policy does not apply to any device it matches",
        "waivers.yaml#5": "matches only devices that could not be assessed",
    }


def test_waiver_for_a_policy_the_run_did_not_evaluate_is_not_an_orphan() -> None:
    devices = [device("plc-01")]
    entries = [waiver(1, devices=["plc-01"], policy="ssh-v2-only")]
    _, summary = waived([result("plc-01")], devices, *entries, evaluated={"telnet-disabled"})
    assert summary.orphans == []
    _, summary = waived(
        [result("plc-01")], devices, *entries, evaluated={"telnet-disabled", "ssh-v2-only"}
    )
    assert [o.id for o in summary.orphans] == ["waivers.yaml#1"]


# --- the runner ----------------------------------------------------------------------------

# A cell switch with Telnet accepted on vty 5 15 and nothing else wrong with its lines.
CELL_SWITCH = """\
version 15.2
service timestamps log datetime msec
service password-encryption
!
hostname cell2-ie3000
!
interface Vlan99
 ip address 10.99.2.2 255.255.255.0
!
no ip http server
ip ssh version 2
ip access-list standard MGMT-ONLY
 10 permit 10.99.0.10
 20 deny   any log
!
logging host 10.99.0.20
ntp server 10.99.0.21
!
line con 0
 exec-timeout 5 0
line vty 0 4
 access-class MGMT-ONLY in
 exec-timeout 10 0
 transport input ssh
line vty 5 15
 access-class MGMT-ONLY in
 exec-timeout 10 0
 transport input telnet ssh
!
end
"""


def cell_waiver(expires: str, devices: str = "cell2-*", policy: str = "telnet-disabled") -> str:
    return f"""\
waivers:
  - policy: {policy}
    devices: "{devices}"
    justification: The cell's legacy HMI panel configures the switch over Telnet only
    compensating_control: vty 5 15 accept sessions only from 10.99.0.10 (ACL MGMT-ONLY)
    owner: ot-security@example.com
    approver: plant-manager@example.com
    ticket: CHG-10442
    expires: {expires}
"""


def run_cell(tmp_path: Path, waivers: str, today: date) -> Any:
    config = write(tmp_path / "cell2.cfg", CELL_SWITCH)
    path = write(tmp_path / "waivers.yaml", waivers)
    catalogue = policies()
    options = CheckOptions(
        policies=catalogue,
        mappings=load_mappings(catalogue),
        selected=["telnet-disabled"],
        use_cache=False,
        waivers=path,
        today=today,
    )
    return run_check([config], options)


def test_run_waives_the_failure_while_the_waiver_is_active(tmp_path: Path) -> None:
    report = run_cell(tmp_path, cell_waiver("2027-03-31"), today=date(2027, 3, 31))
    (only,) = report.results
    assert only.status == "waived"
    assert report.summary.exit_code == 0
    assert report.waivers is not None
    assert (report.waivers.active, report.waivers.expired) == (1, 0)


def test_run_fails_again_the_day_after_expiry(tmp_path: Path) -> None:
    report = run_cell(tmp_path, cell_waiver("2027-03-31"), today=date(2027, 4, 1))
    (only,) = report.results
    assert only.status == "fail"
    assert "waiver waivers.yaml#1 expired on 2027-03-31" in only.message
    assert report.summary.exit_code == 1


def test_run_refuses_a_malformed_waivers_file(tmp_path: Path) -> None:
    with pytest.raises(WaiverError, match=r"waivers\.yaml:9: .*'2027-13-01'"):
        run_cell(tmp_path, cell_waiver("2027-13-01"), today=date(2027, 4, 1))


# --- the command line ----------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def utc_in(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def test_check_with_waivers_option_reports_waived_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "cell2.cfg", CELL_SWITCH)
    waivers = write(tmp_path / "w.yaml", cell_waiver(utc_in(90)))
    code, out, err = run(
        capsys,
        "check",
        tmp_path / "cell2.cfg",
        "--policy=telnet-disabled",
        f"--waivers={waivers}",
        "--format=json",
    )
    assert code == 0, err
    report = json.loads(out)
    (only,) = report["results"]
    assert only["status"] == "waived"
    assert only["waiver"]["id"] == "w.yaml#1"
    assert only["waiver"]["state"] == "active"
    assert only["waiver"]["ticket"] == "CHG-10442"
    assert report["summary"]["by_status"]["waived"] == 1
    assert report["waivers"] == {
        "file": str(waivers),
        "active": 1,
        "expiring_soon": 0,
        "expired": 0,
        "soon_days": 30,
        "orphans": [],
    }


def test_check_with_an_expired_waiver_exits_1_and_flags_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "cell2.cfg", CELL_SWITCH)
    waivers = write(tmp_path / "w.yaml", cell_waiver(utc_in(-1)))
    code, out, _ = run(
        capsys, "check", tmp_path / "cell2.cfg", "--policy=telnet-disabled", f"--waivers={waivers}"
    )
    assert code == 1
    assert "waiver expired (w.yaml#1)" in out
    assert "Waivers: 0 active (0 expiring within 30 days), 1 expired, 0 orphans" in out


def test_console_shows_justification_owner_ticket_expiry_and_orphans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "cell2.cfg", CELL_SWITCH)
    waivers = write(
        tmp_path / "w.yaml",
        cell_waiver(utc_in(10))
        + cell_waiver(utc_in(200), devices="hmi-*").removeprefix("waivers:\n"),
    )
    code, out, _ = run(
        capsys,
        "check",
        tmp_path / "cell2.cfg",
        "--policy=telnet-disabled",
        f"--waivers={waivers}",
    )
    assert code == 0
    flat = " ".join(out.split())
    assert "WAIVED" in out
    assert "waived (w.yaml#1): The cell's legacy HMI panel configures" in flat
    assert f"ticket CHG-10442, expires {utc_in(10)} (UTC)" in flat
    assert "Waivers: 2 active (1 expiring within 30 days), 0 expired, 1 orphan" in out
    assert "orphan waiver w.yaml#2 (telnet-disabled): matches no device" in out


def test_waivers_option_overrides_the_project_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "cell2.cfg", CELL_SWITCH)
    write(tmp_path / "expired.yaml", cell_waiver(utc_in(-30)))
    active = write(tmp_path / "active.yaml", cell_waiver(utc_in(30)))
    project = write(tmp_path / "smmcheck.yaml", "waivers: expired.yaml\n")
    argv = ["check", tmp_path / "cell2.cfg", "--policy=telnet-disabled", f"--project={project}"]
    code, _, _ = run(capsys, *argv)
    assert code == 1  # the project's waiver has expired
    code, _, _ = run(capsys, *argv, f"--waivers={active}")
    assert code == 0


def test_check_with_malformed_waivers_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "cell2.cfg", CELL_SWITCH)
    waivers = write(tmp_path / "w.yaml", cell_waiver("31/03/2027"))
    code, out, err = run(capsys, "check", tmp_path / "cell2.cfg", f"--waivers={waivers}")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"smmcheck: error: {waivers}:9: invalid waiver entry 1")
    assert "31/03/2027" in lines[0]
    assert "Traceback" not in err


def test_check_with_a_missing_waivers_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "cell2.cfg", CELL_SWITCH)
    code, _, err = run(capsys, "check", tmp_path / "cell2.cfg", f"--waivers={tmp_path / 'no.yaml'}")
    assert code == 2
    assert "cannot read waivers file" in err


def junit_case(xml_text: str, policy: str) -> ET.Element:
    root = ET.fromstring(xml_text.encode())
    return next(c for c in root.iter("testcase") if c.get("name") == policy)


def test_junit_waived_is_skipped_with_justification_ticket_and_expiry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "cell2.cfg", CELL_SWITCH)
    waivers = write(tmp_path / "w.yaml", cell_waiver(utc_in(90)))
    code, out, _ = run(
        capsys,
        "check",
        tmp_path / "cell2.cfg",
        "--policy=telnet-disabled",
        f"--waivers={waivers}",
        "--format=junit",
    )
    assert code == 0
    case = junit_case(out, "telnet-disabled")
    skipped = case.find("skipped")
    assert skipped is not None and case.find("failure") is None
    message = skipped.get("message", "")
    assert message.startswith("waived: w.yaml#1: The cell's legacy HMI panel")
    assert "ticket CHG-10442" in message
    assert f"expires {utc_in(90)}" in message
    properties = {
        p.get("name"): p.get("value") for p in ET.fromstring(out.encode()).iter("property")
    }
    assert properties["waivers.active"] == "1"
    assert properties["waivers.expired"] == "0"


def test_junit_failure_says_its_waiver_expired(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "cell2.cfg", CELL_SWITCH)
    waivers = write(tmp_path / "w.yaml", cell_waiver(utc_in(-2)))
    code, out, _ = run(
        capsys,
        "check",
        tmp_path / "cell2.cfg",
        "--policy=telnet-disabled",
        f"--waivers={waivers}",
        "--format=junit",
    )
    assert code == 1
    failure = junit_case(out, "telnet-disabled").find("failure")
    assert failure is not None
    assert f"waiver w.yaml#1 expired on {utc_in(-2)}" in failure.get("message", "")
    assert "Expired waiver: w.yaml#1" in (failure.text or "")


# --- waivers lint --------------------------------------------------------------------------


def test_lint_passes_a_clean_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    waivers = write(tmp_path / "w.yaml", cell_waiver(utc_in(100)))
    code, out, err = run(capsys, "waivers", "lint", waivers)
    assert code == 0, out
    assert out == ""
    assert "0 problems" in err


def test_lint_reports_every_problem_with_file_line_and_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        cell_waiver(utc_in(-3), policy="telnet-disable")
        + cell_waiver(utc_in(400))
        .removeprefix("waivers:\n")
        .replace(
            "    justification: The cell's legacy HMI panel configures the switch over Telnet"
            " only\n",
            "",
        )
        + cell_waiver("2027-13-01").removeprefix("waivers:\n")
    )
    waivers = write(tmp_path / "w.yaml", text)
    code, out, _ = run(capsys, "waivers", "lint", waivers)
    assert code == 1
    assert out.splitlines() == [
        f"{waivers}:2: entry 1 (telnet-disable): unknown policy 'telnet-disable'"
        " (hint: did you mean 'telnet-disabled'?)",
        f"{waivers}:9: entry 1 (telnet-disable): expired on {utc_in(-3)} (3 days ago)",
        f"{waivers}:10: entry 2 (telnet-disabled): 'justification': required field is missing",
        f"{waivers}:16: entry 2 (telnet-disabled): expires on {utc_in(400)}, 400 days ahead:"
        " more than --max-days 365",
        f"{waivers}:24: entry 3 (telnet-disabled): 'expires': '2027-13-01' is not a calendar"
        " date (month must be in 1..12)",
    ]


def test_lint_max_days_sets_how_far_ahead_an_expiry_may_be(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    waivers = write(tmp_path / "w.yaml", cell_waiver(utc_in(100)))
    code, out, _ = run(capsys, "waivers", "lint", "--max-days=90", waivers)
    assert code == 1
    assert "100 days ahead: more than --max-days 90" in out
    assert run(capsys, "waivers", "lint", "--max-days=100", waivers)[0] == 0


def test_lint_notes_waivers_expiring_soon_without_failing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    waivers = write(tmp_path / "w.yaml", cell_waiver(utc_in(5)))
    code, out, _ = run(capsys, "waivers", "lint", waivers)
    assert code == 0
    assert (
        out == f"{waivers}:9: entry 1 (telnet-disabled): expires on {utc_in(5)}, in 5 days (note)\n"
    )


def test_lint_of_a_waiver_expiring_today_is_clean(tmp_path: Path) -> None:
    waivers = write(tmp_path / "w.yaml", cell_waiver("2027-03-31"))
    problems, notes = lint_waivers(waivers, policies(), date(2027, 3, 31))
    assert problems == []
    assert [n.text for n in notes] == ["expires on 2027-03-31, in 0 days"]
    problems, _ = lint_waivers(waivers, policies(), date(2027, 4, 1))
    assert [p.text for p in problems] == ["expired on 2027-03-31 (1 day ago)"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("waivers:\n  - [unclosed\n", "malformed YAML"),
        ("- policy: telnet-disabled\n", "expected a mapping with one key"),
    ],
)
def test_lint_of_an_unreadable_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, why: str
) -> None:
    waivers = write(tmp_path / "w.yaml", text)
    code, _, err = run(capsys, "waivers", "lint", waivers)
    assert code == 2
    assert why in err
    assert len(err.splitlines()) == 1


def test_lint_knows_the_ids_of_users_own_policies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = tmp_path / "site-policies" / "access"
    own.mkdir(parents=True)
    (own / "vty-timeout-five-minutes.yaml").write_text(
        (Path(__file__).parent / "data" / "vty-timeout-five-minutes.yaml").read_text()
    )
    waivers = write(
        tmp_path / "w.yaml", cell_waiver(utc_in(100), policy="vty-timeout-five-minutes")
    )
    code, out, _ = run(capsys, "waivers", "lint", waivers)
    assert code == 1
    assert "unknown policy 'vty-timeout-five-minutes'" in out
    code, out, _ = run(
        capsys, "waivers", "lint", f"--policies={tmp_path / 'site-policies'}", waivers
    )
    assert code == 0, out


def test_lint_accepts_the_demo_waivers_except_their_dates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    demo = Path(__file__).resolve().parent.parent / "fixtures" / "demo" / "waivers.yaml"
    code, out, _ = run(capsys, "waivers", "lint", "--max-days=100000", demo)
    assert code == 1
    (problem,) = out.splitlines()
    assert "entry 2 (telnet-disabled): expired on 2025-09-30" in problem
