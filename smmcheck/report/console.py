"""Console report: a compact table per device and a summary line, colour on a terminal."""

from __future__ import annotations

from io import StringIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from smmcheck.results import Report, Result

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


def render_console(report: Report, *, color: bool, width: int | None = None) -> str:
    """The report as text for a terminal (ANSI colour only when ``color``)."""
    buffer = StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        width=width or 120,
        highlight=False,
        soft_wrap=False,
    )
    by_device: dict[str, list[Result]] = {}
    for result in report.results:
        by_device.setdefault(result.device, []).append(result)
    for device in report.devices:
        title = f"{device.name}  [{device.platform or '?'} {device.os_version or ''}]".rstrip()
        if device.status == "error":
            console.print(Text(f"{device.name}: not assessed: {device.error}", style="red"))
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
                Text(_short(result.message, device.name)),
                lines,
            )
        console.print(table)
        console.print(Text(f"  source: {device.source}", style="dim"))
        console.print()
    console.print(_summary_line(report))
    return buffer.getvalue()


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
