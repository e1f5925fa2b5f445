"""Render a :class:`~smmcheck.results.Report` in the formats users ask for, and write files
atomically (a report is either complete on disk or not there at all)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from smmcheck.errors import UsageError
from smmcheck.results import Report

FORMATS = ("console", "json", "junit", "sarif")


def render(report: Report, fmt: str, *, color: bool = False, width: int | None = None) -> str:
    """The report as text in format ``fmt``."""
    renderer: Callable[..., str]
    if fmt == "json":
        from smmcheck.report.json import render_json as renderer
    elif fmt == "junit":
        from smmcheck.report.junit import render_junit as renderer
    elif fmt == "sarif":
        from smmcheck.report.sarif import render_sarif as renderer
    elif fmt == "console":
        from smmcheck.report.console import render_console

        return render_console(report, color=color, width=width)
    else:
        raise UsageError(f"unknown report format '{fmt}'", why=f"choose from {', '.join(FORMATS)}")
    return renderer(report)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(
            "cannot write report", where=str(path), why=exc.strerror or str(exc)
        ) from None
