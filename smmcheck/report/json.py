"""JSON results: the ``smmcheck.results/v1`` contract."""

from __future__ import annotations

from smmcheck.results import Report


def render_json(report: Report) -> str:
    """The report as indented, deterministic JSON (keys in model order)."""
    return report.model_dump_json(by_alias=True, indent=2) + "\n"
