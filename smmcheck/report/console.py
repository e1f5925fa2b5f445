"""Console report: a compact table per device and a summary line, colour on a terminal."""

from __future__ import annotations

from io import StringIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from smmcheck.results import Report, Result, WaiverRef

_STYLE = {
    "fail": "bold red",
    "inconclusive": "yellow",
    "waived": "magenta",
    "pass": "green",
    "not_applicable": "dim",
}
_LABEL = {
    "fail": "FAIL",
    "inconclusive": "INCONCL",
    "waived": "WAIVED",
    "pass": "pass",
    "not_applicable": "n/a",
}


def text_console(*, color: bool, width: int | None) -> tuple[Console, StringIO]:
    """A rich console that writes into a buffer: ANSI colour only when ``color``, 120
    columns unless told (a report piped to a file is the same whatever the terminal)."""
    buffer = StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        width=width or 120,
        highlight=False,
        soft_wrap=False,
    )
    return console, buffer


def render_console(report: Report, *, color: bool, width: int | None = None) -> str:
    """The report as text for a terminal (ANSI colour only when ``color``)."""
    console, buffer = text_console(color=color, width=width)
    by_device: dict[str, list[Result]] = {}
    for result in report.results:
        by_device.setdefault(result.device, []).append(result)
    for device in report.devices:
        platform = " ".join(filter(None, (device.platform or "?", device.os_version)))
        title = f"{device.name}  [{platform}]"
        if device.status == "error":
            console.print(Text(f"{device.name}: not assessed: {device.error}", style="red"))
            console.print(Text(f"  source: {device.source}", style="dim"))
            console.print()
            continue
        if not by_device.get(device.name):
            # A file given on its own that no policy reads (an OpenWrt /etc/config/network),
            # or policies selected that do not apply: say so rather than an empty table.
            why = "none of the policies run applies to what this input establishes"
            console.print(Text(f"{title}: nothing judged: {why}", style="dim"))
            console.print(Text(f"  source: {device.source}", style="dim"))
            console.print()
            continue
        table = Table(
            title=title,
            title_justify="left",
            show_edge=False,
            pad_edge=False,
            expand=False,
            show_lines=False,
        )
        table.add_column("status", no_wrap=True)
        table.add_column("policy", no_wrap=True)
        table.add_column("sev", no_wrap=True)
        table.add_column("finding")
        table.add_column("lines", no_wrap=True)
        for result in by_device.get(device.name, []):
            lines = ",".join(str(e.line) for e in result.evidence if e.line) or "-"
            if len(lines) > 16:
                lines = lines[:14] + ".."
            table.add_row(
                Text(_LABEL[result.status], style=_STYLE[result.status]),
                result.policy,
                result.severity,
                _finding(result, device.name),
                lines,
            )
        console.print(table)
        console.print(Text(f"  source: {device.source}", style="dim"))
        console.print()
    console.print(_summary_line(report))
    for line in _waiver_lines(report):
        console.print(line)
    return buffer.getvalue()


def _finding(result: Result, device: str) -> Text:
    text = Text(_short(result.message, device))
    waiver = result.waiver
    if waiver is None:
        return text
    if waiver.state == "active":
        text.append(f"\nwaived ({waiver.id}): {waiver.justification}", style="magenta")
    else:
        text.append(f"\nwaiver expired ({waiver.id}): {waiver.justification}", style="bold red")
    if waiver.compensating_control:
        text.append(f"\ncompensating control: {waiver.compensating_control}", style="dim")
    text.append(f"\n{_accountable(waiver)}", style="dim")
    return text


def _accountable(waiver: WaiverRef) -> str:
    parts = [f"owner {waiver.owner}"] if waiver.owner else []
    if waiver.approver:
        parts.append(f"approver {waiver.approver}")
    if waiver.ticket:
        parts.append(f"ticket {waiver.ticket}")
    ended = "expires" if waiver.state == "active" else "expired after"
    parts.append(f"{ended} {waiver.expires} (UTC)")
    return ", ".join(parts)


def _waiver_lines(report: Report) -> list[Text]:
    waivers = report.waivers
    if waivers is None:
        return []
    orphans = len(waivers.orphans)
    line = Text(
        f"Waivers: {waivers.active} active ({waivers.expiring_soon} expiring within"
        f" {waivers.soon_days} days), "
    )
    line.append(f"{waivers.expired} expired", style="bold red" if waivers.expired else "")
    line.append(f", {orphans} orphan{'s' if orphans != 1 else ''}")
    line.append(f" ({waivers.file}).", style="dim")
    lines = [line]
    for orphan in waivers.orphans:
        lines.append(
            Text(f"  orphan waiver {orphan.id} ({orphan.policy}): {orphan.reason}", style="yellow")
        )
    return lines


def _short(message: str, device: str) -> str:
    # The device is the table's title: do not repeat it at the start of every row.
    prefix = f"{device}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def _summary_line(report: Report) -> Text:
    summary = report.summary
    counts = summary.by_status
    text = Text()
    text.append(f"{summary.devices} devices", style="bold")
    if summary.devices_in_error:
        text.append(f" ({summary.devices_in_error} not assessed)", style="red")
    text.append(f", {summary.results} results: ")
    parts = [
        ("fail", "failed"),
        ("inconclusive", "inconclusive"),
        ("waived", "waived"),
        ("pass", "passed"),
        ("not_applicable", "not applicable"),
    ]
    for index, (status, word) in enumerate(parts):
        if index:
            text.append(", ")
        text.append(
            f"{counts.get(status, 0)} {word}", style=_STYLE[status] if counts.get(status) else ""
        )
    severities = ", ".join(
        f"{n} {s}" for s, n in reversed(summary.failures_by_severity.items()) if n
    )
    if severities:
        text.append(f" (failures: {severities})")
    text.append(f". Exit code {summary.exit_code} (--fail-on {report.run.fail_on}).")
    return text
