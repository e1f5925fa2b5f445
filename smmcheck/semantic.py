"""Named analyses that declarative conditions cannot express, used by policies as
``check: {semantic: {name: NAME, params: {...}}}``. Each takes a device's facts and the
project's intent and returns a :class:`Finding`; the engine renders the policy's message.

The packet-space machinery (:mod:`smmcheck.acl.space`) is imported only when an analysis
runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smmcheck.checks import Status
from smmcheck.facts import DeviceFacts, SourceLine

if TYPE_CHECKING:
    from smmcheck.project import Project


@dataclass(frozen=True)
class Finding:
    """What one part of a check found, before the policy's message is rendered."""

    status: Status
    items: tuple[str, ...] = ()
    evidence: tuple[SourceLine, ...] = ()
    count: int = 0
    total: int = 0
    empty: bool = False
    # Scopes (e.g. zones) this device was found to enforce, for site-wide checks.
    covers: tuple[str, ...] = ()


Analysis = Callable[[DeviceFacts, "Project | None", dict[str, Any]], Finding]


def _segmentation(facts: DeviceFacts, project: Project | None, params: dict[str, Any]) -> Finding:
    from smmcheck.segmentation import check_segmentation

    del params
    return check_segmentation(facts, project)


def _shadowing(facts: DeviceFacts, project: Project | None, params: dict[str, Any]) -> Finding:
    from smmcheck.segmentation import check_shadowing

    del project, params
    return check_shadowing(facts)


ANALYSES: dict[str, Analysis] = {"segmentation": _segmentation, "acl-shadowing": _shadowing}


def analyse(
    name: str, facts: DeviceFacts, project: Project | None, params: dict[str, Any]
) -> Finding:
    """Run the named analysis (names are checked when policies load)."""
    return ANALYSES[name](facts, project, params)
