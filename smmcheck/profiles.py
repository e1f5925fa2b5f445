"""SMM target profiles: the comprehensiveness level (1-4) each device category should reach
per practice.

    profile: {id: medium, title: "...", description: "..."}
    defaults: {SMM.GOV: 2, SMM.ENB: 2, SMM.HRD: 2}      # per domain, every category
    categories:
      sensor:
        domains: {SMM.ENB: 1, SMM.HRD: 1}             # overrides the defaults
        practices: {SMM.ENB.IAM.EMI: 2}               # overrides the domain levels

The most specific entry wins: the category's practice, then its domain, then the profile's
domain default. Categories the profile does not name get the defaults (and the report says
so). The built-in profiles (``small``, ``medium``, ``large``) are in ``mappings/profiles/``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from smmcheck.errors import UsageError
from smmcheck.frozen import Frozen
from smmcheck.mapping import SmmCatalogue
from smmcheck.resources import data_dir
from smmcheck.yamlfile import read_yaml, validate, where

PROFILE_FOLDER = "profiles"
DEFAULT_PROFILE = "medium"

Target = int  # an SMM comprehensiveness level, 1-4


class ProfileInfo(Frozen):
    """What the profile is for."""

    id: str
    title: str
    description: str = ""


class CategoryTargets(Frozen):
    """A category's targets: per domain, and per practice where it differs."""

    domains: dict[str, Target] = Field(default_factory=dict)
    practices: dict[str, Target] = Field(default_factory=dict)
    description: str = ""


class Profile(Frozen):
    """A target profile: domain defaults and per-category targets."""

    profile: ProfileInfo
    defaults: dict[str, Target]
    categories: dict[str, CategoryTargets] = Field(default_factory=dict)

    def target(self, category: str | None, practice: str, domain: str) -> Target:
        """The target level for ``practice`` (in ``domain``) on a device of ``category``."""
        entry = self.categories.get(category or "")
        if entry is not None:
            if practice in entry.practices:
                return entry.practices[practice]
            if domain in entry.domains:
                return entry.domains[domain]
        return self.defaults[domain]


def is_profile_file(name: str) -> bool:
    """Whether a profile is named by its file (a path or ``*.yaml``) rather than built in."""
    return "/" in name or name.endswith((".yaml", ".yml"))


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped with smmcheck."""
    return sorted(p.stem for p in (data_dir("mappings") / PROFILE_FOLDER).glob("*.yaml"))


def profile_path(name: str, folder: Path | None = None) -> Path:
    """A built-in profile's file (in ``folder``, by default the built-in profiles folder),
    or ``name`` itself as a path."""
    builtin = (folder or data_dir("mappings") / PROFILE_FOLDER) / f"{name}.yaml"
    if not is_profile_file(name):
        if not builtin.is_file():
            raise UsageError(
                f"unknown profile '{name}'",
                why=f"built-in profiles: {', '.join(builtin_profiles())}; or give a file",
            )
        return builtin
    path = Path(name)
    if not path.is_file():
        raise UsageError("profile file not found", where=name)
    return path


def load_profile(name: str, smm: SmmCatalogue, folder: Path | None = None) -> Profile:
    """Load a profile by built-in name (from ``folder``, see :func:`profile_path`) or path;
    levels and SMM IDs are checked."""
    path = profile_path(name, folder)
    data, text = read_yaml(path, UsageError)
    profile = validate(Profile, data, path, text, UsageError)
    domains = {d.id for d in smm.domains}
    practices = {p.id for p in smm.practices}

    def fail(what: str, token: str) -> UsageError:
        return UsageError("invalid profile", where=where(path, token, text), why=what)

    missing = sorted(domains - set(profile.defaults))
    if missing:
        raise fail(f"defaults has no level for domain {missing[0]}", "defaults")
    levels: list[tuple[str, str, int]] = [("defaults", d, v) for d, v in profile.defaults.items()]
    for name_, entry in profile.categories.items():
        levels += [(name_, d, v) for d, v in entry.domains.items()]
        levels += [(name_, p, v) for p, v in entry.practices.items()]
        for domain in entry.domains:
            if domain not in domains:
                raise fail(f"category {name_} names unknown SMM domain '{domain}'", domain)
        for practice in entry.practices:
            if practice not in practices:
                raise fail(f"category {name_} names unknown SMM practice '{practice}'", practice)
    for owner, key, level in levels:
        if key in domains or key in practices:
            if not 1 <= level <= 4:
                raise fail(f"{owner}: target for {key} is {level}, not a level 1-4", key)
        elif owner == "defaults":
            raise fail(f"defaults names unknown SMM domain '{key}'", key)
    return profile
