"""The declarative check language of policy files: small, typed, validated when loaded.

A check is one of::

    all:    {items: PATH, where: COND, expect: COND, if_empty: STATUS}  every selected item
                                                                         meets expect
    none:   {items: PATH, where: COND, if_empty: STATUS}  no item matches where
    exists: {items: PATH, where: COND}                    at least one item matches where
    value:  {fact: PATH, expect: COND, if_unknown: STATUS}  a single fact meets expect
    all_of: [CHECK, ...]                                  every sub-check holds
    semantic: {name: NAME, params: {...}}                 a named analysis (segmentation,
                                                          acl-shadowing) with parameters

A condition maps item field names (dotted for nested models) to tests, all of which must
hold, and may combine conditions with ``any_of``, ``all_of`` and ``not``::

    {kind: {in: [vty]}, transport_input: {contains_none: [telnet, all]}}
    {any_of: [{secret.storage_type: {in: ["0", "7"]}}, {form: {equals: password}}]}

There is no expression evaluation and no code in policy files. Field names are checked
against the facts schema when the policy is loaded (see :mod:`smmcheck.policies`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from smmcheck.frozen import Frozen

Status = Literal["pass", "fail", "waived", "not_applicable", "inconclusive"]
Scalar = str | int | float | bool


class FieldTest(Frozen):
    """Tests on one field's value; every test given must hold."""

    equals: Scalar | list[Scalar] | None = None
    not_equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    contains: Scalar | None = None
    contains_any: list[Scalar] | None = None
    contains_none: list[Scalar] | None = None
    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None
    known: bool | None = None
    in_list: str | None = None
    not_in_list: str | None = None
    # For a collection field (algorithms): no element is in the named list.
    none_in_list: str | None = None
    matches: str | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> FieldTest:
        if not self.model_fields_set:
            raise ValueError("a field test needs at least one operator (equals, in, lt, ...)")
        return self

    def named_lists(self) -> set[str]:
        """Names of the data lists this test refers to."""
        return {n for n in (self.in_list, self.not_in_list, self.none_in_list) if n is not None}


class Condition(Frozen):
    """Field tests (all must hold) combined with any_of / all_of / not."""

    fields: dict[str, FieldTest] = Field(default_factory=dict)
    any_of: list[Condition] | None = None
    all_of: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="before")
    @classmethod
    def _split_fields(cls, raw: Any) -> Any:
        # In YAML a condition is flat ({kind: {in: [vty]}}); field tests go into `fields`.
        if not isinstance(raw, dict):
            raise ValueError("a condition is a mapping of field names to tests")
        combinators = {"any_of", "all_of", "not"}
        out: dict[str, Any] = {k: v for k, v in raw.items() if k in combinators}
        fields = {k: v for k, v in raw.items() if k not in combinators}
        if fields:
            out["fields"] = fields
        if not out:
            raise ValueError("an empty condition tests nothing")
        return out

    def field_paths(self) -> list[str]:
        """Every field path this condition reads, for validation against the facts schema."""
        paths = list(self.fields)
        for sub in (self.any_of or []) + (self.all_of or []):
            paths.extend(sub.field_paths())
        if self.not_ is not None:
            paths.extend(self.not_.field_paths())
        return paths

    def named_lists(self) -> set[str]:
        """Names of the data lists this condition refers to."""
        names: set[str] = set()
        for test in self.fields.values():
            names |= test.named_lists()
        for sub in (self.any_of or []) + (self.all_of or []):
            names |= sub.named_lists()
        if self.not_ is not None:
            names |= self.not_.named_lists()
        return names


class CollectionCheck(Frozen):
    """A check over a collection of fact items (``items`` is a DeviceFacts field)."""

    items: str
    where: Condition | None = None
    expect: Condition | None = None
    # The status when no item is selected; the default depends on the check kind.
    if_empty: Status | None = None


class ValueCheck(Frozen):
    """A check over one fact (``fact`` is a DeviceFacts field holding a single item)."""

    fact: str
    expect: Condition
    # The status when the fact is absent for this platform; inconclusive unless stated.
    if_unknown: Literal["inconclusive", "not_applicable", "fail"] = "inconclusive"


class SemanticCheck(Frozen):
    """A named analysis that plain conditions cannot express (see smmcheck/semantic.py)."""

    name: str
    params: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)


class Check(Frozen):
    """Exactly one check kind."""

    all: CollectionCheck | None = None
    none: CollectionCheck | None = None
    exists: CollectionCheck | None = None
    value: ValueCheck | None = None
    all_of: list[Check] | None = None
    semantic: SemanticCheck | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Check:
        kinds = ("all", "none", "exists", "value", "all_of", "semantic")
        given = [k for k in kinds if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "a check has exactly one of all, none, exists, value, all_of, semantic"
                f" (got {', '.join(given) or 'none'})"
            )
        if self.all is not None and self.all.expect is None:
            raise ValueError("an `all` check needs `expect`")
        return self

    def parts(self) -> list[Check]:
        """This check's sub-checks (itself when it is not a combination)."""
        return list(self.all_of) if self.all_of is not None else [self]

    def families(self) -> set[str]:
        """The fact families (DeviceFacts fields) this check reads."""
        found: set[str] = set()
        for part in self.parts():
            for collection in (part.all, part.none, part.exists):
                if collection is not None:
                    found.add(collection.items)
            if part.value is not None:
                found.add(part.value.fact)
            if part.semantic is not None:
                # The named analyses work on ACLs, interfaces and management lines.
                found |= {"acls", "interfaces", "management_lines"}
            if part.all_of is not None and part is not self:
                found |= part.families()
        return found
