"""The SMM gap table as text: console (rich), Markdown for auditors, and JSON."""

from __future__ import annotations

import json

from rich.text import Text

from smmcheck.maturity import Blocker, CategoryMaturity, GapRow, MaturityReport
from smmcheck.report.console import text_console

MATURITY_FORMATS = ("console", "json", "markdown")
_STATE_STYLE = {"below": "bold red", "meets": "green", "exceeds": "cyan", "not_assessed": "yellow"}


def render_maturity(
    report: MaturityReport, fmt: str, *, color: bool = False, width: int | None = None
) -> str:
    """The maturity report in ``fmt`` (console, json or markdown)."""
    if fmt == "json":
        data = report.model_dump(mode="json", by_alias=True)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return _markdown(report)
    return _console(report, color=color, width=width)


def level_text(row: GapRow) -> str:
    """The achieved level as a reader wants it: number and where it comes from."""
    if row.achieved is None:
        return "not assessed"
    suffix = {"attestation": " (attested)", "technical+attestation": " (+attested)"}
    return f"{row.achieved}{suffix.get(row.source or '', '')}"


def gap_text(row: GapRow) -> str:
    """``2 below``, ``meets``, ``exceeds by 1``, ``not assessed``."""
    if row.state == "below":
        return f"{row.gap} below"
    if row.state == "exceeds":
        return f"exceeds by {-row.gap}"
    if row.state == "not_assessed":
        return "not assessed"
    return "meets"


def blockers_text(blockers: list[Blocker], limit: int = 4) -> str:
    """``telnet-disabled L1 fail (acc-sw01, ot-sw01)`` for each policy in the way."""
    parts = []
    for blocker in blockers[:limit]:
        devices = ", ".join(blocker.devices[:3]) + (" …" if len(blocker.devices) > 3 else "")
        word = "" if blocker.status == "fail" else " inconclusive"
        parts.append(f"{blocker.policy} L{blocker.level}{word} ({devices})")
    if len(blockers) > limit:
        parts.append(f"+{len(blockers) - limit} more")
    return "; ".join(parts)


def _heading(category: CategoryMaturity) -> str:
    inferred = f"; category inferred for {len(category.inferred)}" if category.inferred else ""
    profile = "" if category.in_profile else "; not in the profile: domain defaults"
    names = ", ".join(category.devices[:5])
    if len(category.devices) > 5:
        names += f", +{len(category.devices) - 5} more"
    return (
        f"{category.category}: {len(category.devices)} device(s)"
        f" ({names}){inferred}{profile}"
        f" — {category.below} below target, {category.exceeds} above,"
        f" {category.not_assessed} not assessed"
    )


def _console(report: MaturityReport, *, color: bool, width: int | None) -> str:
    console, buffer = text_console(color=color, width=width)
    console.print(
        Text(
            f"SMM maturity against profile {report.profile.id} ({report.profile.title}),"
            f" results of {report.results_run}",
            style="bold",
        )
    )
    for note in report.notes:
        console.print(Text(note, style="dim"))
    console.print()
    total = width or 120
    # One line per practice: long titles and lists are cut (Markdown and JSON keep all).
    header = f"  {'practice':<36} {'target':>6}  {'achieved':<13} {'gap':<13} "
    for category in report.categories:
        console.print(Text(_heading(category), style="bold"))
        console.print(Text(header + "blocking the next level / note", style="dim"))
        for row in category.rows:
            detail = blockers_text(row.blockers) or "; ".join(row.notes)
            line = Text(f"  {_fit(row.title, 36):<36} {row.target:>6}  {level_text(row):<13} ")
            line.append(f"{gap_text(row):<13}", style=_STATE_STYLE[row.state])
            line.append(" " + _fit(detail, max(total - len(header) - 1, 20)))
            console.print(line)
        console.print()
    if report.attestations:
        console.print(
            Text("Attestations (manual evidence, not checked by smmcheck):", style="bold")
        )
        for a in report.attestations:
            style = "" if a.state == "active" else "yellow"
            console.print(
                Text(
                    f"  {a.practice} level {a.level} [{a.state}, expires {a.expires}]:"
                    f" {a.statement} — {a.document}; attested by {a.attested_by} on {a.date}",
                    style=style,
                )
            )
    if report.devices_not_assessed:
        names = ", ".join(report.devices_not_assessed)
        console.print(Text(f"Not assessed (collection or parse error): {names}", style="red"))
    return buffer.getvalue()


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(report: MaturityReport) -> str:
    out = [
        "# SMM maturity gap analysis",
        "",
        f"Profile: **{report.profile.id}** ({report.profile.title}), {report.profile.source}.",
        f"Results: {report.results_run}. Attestations valid on {report.today} (UTC).",
        "",
        *(f"> {note}" for note in report.notes),
        "",
    ]
    for category in report.categories:
        out += [
            f"## {_cell(category.category)}",
            "",
            _cell(_heading(category)),
            "",
            "| Practice | Evidence | Target | Achieved | Gap | Blocking the next level | Notes |",
            "|---|---|---:|---|---|---|---|",
        ]
        for row in category.rows:
            out.append(
                f"| {_cell(row.title)} | {row.evidence} | {row.target} | {level_text(row)}"
                f" | {gap_text(row)} | {_cell(blockers_text(row.blockers, limit=20))}"
                f" | {_cell('; '.join(row.notes))} |"
            )
        out.append("")
    if report.sites:
        out += ["## Sites", "", "| Site | Devices | Categories below target |", "|---|---:|---|"]
        for site in report.sites:
            below = ", ".join(f"{c.category} ({c.below})" for c in site.categories if c.below)
            out.append(f"| {_cell(site.site)} | {site.devices} | {_cell(below) or 'none'} |")
        out.append("")
    if report.attestations:
        out += [
            "## Attestations (manual evidence)",
            "",
            "| Practice | Level | State | Statement | Document | Attested by | Date | Expires |",
            "|---|---:|---|---|---|---|---|---|",
        ]
        for a in report.attestations:
            out.append(
                f"| {a.practice} | {a.level} | {a.state} | {_cell(a.statement)}"
                f" | {_cell(a.document)} | {_cell(a.attested_by)} | {a.date} | {a.expires} |"
            )
        out.append("")
    if report.devices_not_assessed:
        out += [f"Not assessed: {', '.join(report.devices_not_assessed)}.", ""]
    return "\n".join(out)
