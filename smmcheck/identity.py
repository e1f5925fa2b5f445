"""Who a device is for the maturity and compliance reports: category, zone and tags.

The inventory (a snapshot's manifest) knows best; for files checked offline the project
file's ``devices:`` entries say it; failing both, the category is inferred from the
platform and the facts, and marked as inferred in every report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from smmcheck.facts import DeviceFacts
from smmcheck.project import Project

CategorySource = Literal["inventory", "project", "inferred"]


@dataclass(frozen=True)
class Identity:
    """A device's category (and where it came from), zone and tags."""

    category: str | None
    category_source: CategorySource | None
    zone: str | None
    tags: tuple[str, ...]


def identify(
    facts: DeviceFacts,
    name: str,
    *,
    category: str | None = None,
    tags: tuple[str, ...] = (),
    project: Project | None = None,
) -> Identity:
    """The device's identity: the inventory's category first, then the project file's."""
    assignment = project.assignment(name) if project else None
    zone = assignment.zone if assignment else None
    all_tags = tuple(dict.fromkeys([*tags, *(assignment.tags if assignment else [])]))
    if category:
        return Identity(category, "inventory", zone, all_tags)
    if assignment and assignment.category:
        return Identity(assignment.category, "project", zone, all_tags)
    inferred = infer_category(facts)
    return Identity(inferred, "inferred" if inferred else None, zone, all_tags)


def infer_category(facts: DeviceFacts) -> str | None:
    """A best guess from the platform: a Linux box is a gateway, an OpenWrt box a router,
    an IOS device with switchports a switch (else a router)."""
    if facts.platform == "linux":
        return "gateway"
    if facts.platform == "openwrt":
        return "router"
    if facts.platform == "cisco_nxos":
        return "switch"
    if facts.platform == "cisco_ios":
        ports = facts.interfaces or ()
        if any(i.switchport_mode in ("access", "trunk") for i in ports):
            return "switch"
        return "router"
    return None
