"""SMM maturity: level derivation per device, roll-ups per category and site, profiles,
attestations and the gap table, on results built here and on the demo plant."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from smmcheck.attestations import Attestation, load_attestations
from smmcheck.cli.main import main
from smmcheck.errors import UsageError
from smmcheck.mapping import SmmCatalogue, load_mappings
from smmcheck.maturity import GapRow, MaturityReport, assess_maturity, walk_levels
from smmcheck.policies import load_policies
from smmcheck.profiles import Profile, builtin_profiles, load_profile
from smmcheck.results import (
    DeviceRecord,
    Report,
    Result,
    RunInfo,
    SmmPractice,
    Summary,
    ToolInfo,
)

TODAY = dt.date(2026, 11, 25)
AC = "SMM.ENB.IAM.AC"
ACCM = "SMM.ENB.AP.ACCM"
TMOD = "SMM.GOV.TM.TMOD"


@pytest.fixture(scope="module")
def smm() -> SmmCatalogue:
    return load_mappings(load_policies()).smm


def result(device: str, policy: str, status: str, level: int, practice: str = AC) -> Result:
    return Result.model_validate(
        {
            "device": device,
            "policy": policy,
            "title": policy,
            "severity": "high",
            "status": status,
            "message": f"{device}: {policy} {status}",
            "evidence": [],
            "smm": SmmPractice(practice=practice, practice_title="t", level=level),
            "controls": {},
        }
    )


def device(name: str, category: str | None = "switch", site: str = "a") -> DeviceRecord:
    return DeviceRecord(
        name=name, source=f"{name}.cfg", platform="cisco_ios", site=site, category=category
    )


def report(devices: list[DeviceRecord], results: list[Result]) -> Report:
    return Report(
        tool=ToolInfo(version="test"),
        run=RunInfo(
            started="2026-11-25T00:00:00Z",
            finished="2026-11-25T00:00:01Z",
            command="smmcheck check",
            fail_on="info",
            policies=3,
            frameworks=[],
        ),
        devices=devices,
        results=results,
        summary=Summary(
            devices=len(devices),
            devices_in_error=0,
            results=len(results),
            by_status={},
            failures_by_severity={},
            exit_code=0,
        ),
    )


def profile(targets: dict[str, int] | None = None, **domains: int) -> Profile:
    return Profile.model_validate(
        {
            "profile": {"id": "t", "title": "test"},
            "defaults": {"SMM.GOV": 2, "SMM.ENB": 2, "SMM.HRD": 2, **domains},
            "categories": {"switch": {"practices": targets or {}}},
        }
    )


def attestation(practice: str, level: int, **extra: object) -> Attestation:
    return Attestation.model_validate(
        {
            "practice": practice,
            "level": level,
            "statement": "s",
            "document": "DOC-1",
            "attested_by": "ciso@example.com",
            "date": dt.date(2026, 1, 1),
            "expires": dt.date(2027, 1, 1),
            **extra,
        }
    )


def row(maturity: MaturityReport, practice: str, category: str = "switch") -> GapRow:
    found = next(c for c in maturity.categories if c.category == category)
    return next(r for r in found.rows if r.practice == practice)


def assess(
    devices: list[DeviceRecord],
    results: list[Result],
    smm: SmmCatalogue,
    prof: Profile | None = None,
    attestations: list[Attestation] | None = None,
    today: dt.date = TODAY,
) -> MaturityReport:
    return assess_maturity(
        report(devices, results),
        smm,
        prof or profile(),
        profile_source="test",
        attestations=attestations or [],
        today=today,
    )


# --- one device ---------------------------------------------------------------------------


def test_levels_are_walked_lowest_first_and_stop_at_the_first_gap() -> None:
    assert walk_levels([]) == (None, [])
    passing = [result("d", "a", "pass", 1), result("d", "b", "pass", 2)]
    assert walk_levels(passing)[0] == 2
    level, blockers = walk_levels([result("d", "a", "fail", 1), result("d", "b", "pass", 2)])
    assert level == 0 and [b.policy for b in blockers] == ["a"]
    level, blockers = walk_levels([result("d", "a", "pass", 1), result("d", "b", "fail", 2)])
    assert level == 1 and [b.policy for b in blockers] == ["b"]


def test_inconclusive_stops_the_walk_and_waived_does_not() -> None:
    level, blockers = walk_levels(
        [result("d", "a", "waived", 1), result("d", "b", "inconclusive", 2)]
    )
    assert level == 1
    assert [(b.policy, b.status) for b in blockers] == [("b", "inconclusive")]


def test_configuration_evidence_never_exceeds_level_3() -> None:
    assert walk_levels([result("d", "a", "pass", 4)])[0] == 3


# --- categories ---------------------------------------------------------------------------


def test_the_weakest_device_sets_the_category_level(smm: SmmCatalogue) -> None:
    maturity = assess(
        [device("s1"), device("s2")],
        [
            result("s1", "a", "pass", 1),
            result("s1", "b", "pass", 2),
            result("s2", "a", "pass", 1),
            result("s2", "b", "fail", 2),
        ],
        smm,
    )
    gap = row(maturity, AC)
    assert (gap.achieved, gap.state, gap.gap) == (1, "below", 1)
    assert [(b.policy, b.level, b.devices) for b in gap.blockers] == [("b", 2, ["s2"])]


def test_a_baseline_met_by_every_device_of_a_category_is_consistent(smm: SmmCatalogue) -> None:
    devices = [device("s1"), device("s2")]
    results = [result(d.name, p, "pass", lv) for d in devices for p, lv in (("a", 1), ("b", 2))]
    gap = row(assess(devices, results, smm, profile({AC: 3})), AC)
    assert (gap.achieved, gap.state) == (3, "meets")
    assert any("consistent" in n for n in gap.notes)


def test_consistency_needs_evidence_from_every_device(smm: SmmCatalogue) -> None:
    devices = [device("s1"), device("s2")]
    gap = row(assess(devices, [result("s1", "b", "pass", 2)], smm, profile({AC: 3})), AC)
    assert (gap.achieved, gap.state) == (2, "below")
    assert any("1 of 2 devices give no evidence" in n for n in gap.notes)
    # Nothing fails, yet the target is not met: the report says what is missing.
    assert not gap.blockers


def test_consistency_is_not_claimed_from_level_1_evidence(smm: SmmCatalogue) -> None:
    devices = [device("s1"), device("s2")]
    results = [result(d.name, "a", "pass", 1) for d in devices]
    gap = row(assess(devices, results, smm, profile({AC: 1})), AC)
    assert (gap.achieved, gap.state) == (1, "meets")


def test_exceeding_the_target_is_reported(smm: SmmCatalogue) -> None:
    gap = row(assess([device("s1")], [result("s1", "b", "pass", 2)], smm, profile({AC: 1})), AC)
    assert (gap.state, gap.gap) == ("exceeds", -2)  # 3: consistent across the category
    assert any("effort could be saved" in n for n in gap.notes)


def test_devices_are_rolled_up_per_site(smm: SmmCatalogue) -> None:
    devices = [device("s1", site="north"), device("s2", site="south")]
    results = [result("s1", "b", "pass", 2), result("s2", "b", "fail", 2)]
    maturity = assess(devices, results, smm)
    lowest = {s.site: s.lowest[AC] for s in maturity.sites}
    assert lowest == {"north": 2, "south": 0}
    north = next(s for s in maturity.sites if s.site == "north")
    assert row(maturity, AC).achieved == 0  # overall: the weakest device
    assert next(r for r in north.categories[0].rows if r.practice == AC).achieved == 3


def test_a_device_in_error_is_listed_not_assessed(smm: SmmCatalogue) -> None:
    broken = DeviceRecord(name="x", source="x.cfg", status="error", error="timeout")
    maturity = assess([device("s1"), broken], [result("s1", "a", "pass", 1)], smm)
    assert maturity.devices_not_assessed == ["x"]
    assert [c.category for c in maturity.categories] == ["switch"]


# --- attestations and level 4 -------------------------------------------------------------


def test_governance_practices_come_from_attestations_only(smm: SmmCatalogue) -> None:
    devices = [device("s1")]
    results = [result("s1", "a", "pass", 1, practice=TMOD)]  # a mis-mapped policy is ignored
    gap = row(assess(devices, results, smm), TMOD)
    assert (gap.achieved, gap.state) == (None, "not_assessed")
    assert "needs an attestation" in gap.notes[0]
    gap = row(assess(devices, results, smm, attestations=[attestation(TMOD, 3)]), TMOD)
    assert (gap.achieved, gap.source, gap.state) == (3, "attestation", "exceeds")


def test_expired_and_future_attestations_do_not_count(smm: SmmCatalogue) -> None:
    expired = attestation(TMOD, 2, expires=dt.date(2026, 11, 24))
    future = attestation(TMOD, 2, date=dt.date(2026, 11, 26))
    maturity = assess([device("s1")], [], smm, attestations=[expired, future])
    assert row(maturity, TMOD).achieved is None
    assert [a.state for a in maturity.attestations] == ["expired", "not_yet_valid"]
    # The expiry date itself is still valid (inclusive).
    last_day = attestation(TMOD, 2, expires=TODAY)
    assert row(assess([device("s1")], [], smm, attestations=[last_day]), TMOD).achieved == 2


def test_an_attestation_can_be_limited_to_categories(smm: SmmCatalogue) -> None:
    devices = [device("s1"), device("g1", category="gateway")]
    maturity = assess(devices, [], smm, attestations=[attestation(TMOD, 2, categories=["plc"])])
    assert row(maturity, TMOD).achieved is None
    assert row(maturity, TMOD, "gateway").achieved is None
    maturity = assess(devices, [], smm, attestations=[attestation(TMOD, 2, categories=["gateway"])])
    assert (row(maturity, TMOD).achieved, row(maturity, TMOD, "gateway").achieved) == (None, 2)


def test_level_4_takes_level_3_evidence_and_an_attestation(smm: SmmCatalogue) -> None:
    devices = [device("s1")]
    results = [result("s1", "seg", "pass", 3)]
    alone = row(assess(devices, results, smm, profile({AC: 4})), AC)
    assert (alone.achieved, alone.state) == (3, "below")
    assert any("level 4 needs an attestation" in n for n in alone.notes)
    both = row(assess(devices, results, smm, profile({AC: 4}), [attestation(AC, 4)]), AC)
    assert (both.achieved, both.source, both.state) == (4, "technical+attestation", "meets")


def test_an_attestation_does_not_override_failing_configuration(smm: SmmCatalogue) -> None:
    results = [result("s1", "a", "fail", 1)]
    gap = row(assess([device("s1")], results, smm, attestations=[attestation(AC, 4)]), AC)
    assert gap.achieved == 0
    assert any("attestation to level 4 not counted" in n for n in gap.notes)


def test_a_technical_practice_without_results_may_be_attested(smm: SmmCatalogue) -> None:
    patch = "SMM.HRD.VPM.PM"
    gap = row(assess([device("s1")], [], smm, attestations=[attestation(patch, 2)]), patch)
    assert (gap.achieved, gap.source) == (2, "attestation")


# --- profiles -----------------------------------------------------------------------------


def test_the_most_specific_target_wins(smm: SmmCatalogue) -> None:
    prof = Profile.model_validate(
        {
            "profile": {"id": "t", "title": "t"},
            "defaults": {"SMM.GOV": 2, "SMM.ENB": 2, "SMM.HRD": 2},
            "categories": {"sensor": {"domains": {"SMM.ENB": 1}, "practices": {AC: 3}}},
        }
    )
    assert prof.target("sensor", AC, "SMM.ENB") == 3
    assert prof.target("sensor", ACCM, "SMM.ENB") == 1
    assert prof.target("sensor", TMOD, "SMM.GOV") == 2
    assert prof.target("robot", ACCM, "SMM.ENB") == 2  # not in the profile: defaults


def test_built_in_profiles_load_and_differ(smm: SmmCatalogue) -> None:
    assert builtin_profiles() == ["large", "medium", "small"]
    targets = {
        name: load_profile(name, smm).target("plc", AC, "SMM.ENB") for name in builtin_profiles()
    }
    assert targets["small"] < targets["medium"] < targets["large"]
    # Low-risk sensors are never asked for more than a PLC.
    for name in builtin_profiles():
        prof = load_profile(name, smm)
        for practice in smm.practices:
            domain = next(s.domain for s in smm.subdomains if s.id == practice.subdomain)
            assert prof.target("sensor", practice.id, domain) <= prof.target(
                "plc", practice.id, domain
            )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("defaults: {SMM.GOV: 2, SMM.ENB: 2}\n", "defaults has no level for domain SMM.HRD"),
        (
            "defaults: {SMM.GOV: 2, SMM.ENB: 2, SMM.HRD: 5}\n",
            "target for SMM.HRD is 5, not a level 1-4",
        ),
        (
            "defaults: {SMM.GOV: 2, SMM.ENB: 2, SMM.HRD: 2}\n"
            "categories:\n  plc:\n    practices: {SMM.ENB.IAM.XX: 3}\n",
            "unknown SMM practice 'SMM.ENB.IAM.XX'",
        ),
    ],
)
def test_a_bad_profile_is_one_located_error(
    tmp_path: Path, smm: SmmCatalogue, text: str, message: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("profile: {id: p, title: p}\n" + text)
    with pytest.raises(UsageError) as caught:
        load_profile(str(path), smm)
    assert message in caught.value.line()
    assert str(path) in caught.value.line()


def test_an_unknown_profile_name_lists_the_built_in_ones(smm: SmmCatalogue) -> None:
    with pytest.raises(UsageError, match="small"):
        load_profile("huge", smm)


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        ("2027-13-01", "not a calendar date: month must be in 1..12"),
        ("31/03/2027", "must be a date"),
        ("2027-03-31T12:00:00+02:00", "must be a date"),
        ("2025-01-01", "expires (2025-01-01) before it was made"),
    ],
)
def test_attestation_dates_are_strict(
    tmp_path: Path, smm: SmmCatalogue, expires: str, message: str
) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(
        "attestations:\n"
        "  - practice: SMM.GOV.TM.TMOD\n    level: 2\n    statement: s\n    document: d\n"
        f"    attested_by: x\n    date: 2026-01-01\n    expires: {expires}\n"
    )
    with pytest.raises(UsageError) as caught:
        load_attestations(path, smm)
    assert message in caught.value.line()
    assert f"{path}:" in caught.value.line()


# --- the command on the demo plant ---------------------------------------------------------


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--report-dir", str(folder)]) == 0
    return folder / "results.json"


def test_report_maturity_on_the_demo(demo_results: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    project = Path(__file__).resolve().parent.parent / "fixtures" / "demo" / "smmcheck.yaml"
    code = main(
        ["report", "maturity", str(demo_results), "--project", str(project), "--format", "json",
         "--output", str(out)]
    )  # fmt: skip
    assert code == 0
    data = json.loads(out.read_text())
    assert data["schema"] == "smmcheck.maturity/v1"
    switch = next(c for c in data["categories"] if c["category"] == "switch")
    access = next(r for r in switch["rows"] if r["practice"] == ACCM)
    # telnet-disabled fails on acc-sw01 (line vty 5 15 allows telnet): level 0 in the category.
    assert access["achieved"] == 0 and access["state"] == "below"
    assert any(
        b["policy"] == "telnet-disabled" and "acc-sw01" in b["devices"] for b in access["blockers"]
    )
    assert max(r["achieved"] or 0 for c in data["categories"] for r in c["rows"]) <= 4
    # The demo's waivers are counted in the report (waived failures count as met).
    assert any(n.startswith("Waivers: 1 active") and "1 expired" in n for n in data["notes"])
    # The demo's attestations (named in its smmcheck.yaml): threat modeling is attested at
    # level 3 against a target of 2, physical protection's attestation has expired.
    tmod = next(r for r in switch["rows"] if r["practice"] == "SMM.GOV.TM.TMOD")
    assert (tmod["achieved"], tmod["source"], tmod["state"]) == (3, "attestation", "exceeds")
    states = {a["practice"]: a["state"] for a in data["attestations"]}
    assert states["SMM.ENB.AP.PP"] == "expired"
    physical = next(r for r in switch["rows"] if r["practice"] == "SMM.ENB.AP.PP")
    assert physical["state"] == "not_assessed"


def test_report_maturity_markdown_and_profile_choice(demo_results: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.md"
    code = main(
        ["report", "maturity", str(demo_results), "--profile", "small", "--format", "markdown",
         "--output", str(out)]
    )  # fmt: skip
    assert code == 0
    text = out.read_text()
    assert "Profile: **small**" in text
    assert "| Practice | Evidence | Target | Achieved | Gap |" in text


def test_report_maturity_refuses_a_file_that_is_not_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"schema": "something/v9"}')
    assert main(["report", "maturity", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a smmcheck results file" in err and "Traceback" not in err


def test_demo_prints_the_gap_table_and_writes_the_maturity_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--report-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SMM maturity against profile medium" in out
    # At least one category below target and one practice above it (the quality bar).
    assert re.search(r"^switch: .* — [1-9]\d* below target, [1-9]\d* above", out, re.M)
    assert "exceeds by 1" in out
    assert (tmp_path / "maturity.md").read_text().startswith("# SMM maturity gap analysis")
    data = json.loads((tmp_path / "maturity.json").read_text())
    assert data["profile"]["id"] == "medium"
