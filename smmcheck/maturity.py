"""SMM maturity from a run's results: achieved comprehensiveness level per practice, per
device, rolled up per category and per site, against a target profile.

How a level is derived (technical evidence toward a level, never "the organisation is at
level N"):

* **Device.** The results of the policies that evidence a practice (``not_applicable``
  left out) are taken level by level, lowest first; the device reaches a level when every
  result at that level and below is ``pass`` or ``waived`` (a waiver is a tracked
  exception). The first level with a ``fail`` or an ``inconclusive`` result stops the walk:
  missing evidence is never compliance. No result at all: no technical evidence.
* **Category.** The weakest device sets the level (min). When every device of the category
  gives evidence and passes every policy of the practice, and those policies reach level 2
  or more, the category is *consistent*: level 3 (a baseline applied fleet-wide, with
  exceptions tracked as waivers).
* **Level 4** is never reached on configuration evidence: it takes technical evidence at
  level 3 plus an active attestation at level 4 (a formalised process).
* **Attestation practices** (governance) take their level from active attestations only;
  a technical practice with no result uses attestations too, and says so.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Literal

from pydantic import Field

from smmcheck.attestations import Attestation
from smmcheck.frozen import Frozen
from smmcheck.mapping import Practice, SmmCatalogue
from smmcheck.profiles import Profile
from smmcheck.results import DeviceRecord, Report, Result, waiver_counts

SCHEMA = "smmcheck.maturity/v1"
# Configuration evidence supports levels 1-3 only.
TECHNICAL_CEILING = 3
NO_SITE = "(no site)"

Source = Literal["technical", "attestation", "technical+attestation"]
State = Literal["meets", "below", "exceeds", "not_assessed"]


class Blocker(Frozen):
    """A policy result that keeps devices from the next level."""

    policy: str
    level: int
    status: Literal["fail", "inconclusive"]
    devices: list[str]


class AttestationRef(Frozen):
    """An attestation as the report shows it (manual evidence, never automated)."""

    practice: str
    level: int
    statement: str
    document: str
    attested_by: str
    date: str
    expires: str
    categories: list[str] | None
    state: Literal["active", "expired", "not_yet_valid"]


class DevicePractice(Frozen):
    """A practice on one device."""

    practice: str
    achieved: int | None
    source: Source | None
    results: int  # policy results that evidence the practice on this device
    blockers: list[Blocker] = Field(default_factory=list)
    waived: list[str] = Field(default_factory=list)


class DeviceMaturity(Frozen):
    """Every practice on one device."""

    device: str
    site: str | None
    category: str | None
    category_source: str | None
    practices: list[DevicePractice]


class GapRow(Frozen):
    """Target against achieved for one practice in one category."""

    practice: str
    title: str
    domain: str
    evidence: Literal["technical", "attestation"]
    target: int
    achieved: int | None
    gap: int  # target minus achieved (not assessed counts as 0); negative = exceeds target
    state: State
    source: Source | None
    devices_with_evidence: int
    blockers: list[Blocker] = Field(default_factory=list)
    waived: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class CategoryMaturity(Frozen):
    """The gap table of one device category (overall, or at one site)."""

    category: str
    devices: list[str]
    inferred: list[str]  # devices whose category was inferred, not given
    in_profile: bool
    rows: list[GapRow]
    below: int
    exceeds: int
    not_assessed: int


class SiteMaturity(Frozen):
    """A site's categories and the lowest level per practice across its devices."""

    site: str
    devices: int
    lowest: dict[str, int | None]
    categories: list[CategoryMaturity]


class ProfileRef(Frozen):
    """The profile the targets come from."""

    id: str
    title: str
    source: str


class MaturityReport(Frozen):
    """The maturity report (``smmcheck.maturity/v1``)."""

    schema_: str = Field(default=SCHEMA, alias="schema")
    profile: ProfileRef
    results_run: str  # the run the results come from (its start time and command)
    today: str
    categories: list[CategoryMaturity]
    sites: list[SiteMaturity]
    devices: list[DeviceMaturity]
    attestations: list[AttestationRef]
    devices_not_assessed: list[str]
    notes: list[str]


def assess_maturity(
    report: Report,
    smm: SmmCatalogue,
    profile: Profile,
    *,
    profile_source: str,
    attestations: Iterable[Attestation] = (),
    today: dt.date,
) -> MaturityReport:
    """The maturity report for a run's results against ``profile`` (pure: ``today`` given)."""
    attested = list(attestations)
    devices = [d for d in report.devices if d.status == "ok"]
    by_device: dict[str, list[Result]] = defaultdict(list)
    for result in report.results:
        by_device[result.device].append(result)
    per_device = [_device(d, by_device[d.name], smm.practices, attested, today) for d in devices]
    lookup = {m.device: m for m in per_device}
    categories = _categories(devices, lookup, smm, profile, attested, today)
    sites = []
    for site in sorted({d.site or NO_SITE for d in devices}):
        here = [d for d in devices if (d.site or NO_SITE) == site]
        lowest = {
            p.id: _min(
                pr.achieved for d in here for pr in lookup[d.name].practices if pr.practice == p.id
            )
            for p in smm.practices
        }
        sites.append(
            SiteMaturity(
                site=site,
                devices=len(here),
                lowest=lowest,
                categories=_categories(here, lookup, smm, profile, attested, today),
            )
        )
    return MaturityReport(
        profile=ProfileRef(
            id=profile.profile.id, title=profile.profile.title, source=profile_source
        ),
        results_run=f"{report.run.started} {report.run.command}",
        today=today.isoformat(),
        categories=categories,
        sites=sites,
        devices=per_device,
        attestations=[_ref(a, today) for a in attested],
        devices_not_assessed=sorted(d.name for d in report.devices if d.status == "error"),
        notes=[
            "Levels are technical evidence toward a comprehensiveness level from the"
            " checked configurations, not a statement that the organisation is at that level.",
            "Configuration evidence alone never yields level 4; it takes an attestation.",
            # Waived failures count as met (tracked exceptions): say how many there are.
            *([waiver_counts(report.waivers)] if report.waivers else []),
        ],
    )


def _device(
    device: DeviceRecord,
    results: list[Result],
    practices: list[Practice],
    attested: list[Attestation],
    today: dt.date,
) -> DeviceMaturity:
    rows = []
    for practice in practices:
        evidence = [
            r for r in results if r.smm.practice == practice.id and r.status != "not_applicable"
        ]
        level, blockers = walk_levels(evidence)
        source: Source | None = "technical" if level is not None else None
        if practice.evidence == "attestation" or level is None:
            level = _attested(attested, practice.id, device.category, today)
            source = "attestation" if level is not None else None
        elif (
            level == TECHNICAL_CEILING
            and _attested(attested, practice.id, device.category, today) == 4
        ):
            level, source = 4, "technical+attestation"
        rows.append(
            DevicePractice(
                practice=practice.id,
                achieved=level,
                source=source,
                results=len(evidence),
                blockers=[
                    Blocker(
                        policy=r.policy, level=_level(r), status=r.status, devices=[device.name]
                    )
                    for r in blockers
                ],
                waived=sorted(r.policy for r in evidence if r.status == "waived"),
            )
        )
    return DeviceMaturity(
        device=device.name,
        site=device.site,
        category=device.category,
        category_source=device.category_source,
        practices=rows,
    )


def walk_levels(evidence: list[Result]) -> tuple[int | None, list[Result]]:
    """A device's level on a practice from the results that evidence it, and the results
    that stop the next level (None: no evidence)."""
    if not evidence:
        return None, []
    achieved = 0
    for level in sorted({_level(r) for r in evidence}):
        stopping = [
            r for r in evidence if _level(r) == level and r.status not in ("pass", "waived")
        ]
        if stopping:
            return achieved, sorted(stopping, key=lambda r: r.policy)
        achieved = level
    return achieved, []


def _level(result: Result) -> int:
    return min(result.smm.level, TECHNICAL_CEILING)


def _attested(
    attested: list[Attestation], practice: str, category: str | None, today: dt.date
) -> int | None:
    levels = [
        a.level
        for a in attested
        if a.practice == practice and a.covers(category) and a.active(today)
    ]
    return max(levels) if levels else None


def _categories(
    devices: list[DeviceRecord],
    lookup: dict[str, DeviceMaturity],
    smm: SmmCatalogue,
    profile: Profile,
    attested: list[Attestation],
    today: dt.date,
) -> list[CategoryMaturity]:
    grouped: dict[str, list[DeviceRecord]] = defaultdict(list)
    for device in devices:
        grouped[device.category or "uncategorised"].append(device)
    domain_of = {s.id: s.domain for s in smm.subdomains}
    out = []
    for category, members in sorted(grouped.items()):
        rows = [
            _row(
                category,
                practice,
                domain_of[practice.subdomain],
                members,
                lookup,
                profile,
                attested,
                today,
            )
            for practice in smm.practices
        ]
        out.append(
            CategoryMaturity(
                category=category,
                devices=sorted(d.name for d in members),
                inferred=sorted(d.name for d in members if d.category_source == "inferred"),
                in_profile=category in profile.categories,
                rows=rows,
                below=sum(r.state == "below" for r in rows),
                exceeds=sum(r.state == "exceeds" for r in rows),
                not_assessed=sum(r.state == "not_assessed" for r in rows),
            )
        )
    return out


def _row(
    category: str,
    practice: Practice,
    domain: str,
    members: list[DeviceRecord],
    lookup: dict[str, DeviceMaturity],
    profile: Profile,
    attested: list[Attestation],
    today: dt.date,
) -> GapRow:
    target = profile.target(category, practice.id, domain)
    cells = [
        next(p for p in lookup[d.name].practices if p.practice == practice.id) for d in members
    ]
    technical = [c for c in cells if c.source in ("technical", "technical+attestation")]
    notes: list[str] = []
    achieved: int | None
    source: Source | None
    if practice.evidence == "technical" and technical:
        # Device levels with their own level-4 attestation are capped here: the category's
        # level 4 is decided below, from the category's attestations.
        achieved = min(min(c.achieved or 0, TECHNICAL_CEILING) for c in technical)
        source = "technical"
        clean = all(not c.blockers for c in technical) and len(technical) == len(members)
        # Every device passes all it is checked on, at level 2 or more: a baseline applied
        # across the category (the reference's "consistent").
        if clean and 2 <= achieved < TECHNICAL_CEILING:
            achieved = TECHNICAL_CEILING
            notes.append(f"consistent: every {category} device meets every policy of the practice")
        elif len(technical) < len(members):
            notes.append(
                f"{len(members) - len(technical)} of {len(members)} devices give no evidence;"
                " consistency across the category is not established"
            )
        level4 = _attested(attested, practice.id, category, today)
        if achieved == TECHNICAL_CEILING and level4 == 4:
            achieved, source = 4, "technical+attestation"
        elif level4 is not None and level4 > achieved:
            notes.append(
                f"attestation to level {level4} not counted: the configurations show"
                f" level {achieved}"
            )
    else:
        achieved = _attested(attested, practice.id, category, today)
        source = "attestation" if achieved is not None else None
        if achieved is None:
            notes.append(
                "needs an attestation: configuration cannot show it"
                if practice.evidence == "attestation"
                else "no check applies here; no attestation"
            )
    if achieved is None:
        state: State = "not_assessed"
    elif achieved < target:
        state = "below"
    elif achieved > target:
        state = "exceeds"
        notes.append(f"exceeds the target by {achieved - target}: effort could be saved here")
    else:
        state = "meets"
    blockers = (
        _merge(b for c in cells if (c.achieved or 0) < target for b in c.blockers)
        if state in ("below", "not_assessed")
        else []
    )
    if state == "below" and not blockers and achieved is not None:
        if achieved >= TECHNICAL_CEILING:
            notes.append("level 4 needs an attestation of a formalised process")
        else:
            notes.append(
                f"no failing policy: nothing checked evidences level {achieved + 1};"
                " more checks or an attestation are needed"
            )
    return GapRow(
        practice=practice.id,
        title=practice.title,
        domain=domain,
        evidence=practice.evidence,
        target=target,
        achieved=achieved,
        gap=target - (achieved or 0),
        state=state,
        source=source,
        devices_with_evidence=len(technical),
        blockers=blockers,
        waived=sorted({w for c in cells for w in c.waived}),
        notes=notes,
    )


def _merge(blockers: Iterable[Blocker]) -> list[Blocker]:
    grouped: dict[tuple[str, int, str], set[str]] = defaultdict(set)
    for blocker in blockers:
        grouped[(blocker.policy, blocker.level, blocker.status)].update(blocker.devices)
    return [
        Blocker(policy=p, level=lv, status=s, devices=sorted(d))
        for (p, lv, s), d in sorted(grouped.items())
    ]


def _min(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _ref(attestation: Attestation, today: dt.date) -> AttestationRef:
    if today > attestation.expires:
        state: Literal["active", "expired", "not_yet_valid"] = "expired"
    elif today < attestation.date:
        state = "not_yet_valid"
    else:
        state = "active"
    return AttestationRef(
        practice=attestation.practice,
        level=attestation.level,
        statement=attestation.statement,
        document=attestation.document,
        attested_by=attestation.attested_by,
        date=attestation.date.isoformat(),
        expires=attestation.expires.isoformat(),
        categories=attestation.categories,
        state=state,
    )
