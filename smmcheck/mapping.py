"""Mappings as data: the SMM catalogue and one file per framework (control -> policies).

Policies know nothing of frameworks (as in Prowler's compliance files): a framework file
lists its controls and the policy IDs that evidence each. A mapping that names an unknown
policy, or a policy whose SMM practice is not in the catalogue, is a load error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from smmcheck.errors import MappingError
from smmcheck.frozen import Frozen
from smmcheck.policies import PolicySet
from smmcheck.resources import data_dir
from smmcheck.yamlfile import read_yaml, validate, where

Confidence = Literal["verified", "likely", "unverified"]
SMM_FILE = "iic-smm.yaml"


class FrameworkInfo(Frozen):
    """Identity of a framework (or of the SMM catalogue)."""

    id: str
    name: str
    version: str
    note: str | None = None


class Level(Frozen):
    """An SMM comprehensiveness level."""

    level: int
    name: str
    confidence: Confidence


class Area(Frozen):
    """An SMM domain."""

    id: str
    title: str
    confidence: Confidence


class Subdomain(Area):
    """An SMM subdomain and its domain."""

    domain: str


class Practice(Frozen):
    """One of the 18 SMM practices."""

    id: str
    title: str
    subdomain: str
    confidence: Confidence
    # technical: configuration can give evidence toward it; attestation: only documents can.
    evidence: Literal["technical", "attestation"]


class SmmCatalogue(Frozen):
    """The IIC IoT SMM: domains, subdomains, practices and levels."""

    framework: FrameworkInfo
    levels: list[Level]
    domains: list[Area]
    subdomains: list[Subdomain]
    practices: list[Practice]


class Control(Frozen):
    """A framework control and the policies that evidence it."""

    id: str
    title: str
    confidence: Confidence
    policies: list[str]
    note: str | None = None


class FrameworkFile(Frozen):
    """One framework mapping file."""

    framework: FrameworkInfo
    mapping_basis: str
    controls: list[Control]


@dataclass
class Mappings:
    """The SMM catalogue, the frameworks, and the reverse index policy -> controls."""

    smm: SmmCatalogue
    frameworks: dict[str, FrameworkFile] = field(default_factory=dict)
    # The files loaded, SMM catalogue first (an evidence pack holds exactly these).
    files: list[Path] = field(default_factory=list)

    def practice(self, practice_id: str) -> Practice:
        """The SMM practice with this ID."""
        return next(p for p in self.smm.practices if p.id == practice_id)

    def controls_for(self, policy_id: str) -> dict[str, list[str]]:
        """Control IDs per framework that ``policy_id`` evidences (sorted, every framework)."""
        return {
            fid: sorted(c.id for c in fw.controls if policy_id in c.policies)
            for fid, fw in sorted(self.frameworks.items())
        }


def load_mappings(
    policies: PolicySet, extra_dirs: Iterable[Path] = (), *, builtin: bool = True
) -> Mappings:
    """Load the built-in mappings (unless ``builtin`` is False) and users' folders, and
    check them against ``policies``. The SMM catalogue comes from the first folder."""
    dirs = ([data_dir("mappings")] if builtin else []) + list(extra_dirs)
    if not dirs:
        raise MappingError("no mapping folder", why="the SMM catalogue comes from the first one")
    smm_path = dirs[0] / SMM_FILE
    data, text = read_yaml(smm_path, MappingError)
    smm = validate(SmmCatalogue, data, smm_path, text, MappingError)
    _check_catalogue(smm, smm_path)
    mappings = Mappings(smm, files=[smm_path])
    for folder in dirs:
        if not folder.is_dir():
            raise MappingError("mapping folder not found", where=str(folder))
        for path in sorted(folder.glob("*.yaml")):
            if path.name == SMM_FILE:
                continue
            data, text = read_yaml(path, MappingError)
            framework = validate(FrameworkFile, data, path, text, MappingError)
            if framework.framework.id in mappings.frameworks:
                raise MappingError(
                    f"framework '{framework.framework.id}' is defined twice", where=str(path)
                )
            _check_framework(framework, policies, path)
            mappings.frameworks[framework.framework.id] = framework
            mappings.files.append(path)
    practices = {p.id for p in smm.practices}
    for policy in policies.policies.values():
        if policy.smm.practice not in practices:
            raise MappingError(
                f"policy '{policy.id}' names unknown SMM practice '{policy.smm.practice}'",
                where=where(policies.origins[policy.id], policy.smm.practice),
                hint=f"practices are listed in {smm_path}",
            )
    return mappings


def _check_catalogue(smm: SmmCatalogue, path: Path) -> None:
    domains = {d.id for d in smm.domains}
    subdomains = {s.id for s in smm.subdomains}
    for sub in smm.subdomains:
        if sub.domain not in domains:
            raise MappingError(
                f"subdomain '{sub.id}' names unknown domain '{sub.domain}'",
                where=where(path, sub.domain),
            )
    for practice in smm.practices:
        if practice.subdomain not in subdomains:
            raise MappingError(
                f"practice '{practice.id}' names unknown subdomain '{practice.subdomain}'",
                where=where(path, practice.id),
            )


def _check_framework(framework: FrameworkFile, policies: PolicySet, path: Path) -> None:
    seen: set[str] = set()
    for control in framework.controls:
        if control.id in seen:
            raise MappingError(
                f"control '{control.id}' is listed twice", where=where(path, control.id, nth=2)
            )
        seen.add(control.id)
        for policy_id in control.policies:
            if policy_id not in policies.policies:
                raise MappingError(
                    f"control '{control.id}' names unknown policy '{policy_id}'",
                    where=where(path, policy_id),
                )
        if control.confidence == "unverified" and control.policies:
            raise MappingError(
                f"control '{control.id}' is unverified and cannot be used as evidence",
                where=where(path, control.id),
            )
