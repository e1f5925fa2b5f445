"""Framework compliance: what one run's results say about each control of a framework.

Pure computation over a run's :class:`~smmcheck.results.Report`, the mappings and the
policies; ``smmcheck report compliance`` renders it (:mod:`smmcheck.report.compliance`).

**Evidence.** A control is evidenced by the policies the *current* mapping file lists for
it, not by the ``controls`` recorded in the results, so that a results.json from an older
run can be reported against updated mappings; only policies the run evaluated count. For
``iic-smm`` each of the 18 SMM practices is a control, evidenced by the policies whose SMM
practice it is.

**Status** of a control, from the results of its policies on the devices it applies to;
the first rule that holds wins:

=================  =====================================================================
``not_applicable`` IEC 62443 only: the control's minimum SL is above every device's SL-T
``manual``         no policy evidences the control: it needs manual evidence (attestation)
``not_assessed``   policies exist but none gave pass, fail, waived or inconclusive in this
                   run (all not_applicable, no such device, or the policies were not run)
``satisfied``      at least one result, and every result is pass or waived (waivers listed)
``not_satisfied``  at least one fail, on any device in scope (the failing devices are named)
``not_assessed``   only inconclusive results ("evidence inconclusive")
``partially``      no fail; some pass (or waived) and some inconclusive
=================  =====================================================================

Missing evidence is never compliance: pass plus inconclusive is ``partially``, never
``satisfied``.

**Security levels (IEC 62443).** A control's minimum SL is the ``(SLn)`` in its mapping
note. A device's SL-T is its zone's ``security_level`` in the project file, else
``sl_target``; with neither, every SR and RE applies to it. A control applies to a device
when its minimum SL <= the device's SL-T; results of devices it does not apply to are
ignored for that control, and a control that applies to no device is ``not_applicable``.

Devices in error gave no results; the report names them in its notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from pydantic import Field

from smmcheck.errors import UsageError
from smmcheck.frozen import Frozen
from smmcheck.mapping import Confidence, Control, Mappings
from smmcheck.policies import PolicySet
from smmcheck.project import Project
from smmcheck.results import STATUSES, DeviceRecord, Report, Result, waiver_counts

SCHEMA = "smmcheck.compliance/v1"

ControlStatus = Literal[
    "satisfied", "not_satisfied", "partially", "not_assessed", "manual", "not_applicable"
]
# Display and counting order: the findings an auditor acts on first.
CONTROL_STATUSES: tuple[ControlStatus, ...] = (
    "not_satisfied",
    "partially",
    "satisfied",
    "not_assessed",
    "manual",
    "not_applicable",
)
_MIN_SL = re.compile(r"\(SL([1-4])\)")


class FrameworkSummary(Frozen):
    """The framework reported on, and where its mapping comes from."""

    id: str
    name: str
    version: str
    note: str | None = None
    mapping_basis: str


class RunSummary(Frozen):
    """The run whose results were assessed (copied from results.json)."""

    command: str
    started: str
    finished: str
    tool_version: str


class DeviceScope(Frozen):
    """A device's IEC 62443 target security level and where it came from."""

    device: str
    zone: str | None = None
    sl_target: int | None = None  # None: every SR and RE applies
    source: Literal["zone", "option", "none"]


class DeviceFinding(Frozen):
    """A device and the control's policies that gave it a given status."""

    device: str
    policies: list[str]


class ControlAssessment(Frozen):
    """One control: its status and the results behind it."""

    id: str
    title: str
    confidence: Confidence
    mapping_note: str | None = None
    min_sl: int | None = None
    status: ControlStatus
    reason: str | None = None  # why not_assessed / not_applicable / manual
    policies: list[str]  # mapped policies the run evaluated (the evidence)
    not_evaluated: list[str] = Field(default_factory=list)  # mapped, absent from the run
    counts: dict[str, int]  # results per status on the devices the control applies to
    failing: list[DeviceFinding] = Field(default_factory=list)
    waived: list[DeviceFinding] = Field(default_factory=list)
    inconclusive: list[DeviceFinding] = Field(default_factory=list)
    out_of_scope: list[str] = Field(default_factory=list)  # SL-T below min_sl: ignored


class Coverage(Frozen):
    """How much of the framework automated checks reach, and the status counts."""

    controls: int
    applicable: int  # controls minus not_applicable
    with_policies: int  # applicable controls that at least one policy evidences
    evidenced: int  # satisfied + not_satisfied + partially: a verdict from this run
    satisfied: int
    not_satisfied: int
    partially: int
    not_assessed: int
    manual: int
    not_applicable: int


class ComplianceReport(Frozen):
    """A framework's controls assessed against one run (``smmcheck.compliance/v1``)."""

    schema_: str = Field(default=SCHEMA, alias="schema")
    framework: FrameworkSummary
    run: RunSummary
    uses_security_levels: bool
    sl_target: int | None = None
    security_levels: list[DeviceScope] = Field(default_factory=list)
    devices_in_error: list[str] = Field(default_factory=list)
    controls: list[ControlAssessment]
    coverage: Coverage
    notes: list[str] = Field(default_factory=list)


def known_frameworks(mappings: Mappings) -> list[str]:
    """Framework IDs ``report compliance`` accepts: the mapping files and the SMM."""
    return sorted([*mappings.frameworks, mappings.smm.framework.id])


def minimum_sl(control: Control) -> int | None:
    """The lowest IEC 62443 SL that requires the control: ``(SLn)`` in its note."""
    found = _MIN_SL.search(control.note or "")
    return int(found.group(1)) if found else None


def assess_compliance(
    report: Report,
    mappings: Mappings,
    policies: PolicySet,
    framework: str,
    sl_target: int | None = None,
    project: Project | None = None,
) -> ComplianceReport:
    """Assess every control of ``framework`` against the results in ``report``."""
    summary, controls = _catalogue(mappings, policies, framework)
    uses_sl = any(minimum_sl(c) is not None for c in controls)
    if sl_target is not None and not uses_sl:
        raise UsageError(
            f"--sl-target does not apply to framework '{framework}'",
            why="only frameworks whose controls carry a minimum security level (IEC 62443)",
        )
    if sl_target is not None and not 1 <= sl_target <= 4:
        raise UsageError(f"SL-T {sl_target} is outside 1-4")
    scopes = _device_scopes(report.devices, project, sl_target) if uses_sl else []
    levels = {s.device: s.sl_target for s in scopes}
    by_policy: dict[str, list[Result]] = {}
    for result in report.results:
        by_policy.setdefault(result.policy, []).append(result)
    assessments = [_assess(control, by_policy, levels, sl_target, uses_sl) for control in controls]
    errors = sorted(d.name for d in report.devices if d.status == "error")
    return ComplianceReport(
        framework=summary,
        run=RunSummary(
            command=report.run.command,
            started=report.run.started,
            finished=report.run.finished,
            tool_version=report.tool.version,
        ),
        uses_security_levels=uses_sl,
        sl_target=sl_target,
        security_levels=scopes,
        devices_in_error=errors,
        controls=assessments,
        coverage=_coverage(assessments),
        notes=[
            *_notes(scopes, errors, sorted(set(by_policy) - set(policies.policies))),
            *([waiver_counts(report.waivers)] if report.waivers else []),
        ],
    )


def _catalogue(
    mappings: Mappings, policies: PolicySet, framework: str
) -> tuple[FrameworkSummary, list[Control]]:
    smm = mappings.smm
    if framework == smm.framework.id:
        summary = FrameworkSummary(
            **smm.framework.model_dump(),
            mapping_basis="Each practice is evidenced by the policies whose SMM practice it is"
            " (the smm.practice of each policy file). Configuration evidence alone never"
            " shows an organisation's maturity.",
        )
        controls = [
            Control(
                id=practice.id,
                title=practice.title,
                confidence=practice.confidence,
                policies=sorted(p.id for p in policies.sorted() if p.smm.practice == practice.id),
                note=f"evidence: {practice.evidence}",
            )
            for practice in smm.practices
        ]
        return summary, controls
    found = mappings.frameworks.get(framework)
    if found is None:
        raise UsageError(
            f"unknown framework '{framework}'",
            hint=f"choose from {', '.join(known_frameworks(mappings))}",
        )
    summary = FrameworkSummary(**found.framework.model_dump(), mapping_basis=found.mapping_basis)
    return summary, found.controls


def _device_scopes(
    devices: Iterable[DeviceRecord], project: Project | None, sl_target: int | None
) -> list[DeviceScope]:
    scopes = []
    for device in sorted(devices, key=lambda d: d.name):
        zone = project.zones.get(device.zone) if project and device.zone else None
        if zone is not None and zone.security_level is not None:
            scope = DeviceScope(
                device=device.name,
                zone=device.zone,
                sl_target=zone.security_level,
                source="zone",
            )
        elif sl_target is not None:
            scope = DeviceScope(
                device=device.name, zone=device.zone, sl_target=sl_target, source="option"
            )
        else:
            scope = DeviceScope(device=device.name, zone=device.zone, source="none")
        scopes.append(scope)
    return scopes


def _assess(
    control: Control,
    by_policy: dict[str, list[Result]],
    levels: dict[str, int | None],
    sl_target: int | None,
    uses_sl: bool,
) -> ControlAssessment:
    min_sl = minimum_sl(control) if uses_sl else None

    def applies(device: str) -> bool:
        level = levels.get(device, sl_target)
        return min_sl is None or level is None or min_sl <= level

    base = {
        "id": control.id,
        "title": control.title,
        "confidence": control.confidence,
        "mapping_note": control.note,
        "min_sl": min_sl,
    }
    empty: dict[str, int] = dict.fromkeys(STATUSES, 0)
    # With no device in the run, --sl-target alone decides.
    applicable = min_sl is None or (any(applies(d) for d in levels) if levels else applies(""))
    if not applicable:
        return ControlAssessment(
            **base,
            status="not_applicable",
            reason=f"its minimum SL{min_sl} is above the SL-T of every device",
            policies=[],
            counts=empty,
        )
    if not control.policies:
        return ControlAssessment(
            **base,
            status="manual",
            reason="no policy evidences it: it needs manual evidence (documents, attestation)",
            policies=[],
            counts=empty,
        )
    evaluated = sorted(p for p in control.policies if p in by_policy)
    not_evaluated = sorted(p for p in control.policies if p not in by_policy)
    results = [r for p in evaluated for r in by_policy[p]]
    in_scope = [r for r in results if applies(r.device)]
    counts: dict[str, int] = {s: sum(1 for r in in_scope if r.status == s) for s in STATUSES}
    status, reason = _status(counts, evaluated)
    if not_evaluated:
        missing = f"not evaluated in this run: {', '.join(not_evaluated)}"
        reason = f"{reason}; {missing}" if reason and evaluated else reason or missing
    return ControlAssessment(
        **base,
        status=status,
        reason=reason,
        policies=evaluated,
        not_evaluated=not_evaluated,
        counts=counts,
        failing=_findings(in_scope, "fail"),
        waived=_findings(in_scope, "waived"),
        inconclusive=_findings(in_scope, "inconclusive"),
        out_of_scope=sorted({r.device for r in results if not applies(r.device)}),
    )


def _status(counts: dict[str, int], evaluated: list[str]) -> tuple[ControlStatus, str | None]:
    passed, failed = counts["pass"], counts["fail"]
    waived, inconclusive = counts["waived"], counts["inconclusive"]
    if not passed + failed + waived + inconclusive:
        if not evaluated:
            return "not_assessed", "its policies were not evaluated in this run"
        if counts["not_applicable"]:
            return "not_assessed", "its policies did not apply to any device in scope"
        return "not_assessed", "its policies gave no result on the devices in scope"
    if not failed and not inconclusive:
        return "satisfied", None
    if failed:
        # One failing device is a finding against the control, however many others pass
        # (as an auditor, Prowler or Checkov would count it); the failing devices are named.
        return "not_satisfied", None
    if not passed and not waived:
        return "not_assessed", "evidence inconclusive"
    return "partially", "some evidence inconclusive"


def _findings(results: Iterable[Result], status: str) -> list[DeviceFinding]:
    by_device: dict[str, set[str]] = {}
    for result in results:
        if result.status == status:
            by_device.setdefault(result.device, set()).add(result.policy)
    return [DeviceFinding(device=d, policies=sorted(p)) for d, p in sorted(by_device.items())]


def _coverage(assessments: list[ControlAssessment]) -> Coverage:
    count = {s: sum(1 for a in assessments if a.status == s) for s in CONTROL_STATUSES}
    applicable = len(assessments) - count["not_applicable"]
    return Coverage(
        controls=len(assessments),
        applicable=applicable,
        with_policies=applicable - count["manual"],
        evidenced=count["satisfied"] + count["not_satisfied"] + count["partially"],
        **count,
    )


def _notes(scopes: list[DeviceScope], errors: list[str], unknown: list[str]) -> list[str]:
    notes = []
    unset = [s.device for s in scopes if s.sl_target is None]
    if scopes and len(unset) == len(scopes):
        notes.append(
            "No SL-T given (no zone security_level in the project file and no --sl-target):"
            " every SR and RE applies to every device."
        )
    elif unset:
        notes.append(
            "No SL-T for these devices (their zone has no security_level and no --sl-target"
            f" was given), so every SR and RE applies to them: {', '.join(unset)}."
        )
    if errors:
        notes.append(
            f"{len(errors)} device(s) could not be assessed (status error) and evidence no"
            f" control: {', '.join(errors)}."
        )
    if unknown:
        notes.append(
            "Results of policies that are not loaded are not counted (add their folder with"
            f" --policies): {', '.join(unknown)}."
        )
    return notes
