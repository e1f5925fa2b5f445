"""Results of a run: the public JSON contract ``smmcheck.results/v1``.

Results are sorted and deterministic; timestamps appear only in ``run``. Every reporter
(console, JSON, JUnit) renders a :class:`Report` and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from smmcheck.checks import Status
from smmcheck.frozen import Frozen
from smmcheck.policies import SEVERITIES, Severity

SCHEMA = "smmcheck.results/v1"
STATUSES: tuple[Status, ...] = ("fail", "inconclusive", "waived", "pass", "not_applicable")


class Evidence(Frozen):
    """A configuration line a verdict rests on (``line`` 1-based; 0 = the whole artifact)."""

    source: str
    line: int
    text: str


class SmmPractice(Frozen):
    """The SMM practice a result evidences and the comprehensiveness level."""

    practice: str
    practice_title: str
    level: int


class WaiverRef(Frozen):
    """The waiver that covers (``active``) or no longer covers (``expired``) a failure."""

    id: str  # "<waivers file name>#<1-based entry number>"
    state: Literal["active", "expired"]
    expires: str  # UTC date, inclusive (YYYY-MM-DD)
    justification: str
    owner: str | None = None
    approver: str | None = None
    ticket: str | None = None
    compensating_control: str | None = None


class Result(Frozen):
    """One policy's verdict on one device."""

    device: str
    policy: str
    title: str
    severity: Severity
    status: Status
    message: str
    evidence: list[Evidence]
    smm: SmmPractice
    controls: dict[str, list[str]]
    remediation: str | None = None
    waiver: WaiverRef | None = None


class DeviceRecord(Frozen):
    """A device the run looked at: parsed, or an error with its reason."""

    name: str
    source: str
    platform: str | None = None
    os_version: str | None = None
    sha256: str | None = None
    site: str | None = None
    # Device category (switch, gateway, plc, ...) for the SMM target profile; where it came
    # from: the inventory (snapshot manifest), the project file's devices:, or inferred
    # from the platform and facts.
    category: str | None = None
    category_source: Literal["inventory", "project", "inferred"] | None = None
    zone: str | None = None
    tags: list[str] = Field(default_factory=list)
    status: Literal["ok", "error"] = "ok"
    error: str | None = None


class ToolInfo(Frozen):
    """Which smmcheck produced the results."""

    name: str = "smmcheck"
    version: str


class RunInfo(Frozen):
    """Run metadata: the only place with timestamps."""

    started: str
    finished: str
    command: str
    fail_on: Severity
    policies: int
    frameworks: list[str]


class Summary(Frozen):
    """Counts per status, failures per severity, devices assessed and in error."""

    devices: int
    devices_in_error: int
    results: int
    by_status: dict[str, int]
    failures_by_severity: dict[str, int]
    exit_code: int


class OrphanWaiver(Frozen):
    """A waiver that covered no failure in the run, and why."""

    id: str
    policy: str
    reason: str


class WaiverSummary(Frozen):
    """The waivers file's effect on the run (every report shows the counts)."""

    file: str
    active: int  # entries not expired today (UTC)
    expiring_soon: int  # active entries that expire within ``soon_days``
    expired: int
    soon_days: int
    orphans: list[OrphanWaiver] = Field(default_factory=list)


def waiver_counts(summary: WaiverSummary) -> str:
    """``Waivers: 1 active (0 expiring within 30 days), 1 expired, 0 orphans (file)``."""
    orphans = len(summary.orphans)
    return (
        f"Waivers: {summary.active} active ({summary.expiring_soon} expiring within"
        f" {summary.soon_days} days), {summary.expired} expired,"
        f" {orphans} orphan{'s' if orphans != 1 else ''} ({summary.file})."
    )


class Report(Frozen):
    """Everything a run concluded."""

    schema_: str = Field(default=SCHEMA, alias="schema")
    tool: ToolInfo
    run: RunInfo
    devices: list[DeviceRecord]
    results: list[Result]
    summary: Summary
    waivers: WaiverSummary | None = None


def summarise(devices: list[DeviceRecord], results: list[Result], fail_on: Severity) -> Summary:
    """Count results and compute the exit code (see the README's exit code table)."""
    by_status = {s: sum(1 for r in results if r.status == s) for s in STATUSES}
    failures = {
        s: sum(1 for r in results if r.status == "fail" and r.severity == s) for s in SEVERITIES
    }
    errors = sum(1 for d in devices if d.status == "error")
    threshold = SEVERITIES.index(fail_on)
    if any(r.status == "fail" and SEVERITIES.index(r.severity) >= threshold for r in results):
        code = 1
    elif by_status["inconclusive"] or errors:
        code = 3
    else:
        code = 0
    return Summary(
        devices=len(devices),
        devices_in_error=errors,
        results=len(results),
        by_status=by_status,
        failures_by_severity=failures,
        exit_code=code,
    )


def load_report(path: Path) -> Report:
    """Read a ``results.json`` written by ``check``, ``audit`` or ``demo``."""
    import json

    from pydantic import ValidationError

    from smmcheck.errors import UsageError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError("cannot read results", where=str(path), why=exc.strerror) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError("not a results.json file", where=str(path), why=str(exc)) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else None
        raise UsageError(
            "not a smmcheck results file",
            where=str(path),
            why=f"schema is {found!r}, expected {SCHEMA!r}",
        )
    try:
        return Report.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise UsageError(
            "invalid results file", where=str(path), why=f"{field}: {first['msg']}"
        ) from None
