"""Render a :class:`~smmcheck.compliance.ComplianceReport`: console, JSON or Markdown."""

from __future__ import annotations

from smmcheck.compliance import ComplianceReport, ControlAssessment, Coverage
from smmcheck.report.console import text_console

FORMATS = ("console", "json", "markdown")

_LABEL = {
    "satisfied": "satisfied",
    "not_satisfied": "not satisfied",
    "partially": "partially",
    "not_assessed": "not assessed",
    "manual": "manual",
    "not_applicable": "n/a at SL-T",
}
_STYLE = {
    "satisfied": "green",
    "not_satisfied": "bold red",
    "partially": "yellow",
    "not_assessed": "cyan",
    "manual": "",
    "not_applicable": "dim",
}
CAVEAT = (
    "The mapping is analyst judgement, not an official crosswalk; 'confidence' is that of"
    " the catalogue entry (verified, likely). Configuration results are technical evidence"
    " toward a control, not a certification."
)


def render_compliance(
    report: ComplianceReport, fmt: str, *, color: bool = False, width: int | None = None
) -> str:
    """The compliance report as text in format ``fmt`` (console, json or markdown)."""
    if fmt == "json":
        return report.model_dump_json(by_alias=True, indent=2) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    return render_console(report, color=color, width=width)


def render_console(report: ComplianceReport, *, color: bool, width: int | None = None) -> str:
    """A table of controls, the notes and a coverage line (ANSI colour only when ``color``)."""
    from rich.table import Table
    from rich.text import Text

    console, buffer = text_console(color=color, width=width)
    fw = report.framework
    console.print(Text(f"{fw.name} ({fw.version})", style="bold"))
    console.print(Text(f"Results of '{report.run.command}', {report.run.started}", style="dim"))
    console.print(Text(CAVEAT, style="dim"))
    if report.uses_security_levels:
        console.print(Text(f"Target security levels: {_sl_summary(report)}"))
    console.print()
    table = Table(show_edge=False, pad_edge=False, expand=False)
    table.add_column("status", no_wrap=True)
    table.add_column("control", no_wrap=True)
    table.add_column("title", max_width=44)
    table.add_column("confidence", no_wrap=True)
    table.add_column("policies", min_width=28, overflow="fold")
    table.add_column("failing devices", min_width=16, overflow="fold")
    # Controls no policy reaches (manual) or that apply to no device are listed below the
    # table by ID: in most frameworks they are the majority and would bury the findings.
    listed = {"manual": [], "not_applicable": []}  # type: dict[str, list[str]]
    for control in report.controls:
        if control.status in listed:
            listed[control.status].append(control.id)
            continue
        table.add_row(
            Text(_LABEL[control.status], style=_STYLE[control.status]),
            control.id,
            control.title,
            control.confidence,
            ", ".join(control.policies) or "-",
            _devices_cell(control),
        )
    console.print(table)
    console.print()
    if listed["manual"]:
        console.print(
            Text(
                "Manual (no policy evidences them; they need documents or attestation): "
                + ", ".join(listed["manual"])
            )
        )
    if listed["not_applicable"]:
        console.print(
            Text(
                "Not applicable at the SL-T of any device: " + ", ".join(listed["not_applicable"]),
                style="dim",
            )
        )
    for note in report.notes:
        console.print(Text(f"Note: {note}", style="yellow"))
    console.print(Text(coverage_line(report.coverage), style="bold"))
    return buffer.getvalue()


def render_markdown(report: ComplianceReport) -> str:
    """A Markdown document for auditors: metadata, coverage, one table row per control."""
    fw = report.framework
    lines = [
        f"# Compliance: {_md(fw.name)} ({_md(fw.version)})",
        "",
        f"- Framework: `{fw.id}`" + (f". {_md(fw.note)}" if fw.note else ""),
        f"- Results: `{_md(report.run.command)}`, {report.run.started} to"
        f" {report.run.finished} (smmcheck {report.run.tool_version})",
        f"- Mapping basis: {_md(fw.mapping_basis)}",
        f"- Caveat: {CAVEAT}",
    ]
    if report.uses_security_levels:
        lines.append(f"- Target security levels: {_sl_summary(report)}")
    lines += ["", "## Coverage", "", coverage_line(report.coverage), ""]
    lines += ["| Status | Controls |", "|---|---|"]
    for status, label in _LABEL.items():
        if status == "not_applicable" and not report.uses_security_levels:
            continue
        lines.append(f"| {label} | {getattr(report.coverage, status)} |")
    lines += [
        "",
        "## Controls",
        "",
        "| Control | Title | Confidence | Status | Policies | Failing devices | Notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for control in report.controls:
        cells = [
            control.id,
            control.title,
            control.confidence,
            _LABEL[control.status],
            ", ".join(control.policies) or "-",
            ", ".join(f.device for f in control.failing) or "-",
            _notes_cell(control),
        ]
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    if report.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {_md(note)}" for note in report.notes]
    return "\n".join(lines) + "\n"


def coverage_line(coverage: Coverage) -> str:
    """One sentence with the coverage figures."""
    text = (
        f"{coverage.controls} controls, {coverage.with_policies} with automated evidence"
        f" (policies), {coverage.evidenced} with a verdict from this run:"
        f" {coverage.satisfied} satisfied, {coverage.not_satisfied} not satisfied,"
        f" {coverage.partially} partially, {coverage.not_assessed} not assessed,"
        f" {coverage.manual} manual"
    )
    if coverage.not_applicable:
        text += f", {coverage.not_applicable} not applicable at SL-T"
    return text + "."


def _devices_cell(control: ControlAssessment) -> str:
    parts = [", ".join(f.device for f in control.failing)] if control.failing else []
    if control.waived:
        parts.append("waived: " + ", ".join(f.device for f in control.waived))
    if control.inconclusive:
        parts.append("inconclusive: " + ", ".join(f.device for f in control.inconclusive))
    if control.reason and control.status == "not_assessed":
        parts.append(f"({control.reason})")
    return "; ".join(parts) or "-"


def _notes_cell(control: ControlAssessment) -> str:
    parts = []
    if control.waived:
        parts.append("waived: " + ", ".join(f.device for f in control.waived))
    if control.inconclusive:
        parts.append("inconclusive: " + ", ".join(f.device for f in control.inconclusive))
    if control.reason and control.status != "manual":
        parts.append(control.reason)
    if control.mapping_note:
        parts.append(f"mapping: {control.mapping_note}")
    return "; ".join(parts)


def _sl_summary(report: ComplianceReport) -> str:
    """Devices grouped by their SL-T and where it came from."""
    if not report.security_levels:
        if report.sl_target is None:
            return "none given: every SR and RE applies"
        return f"SL-T {report.sl_target} (--sl-target)"
    groups: dict[str, list[str]] = {}
    for scope in report.security_levels:
        if scope.source == "zone":
            key = f"SL-T {scope.sl_target} (zone {scope.zone})"
        elif scope.source == "option":
            key = f"SL-T {scope.sl_target} (--sl-target)"
        else:
            key = "no SL-T, every SR and RE applies"
        groups.setdefault(key, []).append(scope.device)
    return "; ".join(f"{key}: {', '.join(devices)}" for key, devices in sorted(groups.items()))


def _md(text: str) -> str:
    # A pipe would end the table cell, a newline the row.
    return text.replace("|", "\\|").replace("\n", " ")
