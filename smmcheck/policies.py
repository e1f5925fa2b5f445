"""Policies as data: the model, and loading built-in and users' policy folders.

A policy folder holds ``<domain>/<id>.yaml`` (one policy), ``<domain>/<id>.tests.yaml``
(its test cases) and ``lists/<name>.yaml`` (named data lists such as default passwords).
Everything is validated when loaded; an invalid file is a :class:`PolicyError` naming the
file, line and field. Nothing is skipped silently.
"""

from __future__ import annotations

import re
import string
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from smmcheck.checks import Check, CollectionCheck, Condition, Status
from smmcheck.errors import PolicyError
from smmcheck.facts import DeviceFacts, Item
from smmcheck.frozen import Frozen
from smmcheck.resources import data_dir
from smmcheck.semantic import ANALYSES
from smmcheck.yamlfile import LocatedProblem, read_yaml, validate, where

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")
PLATFORMS = ("cisco_ios", "cisco_nxos", "linux", "openwrt")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class SmmRef(Frozen):
    """The SMM practice a policy evidences and the comprehensiveness level it supports."""

    practice: str
    level: int = Field(ge=1, le=3, description="configuration evidence never supports level 4")


class Messages(Frozen):
    """Message templates: ``{device}``, ``{count}``, ``{total}``, ``{items}``, ``{source}``.

    ``item`` renders one item for ``{items}`` from its fields, ``{label}``, ``{note}`` and
    ``{match}`` (the list entry an ``in_list`` test matched).
    """

    pass_: str = Field(alias="pass")
    fail: str
    inconclusive: str | None = None
    not_applicable: str | None = None
    # When the check selects no item at all (no vty lines, no syslog host).
    empty: str | None = None
    item: str = "{label}"


class Applicability(Frozen):
    """When a policy applies: at least one of these fact collections is non-empty."""

    any_present: list[str] = Field(min_length=1)


class Policy(Frozen):
    """One policy: what compliant means, why, how to fix it, and the check that decides."""

    id: str
    title: str
    description: str
    rationale: str
    severity: Severity
    platforms: list[str]
    smm: SmmRef
    remediation: str
    references: list[str] = Field(min_length=1)
    applies_when: Applicability | None = None
    check: Check
    messages: Messages

    @field_validator("id")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("policy IDs are kebab-case slugs (telnet-disabled)")
        return value

    @field_validator("platforms")
    @classmethod
    def _known_platforms(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(PLATFORMS))
        if unknown:
            raise ValueError(f"unknown platform {unknown[0]!r} (known: {', '.join(PLATFORMS)})")
        return value


class DataList(Frozen):
    """A named list of values that checks can test against (``in_list: NAME``)."""

    name: str
    description: str
    source: str
    case_sensitive: bool = True
    entries: list[str] = Field(min_length=1)

    def contains(self, value: str) -> str | None:
        """The entry equal to ``value`` (by this list's case rule), or None."""
        if self.case_sensitive:
            return value if value in self.entries else None
        folded = value.casefold()
        return next((e for e in self.entries if e.casefold() == folded), None)


class _ListFile(BaseModel):
    """Only used to validate list files; DataList is what the rest of the code sees."""

    model_config = {"extra": "forbid"}
    name: str
    description: str
    source: str
    case_sensitive: bool = True
    entries: list[str] = Field(min_length=1)


@dataclass
class PolicySet:
    """Policies by ID, the named data lists, and where each policy came from."""

    policies: dict[str, Policy] = field(default_factory=dict)
    lists: dict[str, DataList] = field(default_factory=dict)
    origins: dict[str, Path] = field(default_factory=dict)
    # Where each data list came from (an evidence pack holds exactly the files loaded).
    list_origins: dict[str, Path] = field(default_factory=dict)

    def sorted(self) -> list[Policy]:
        """Policies in ID order (results and reports are deterministic)."""
        return [self.policies[k] for k in sorted(self.policies)]

    def test_file(self, policy_id: str) -> Path | None:
        """The test cases file beside a policy, if it has one."""
        origin = self.origins[policy_id]
        candidate = origin.with_name(f"{policy_id}.tests.yaml")
        return candidate if candidate.is_file() else None


def load_policies(extra_dirs: Iterable[Path] = (), *, builtin: bool = True) -> PolicySet:
    """Load the built-in policies (unless ``builtin`` is False) and users' folders."""
    dirs = ([data_dir("policies")] if builtin else []) + list(extra_dirs)
    found = PolicySet()
    for folder in dirs:
        if not folder.is_dir():
            raise PolicyError("policy folder not found", where=str(folder))
        for path in sorted(folder.glob("lists/*.yaml")):
            data_list = _load_list(path)
            if data_list.name in found.lists:
                raise PolicyError(f"data list '{data_list.name}' is defined twice", where=str(path))
            found.lists[data_list.name] = data_list
            found.list_origins[data_list.name] = path
        for path in sorted(folder.rglob("*.yaml")):
            if path.name.endswith(".tests.yaml") or path.parent.name == "lists":
                continue
            policy = _load_policy(path)
            if policy.id in found.policies:
                raise PolicyError(
                    f"policy ID '{policy.id}' is defined twice",
                    where=str(path),
                    why=f"also in {found.origins[policy.id]}",
                )
            found.policies[policy.id] = policy
            found.origins[policy.id] = path
    for policy in found.policies.values():
        _check_references(policy, found)
    return found


def _load_list(path: Path) -> DataList:
    data, text = read_yaml(path, PolicyError)
    parsed = validate(_ListFile, data, path, text, PolicyError)
    if parsed.name != path.stem:
        raise PolicyError(
            "list name must match its file name",
            where=str(path),
            why=f"name is '{parsed.name}', file is '{path.stem}'",
        )
    return DataList(**parsed.model_dump())


def _load_policy(path: Path) -> Policy:
    data, text = read_yaml(path, PolicyError)
    policy = validate(Policy, data, path, text, PolicyError)
    if policy.id != path.stem:
        raise PolicyError(
            "policy ID must match its file name",
            where=str(path),
            why=f"id is '{policy.id}', file is '{path.stem}'",
        )
    try:
        _check_schema(policy)
    except LocatedProblem as exc:
        raise PolicyError(
            "invalid check", where=where(path, exc.token, text), why=str(exc)
        ) from None
    return policy


def _check_references(policy: Policy, found: PolicySet) -> None:
    names: set[str] = set()
    for part in policy.check.parts():
        for sub in (part.all, part.none, part.exists):
            if sub is not None:
                for cond in (sub.where, sub.expect):
                    names |= cond.named_lists() if cond else set()
        if part.value is not None:
            names |= part.value.expect.named_lists()
    missing = sorted(names - set(found.lists))
    if missing:
        raise PolicyError(
            f"unknown data list '{missing[0]}'",
            where=where(found.origins[policy.id], missing[0]),
            why=f"known lists: {', '.join(sorted(found.lists)) or 'none'}",
        )


# --- validating checks against the facts schema -------------------------------------------


def _check_schema(policy: Policy) -> None:
    """Every fact path and field a check names must exist; templates must name real fields."""
    item_types: list[type[BaseModel]] = []
    for part in policy.check.parts():
        if part.all_of is not None:
            raise LocatedProblem("all_of cannot be nested", "all_of")
        if part.semantic is not None:
            if part.semantic.name not in ANALYSES:
                raise LocatedProblem(
                    f"unknown semantic check '{part.semantic.name}'"
                    f" (known: {', '.join(sorted(ANALYSES))})",
                    part.semantic.name,
                )
            continue
        coll: CollectionCheck | None = part.all or part.none or part.exists
        if coll is not None:
            item_type = _fact_type(coll.items, collection=True)
            for cond in (coll.where, coll.expect):
                _check_condition(cond, item_type)
        elif part.value is not None:
            item_type = _fact_type(part.value.fact, collection=False)
            _check_condition(part.value.expect, item_type)
        item_types.append(item_type)
    for name in policy.applies_when.any_present if policy.applies_when else []:
        _fact_type(name, collection=True)
    _check_templates(policy.messages, item_types)


def _fact_type(name: str, *, collection: bool) -> type[BaseModel]:
    info = DeviceFacts.model_fields.get(name)
    if info is None:
        raise LocatedProblem(f"unknown fact '{name}'", name)
    for arg in _flatten(info.annotation):
        if isinstance(arg, type) and issubclass(arg, Item):
            return arg
        inner = typing.get_args(arg)
        if collection and inner and isinstance(inner[0], type) and issubclass(inner[0], Item):
            return inner[0]
    kind = "a collection" if collection else "a single item"
    raise LocatedProblem(f"fact '{name}' is not {kind}", name)


def _flatten(annotation: object) -> list[object]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return list(typing.get_args(annotation))
    return [annotation]


def _check_condition(cond: Condition | None, item_type: type[BaseModel]) -> None:
    if cond is None:
        return
    for path in cond.field_paths():
        model: type[BaseModel] = item_type
        for part in path.split("."):
            info = model.model_fields.get(part)
            if info is None:
                raise LocatedProblem(f"'{item_type.__name__}' has no field '{path}'", path)
            nested = [
                a
                for a in _flatten(info.annotation)
                if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            if nested:
                model = nested[0]
    for test in cond.fields.values():
        if test.matches is not None:
            try:
                re.compile(test.matches)
            except re.error as exc:
                raise LocatedProblem(
                    f"bad regular expression {test.matches!r}: {exc}", "matches"
                ) from None


_RUN_FIELDS = {"device", "count", "total", "items", "source"}
_ITEM_EXTRA = {"label", "note", "match"}


def _check_templates(messages: Messages, item_types: list[type[BaseModel]]) -> None:
    for name in ("pass_", "fail", "inconclusive", "not_applicable", "empty"):
        template = getattr(messages, name)
        if template is not None:
            for placeholder in _placeholders(template):
                if placeholder not in _RUN_FIELDS:
                    raise LocatedProblem(
                        f"message '{name.rstrip('_')}' uses unknown {{{placeholder}}}",
                        f"{{{placeholder}}}",
                    )
    allowed = set(_ITEM_EXTRA)
    for item_type in item_types:
        # Secrets never reach a message: fields holding them cannot be named.
        allowed |= {
            f for f in item_type.model_fields if f not in {"secret", "name", "evidence", "notes"}
        }
    for placeholder in _placeholders(messages.item):
        if placeholder not in allowed:
            raise LocatedProblem(
                f"item message uses unknown or secret field {{{placeholder}}}", f"{{{placeholder}}}"
            )


def _placeholders(template: str) -> list[str]:
    try:
        return [f for _, f, spec, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise LocatedProblem(f"bad message template {template!r}: {exc}", "messages") from None


def fail_level(status: Status, severity: Severity, threshold: Severity) -> bool:
    """Whether a result counts as a failure at the ``--fail-on`` threshold."""
    return status == "fail" and SEVERITIES.index(severity) >= SEVERITIES.index(threshold)
