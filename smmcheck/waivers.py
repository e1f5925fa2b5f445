"""Waivers: a failure that a named owner has accepted, with a reason, until a date.

    waivers:
      - policy: telnet-disabled
        devices: "plc-line3-*"     # glob on the device name; also site:, category:, tags:
        justification: Vendor firmware cannot disable Telnet; isolated behind a firewall
        compensating_control: Telnet reachable only from the engineering jump host
        owner: ot-security@example.com
        ticket: CHG-10442          # or approver:
        expires: 2027-03-31        # a UTC date, inclusive

A waiver turns a ``fail`` into ``waived`` (still reported, with its justification) up to
and including its expiry date in UTC; from the next day the result is a failure again,
flagged as expired. A waiver never covers ``inconclusive``: missing evidence is not a
risk anyone can accept. A waiver that covers no failure of the run is an orphan.

Loading is strict (``check`` and ``audit`` refuse a file with any problem, naming its
line); :func:`lint_waivers` reports every problem of the file at once for a CI gate.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smmcheck.errors import WaiverError
from smmcheck.frozen import Frozen
from smmcheck.policies import PolicySet
from smmcheck.project import Project
from smmcheck.results import DeviceRecord, OrphanWaiver, Result, WaiverRef, WaiverSummary
from smmcheck.yamlfile import locate

SOON_DAYS = 30
MAX_DAYS = 365
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """Safe loading with dates left as text: ``expires`` is parsed here, strictly, so that
    ``2027-13-01`` is an error on its line (not a crash inside the YAML library) and a date
    with a time of day is refused rather than silently cut to a date."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class Waiver(Frozen):
    """One checked waiver entry; ``id`` is ``<file name>#<1-based entry number>``."""

    id: str
    line: int
    policy: str
    devices: list[str] = Field(default_factory=list)  # globs on the device name (any)
    site: str | None = None
    category: str | None = None
    tags: list[str] = Field(default_factory=list)  # the device must carry every one
    justification: str
    compensating_control: str | None = None
    owner: str
    approver: str | None = None
    ticket: str | None = None
    expires: date  # UTC, inclusive

    def matches(self, device: DeviceRecord) -> bool:
        """Whether every selector given (name glob, site, category, tags) fits ``device``."""
        if self.devices and not any(fnmatchcase(device.name, g) for g in self.devices):
            return False
        if self.site is not None and device.site != self.site:
            return False
        if self.category is not None and device.category != self.category:
            return False
        return set(self.tags) <= set(device.tags)

    def active_on(self, today: date) -> bool:
        """Expiry is inclusive: a waiver expiring today still covers today's run."""
        return today <= self.expires

    def ref(self, state: Literal["active", "expired"]) -> WaiverRef:
        """How a result names the waiver that covers it (or no longer does)."""
        return WaiverRef(
            id=self.id,
            state=state,
            expires=self.expires.isoformat(),
            justification=self.justification,
            owner=self.owner,
            approver=self.approver,
            ticket=self.ticket,
            compensating_control=self.compensating_control,
        )


class WaiverFile(Frozen):
    """A loaded waivers file: every entry passed every check."""

    path: Path
    entries: list[Waiver]


class _Fields(BaseModel):
    """What a waiver entry may say, as typed as the file allows: everything optional, so
    that one missing field does not hide the entry's other problems (they are checked in
    :func:`_entry_problems`)."""

    model_config = ConfigDict(extra="forbid")

    policy: str | None = None
    devices: list[str] = Field(default_factory=list)
    site: str | None = None
    category: str | None = None
    tags: list[str] = Field(default_factory=list)
    justification: str | None = None
    compensating_control: str | None = None
    owner: str | None = None
    approver: str | None = None
    ticket: str | None = None
    expires: date | None = None

    @field_validator("devices", "tags", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("ticket", "approver", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        # `ticket: 10442` is a ticket number, not a type error.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("expires", mode="before")
    @classmethod
    def _utc_date(cls, value: Any) -> date:
        return parse_expiry(value)


def parse_expiry(value: Any) -> date:
    """A calendar date written ``YYYY-MM-DD``; anything else is a ValueError, never a
    waiver without an end."""
    if isinstance(value, datetime):
        raise ValueError("expected a date YYYY-MM-DD (UTC), not a date and time")
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a date YYYY-MM-DD (UTC), got {value!r}")
    text = value.strip()
    if not _DATE.match(text):
        if _DATE.match(text[:10]) and len(text) > 10:
            raise ValueError(f"expected a date YYYY-MM-DD (UTC), not a date and time: {text!r}")
        raise ValueError(f"expected a date YYYY-MM-DD (UTC), got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a calendar date ({exc})") from None


def utc_today(now: datetime) -> date:
    """The UTC date of an aware ``now``: expiry dates are UTC whatever the local zone."""
    if now.tzinfo is None:
        raise ValueError("a naive datetime has no defined UTC date")
    return now.astimezone(UTC).date()


def waivers_path(explicit: Path | None, project: Project | None) -> Path | None:
    """``--waivers FILE``, else the project file's ``waivers:``, else none."""
    if explicit is not None:
        return explicit
    return project.waivers if project is not None else None


@dataclass(frozen=True)
class Problem:
    """A problem of one waiver entry, on a line of the file."""

    line: int
    entry: int
    policy: str
    text: str
    hint: str | None = None

    def render(self, path: Path) -> str:
        """``file:line: entry N (policy): problem``."""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{path}:{self.line}: entry {self.entry} ({self.policy}): {self.text}{hint}"


@dataclass(frozen=True)
class _Entry:
    number: int
    line: int
    fields: _Fields | None  # None when the entry is not a mapping
    problems: list[Problem]
    expires_line: int


def load_waivers(path: Path, policies: PolicySet) -> WaiverFile:
    """Read and check a waivers file; the first problem is a :class:`WaiverError`.

    Expiry in the past is not a load problem: an expired waiver is reported by the run.
    """
    entries = _read_entries(path, policies)
    checked: list[Waiver] = []
    for entry in entries:
        if entry.problems:
            first = entry.problems[0]
            raise WaiverError(
                f"invalid waiver entry {first.entry} ({first.policy})",
                where=f"{path}:{first.line}",
                why=first.text,
                hint=first.hint,
            )
        assert entry.fields is not None  # an entry without problems is a mapping
        values = entry.fields.model_dump()
        checked.append(
            Waiver(id=f"{path.name}#{entry.number}", line=entry.line, **values),
        )
    return WaiverFile(path=path, entries=checked)


def lint_waivers(
    path: Path,
    policies: PolicySet,
    today: date,
    *,
    max_days: int = MAX_DAYS,
    soon_days: int = SOON_DAYS,
) -> tuple[list[Problem], list[Problem]]:
    """Every problem of the file (and notes on entries expiring within ``soon_days``).

    Besides what loading checks: an expiry in the past, or more than ``max_days`` ahead (a
    waiver is a dated decision to revisit, not a permanent exception). A file that cannot
    be read as a list of entries at all is a :class:`WaiverError`.
    """
    problems: list[Problem] = []
    notes: list[Problem] = []
    for entry in _read_entries(path, policies):
        problems.extend(entry.problems)
        if entry.fields is None or entry.fields.expires is None:
            continue
        expires = entry.fields.expires
        policy = entry.fields.policy or "?"
        line = entry.expires_line
        days = (expires - today).days
        if days < 0:
            problems.append(
                Problem(line, entry.number, policy, f"expired on {expires} ({_days(-days)} ago)")
            )
        elif days > max_days:
            problems.append(
                Problem(
                    line,
                    entry.number,
                    policy,
                    f"expires on {expires}, {_days(days)} ahead: more than --max-days {max_days}",
                )
            )
        elif days <= soon_days:
            notes.append(
                Problem(line, entry.number, policy, f"expires on {expires}, in {_days(days)}")
            )
    problems.sort(key=lambda p: (p.entry, p.line))
    return problems, notes


def apply_waivers(
    results: list[Result],
    devices: list[DeviceRecord],
    waivers: WaiverFile,
    today: date,
    soon_days: int = SOON_DAYS,
    evaluated: set[str] | None = None,
) -> tuple[list[Result], WaiverSummary]:
    """Mark the failures that waivers cover; count active, expiring and expired entries.

    Only ``fail`` changes: with an active matching waiver it becomes ``waived``; when every
    matching waiver has expired it stays ``fail``, names the expired waiver and says so in
    its message. Among several matching waivers the active one that lasts longest wins.
    ``today`` is the run's UTC date (:func:`utc_today`). Orphans are reported only for
    ``evaluated`` policies (default: those with results): a waiver for a policy the run
    did not select is not an orphan.
    """
    by_name = {d.name: d for d in devices}
    used: set[str] = set()
    out: list[Result] = []
    for result in results:
        device = by_name.get(result.device)
        if result.status != "fail" or device is None:
            out.append(result)
            continue
        matching = [w for w in waivers.entries if w.policy == result.policy and w.matches(device)]
        active = [w for w in matching if w.active_on(today)]
        if active:
            chosen = _longest(active)
            used.add(chosen.id)
            out.append(
                result.model_copy(update={"status": "waived", "waiver": chosen.ref("active")})
            )
        elif matching:
            chosen = _longest(matching)
            used.add(chosen.id)
            message = (
                f"{result.message.rstrip('.')}; waiver {chosen.id} expired on {chosen.expires}."
            )
            out.append(
                result.model_copy(update={"message": message, "waiver": chosen.ref("expired")})
            )
        else:
            out.append(result)
    if evaluated is None:
        evaluated = {r.policy for r in results}
    orphans = [
        OrphanWaiver(id=w.id, policy=w.policy, reason=_orphan_reason(w, results, devices))
        for w in waivers.entries
        if w.id not in used and w.policy in evaluated
    ]
    active_entries = [w for w in waivers.entries if w.active_on(today)]
    summary = WaiverSummary(
        file=str(waivers.path),
        active=len(active_entries),
        expiring_soon=sum(1 for w in active_entries if (w.expires - today).days <= soon_days),
        expired=len(waivers.entries) - len(active_entries),
        soon_days=soon_days,
        orphans=orphans,
    )
    return out, summary


def _days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"


def _longest(waivers: list[Waiver]) -> Waiver:
    # The latest expiry; on a tie, the first in the file.
    return max(reversed(waivers), key=lambda w: w.expires)


def _orphan_reason(waiver: Waiver, results: list[Result], devices: list[DeviceRecord]) -> str:
    matched = [d for d in devices if waiver.matches(d)]
    if not matched:
        return "matches no device"
    assessed = {d.name for d in matched if d.status == "ok"}
    if not assessed:
        return "matches only devices that could not be assessed"
    statuses = {r.status for r in results if r.policy == waiver.policy and r.device in assessed}
    if not statuses:
        return "the policy gives no result on the devices it matches (other platforms)"
    if statuses & {"fail", "waived"}:
        return "every failure it matches is covered by another waiver"
    if "inconclusive" in statuses:
        if statuses == {"inconclusive"}:
            return "only inconclusive results (a waiver never covers inconclusive)"
        return (
            "no failure, only passing or inconclusive results (a waiver never covers inconclusive)"
        )
    if statuses == {"not_applicable"}:
        return "the policy does not apply to any device it matches"
    return "the policy passes on every device it matches"


# --- reading the file ------------------------------------------------------------------------


def _read_entries(path: Path, policies: PolicySet) -> list[_Entry]:
    data, root = _read(path)
    items = _entry_nodes(root)
    entries: list[_Entry] = []
    for index, raw in enumerate(data):
        node = items[index] if index < len(items) else None
        line = node.start_mark.line + 1 if node is not None else 0
        entries.append(_check_entry(index + 1, line, raw, node, policies))
    return entries


def _read(path: Path) -> tuple[list[Any], yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise WaiverError(
            "cannot read waivers file", where=str(path), why="not UTF-8 text"
        ) from None
    except OSError as exc:
        raise WaiverError(
            "cannot read waivers file", where=str(path), why=exc.strerror or str(exc)
        ) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
        root = yaml.compose(text, Loader=_Loader)
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: an explicit !!timestamp
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise WaiverError("malformed YAML", where=where, why=str(problem)) from None
    shape = "expected a mapping with one key, 'waivers:', holding a list of entries"
    if data is None:
        return [], root
    if not isinstance(data, dict):
        raise WaiverError("invalid waivers file", where=f"{path}:1", why=shape)
    extra = sorted(str(k) for k in data if k != "waivers")
    if extra:
        line = locate(root, (extra[0],)) or 1
        raise WaiverError(
            f"invalid waivers file: unknown field '{extra[0]}'", where=f"{path}:{line}", why=shape
        )
    entries = data.get("waivers")
    if entries is None:
        return [], root
    if not isinstance(entries, list):
        line = locate(root, ("waivers",)) or 1
        raise WaiverError("invalid waivers file", where=f"{path}:{line}", why=shape)
    return entries, root


def _entry_nodes(root: yaml.Node | None) -> list[yaml.Node]:
    if not isinstance(root, yaml.MappingNode):
        return []
    node = next((v for k, v in root.value if k.value == "waivers"), None)
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _check_entry(
    number: int, line: int, raw: Any, node: yaml.Node | None, policies: PolicySet
) -> _Entry:
    if not isinstance(raw, dict):
        problem = Problem(line, number, "?", "an entry must be a mapping (policy:, devices:, …)")
        return _Entry(number, line, None, [problem], line)
    written_policy = raw.get("policy")
    policy = written_policy if isinstance(written_policy, str) and written_policy else "?"

    def at(field: str) -> int:
        return (locate(node, (field,)) if node is not None else None) or line

    problems: list[Problem] = []
    values = dict(raw)
    in_error: set[str] = set()
    try:
        fields = _Fields.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            problems.append(Problem(at(field), number, policy, _describe(field, error)))
            in_error.add(field)
            values.pop(field, None)
        # Without the fields in error every field is optional: the rest is still checked.
        fields = _Fields.model_validate(values)
    for field, text, hint in _entry_problems(fields, set(map(str, raw)), policies):
        if field not in in_error:
            problems.append(Problem(at(field), number, policy, text, hint))
    problems.sort(key=lambda p: p.line)
    return _Entry(number, line, fields, problems, at("expires"))


def _describe(field: str, error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return f"'{field}': unknown field"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"'{field}': {message}"


def _entry_problems(
    fields: _Fields, written: set[str], policies: PolicySet
) -> list[tuple[str, str, str | None]]:
    """(field, problem, hint) for what a well-typed entry still lacks (``written``: the
    fields the entry names, so that ``justification:`` with no text is "empty")."""
    found: list[tuple[str, str, str | None]] = []
    if fields.policy is None:
        found.append(("policy", "'policy': required field is missing", None))
    elif fields.policy not in policies.policies:
        close = difflib.get_close_matches(fields.policy, list(policies.policies), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "see 'smmcheck policy list'"
        found.append(("policy", f"unknown policy '{fields.policy}'", hint))
    if not (fields.devices or fields.site or fields.category or fields.tags):
        found.append(("", "no device selector: give devices, site, category or tags", None))
    for name in ("justification", "owner"):
        value = getattr(fields, name)
        if value is None and name not in written:
            found.append((name, f"'{name}': required field is missing", None))
        elif value is None or not value.strip():
            found.append((name, f"'{name}': must not be empty", None))
    if not ((fields.approver or "").strip() or (fields.ticket or "").strip()):
        found.append(("", "'approver' or 'ticket': one of them is required", None))
    if fields.expires is None:
        found.append(("expires", "'expires': required field is missing", None))
    return found
