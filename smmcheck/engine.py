"""Evaluate a policy's check over one device's facts: pure, no I/O, three-valued.

Every test answers True, False or None (unknown). Unknown never becomes a pass: an item
whose relevant field is unknown makes the result ``inconclusive`` unless another item
already fails. A pass on a config that looks truncated is also ``inconclusive``, because
lines that would have failed may be missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from smmcheck.checks import Check, CollectionCheck, Condition, FieldTest, Status, ValueCheck
from smmcheck.facts import DeviceFacts, Item, Secret, SourceLine
from smmcheck.policies import DataList, Policy
from smmcheck.project import Project
from smmcheck.secrets import matching_candidate
from smmcheck.semantic import Finding, analyse

Tri = bool | None
Verifier = Callable[[str, str, Sequence[str]], tuple[Tri, str | None]]


@dataclass(frozen=True)
class Outcome:
    """What a check concluded about one device, with the lines it rests on."""

    status: Status
    message: str
    evidence: tuple[SourceLine, ...] = ()
    # Scopes a site-wide analysis found covered on this device (e.g. zones enforced).
    covers: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Verdict:
    """One item's verdict; for in_list tests the entry it matched, or why it is unknown."""

    value: Tri
    match: str | None = None
    reason: str | None = None


def evaluate(
    policy: Policy,
    facts: DeviceFacts,
    lists: dict[str, DataList],
    verify: Verifier = matching_candidate,
    project: Project | None = None,
) -> Outcome:
    """Decide ``policy`` for the device described by ``facts``.

    ``verify`` checks a stored secret against list entries (a memoising one may be given:
    hashing defaults against scrypt secrets is the one costly step).
    """
    ctx = _Context(policy, facts, lists, verify, project)
    if facts.platform not in policy.platforms:
        return Outcome(
            "not_applicable",
            f"{facts.device}: {policy.id} does not apply to platform {facts.platform}.",
        )
    if policy.applies_when is not None:
        present = [getattr(facts, name) for name in policy.applies_when.any_present]
        if all(p is not None and len(p) == 0 for p in present):
            if not facts.complete:
                return Outcome(
                    "inconclusive",
                    f"{facts.device}: {facts.incomplete_reason}, so"
                    f" the absence that makes {policy.id} not applicable cannot be"
                    " established.",
                    ctx.absence(policy.applies_when.any_present[0]),
                )
            return ctx.render(Finding("not_applicable", empty=True))
    partials = [ctx.part(part) for part in policy.check.parts()]
    combined = _combine(partials)
    outcome = ctx.render(combined)
    if not facts.complete:
        # On a possibly truncated text neither a pass nor an absence ("no logging host",
        # "no enforcement point here") is proven: the missing lines could be the ones
        # that matter.
        absence_only = all(e.line == 0 for e in outcome.evidence)
        if (
            outcome.status == "pass"
            or (outcome.status == "fail" and absence_only)
            or (outcome.status == "not_applicable" and combined.empty)
        ):
            verdict = "a pass" if outcome.status == "pass" else "an absence"
            return Outcome(
                "inconclusive",
                f"{facts.device}: {facts.incomplete_reason}, so {verdict} cannot be"
                f" established ({outcome.message})",
                outcome.evidence,
            )
    return outcome


def _combine(partials: Sequence[Finding]) -> Finding:
    if len(partials) == 1:
        return partials[0]
    for status in ("fail", "inconclusive", "pass", "not_applicable"):
        chosen = [p for p in partials if p.status == status]
        if chosen:
            return Finding(
                status,
                tuple(i for p in chosen for i in p.items),
                _unique([e for p in chosen for e in p.evidence]),
                sum(p.count for p in chosen),
                sum(p.total for p in partials),
                empty=all(p.empty for p in chosen),
            )
    return partials[0]


class _Context:
    def __init__(
        self,
        policy: Policy,
        facts: DeviceFacts,
        lists: dict[str, DataList],
        verify: Verifier,
        project: Project | None,
    ) -> None:
        self.project = project
        self.verify = verify
        self.policy = policy
        self.facts = facts
        self.lists = lists
        self.in_use: set[str] = set()

    def part(self, part: Check) -> Finding:
        if part.semantic is not None:
            return analyse(part.semantic.name, self.facts, self.project, part.semantic.params)
        if part.value is not None:
            self.in_use = {p.split(".")[0] for p in part.value.expect.field_paths()}
            return self.value(part.value)
        kind, check = next(
            (k, c)
            for k, c in (("all", part.all), ("none", part.none), ("exists", part.exists))
            if c is not None
        )
        # Notes explain derived values: show only those about fields this check reads.
        self.in_use = {
            p.split(".")[0]
            for cond in (check.where, check.expect)
            if cond
            for p in cond.field_paths()
        }
        return self.collection(kind, check)

    # --- check kinds --------------------------------------------------------------------

    def value(self, check: ValueCheck) -> Finding:
        item = getattr(self.facts, check.fact)
        if item is None:
            return self._unknown_fact(check.fact, check.if_unknown)
        verdict = self.test(check.expect, item)
        status: Status = "pass" if verdict.value else "fail"
        if verdict.value is None:
            status = "inconclusive"
        evidence = item.evidence_for(self.in_use)
        return Finding(status, (self.render_item(item, verdict),), evidence, 1, 1)

    def collection(self, kind: str, check: CollectionCheck) -> Finding:
        items: tuple[Item, ...] | None = getattr(self.facts, check.items)
        if items is None:
            return self._unknown_fact(check.items, "inconclusive")
        selected: list[tuple[Item, _Verdict]] = []
        unsure: list[tuple[Item, _Verdict]] = []
        for item in items:
            verdict = self.test(check.where, item) if check.where else _Verdict(True)
            if verdict.value is True:
                selected.append((item, verdict))
            elif verdict.value is None:
                unsure.append((item, verdict))
        if kind == "all":
            assert check.expect is not None  # guaranteed by Check's validator
            judged = [(i, self.test(check.expect, i)) for i, _ in selected]
            failing = [(i, v) for i, v in judged if v.value is False]
            unknown = [(i, v) for i, v in judged if v.value is None] + unsure
            if not selected and not unsure:
                return Finding(
                    check.if_empty or "pass", empty=True, evidence=self.absence(check.items)
                )
            return self._decide(failing, unknown, [i for i, _ in selected])
        if kind == "none":
            if not items:
                return Finding(
                    check.if_empty or "pass", empty=True, evidence=self.absence(check.items)
                )
            return self._decide(selected, unsure, list(items))
        # exists: one matching item is enough evidence.
        if selected:
            return self._partial("pass", selected, len(items))
        if unsure:
            return self._partial("inconclusive", unsure, len(items))
        return Finding(
            check.if_empty or "fail",
            total=len(items),
            empty=True,
            evidence=self.absence(check.items),
        )

    def _decide(
        self,
        failing: list[tuple[Item, _Verdict]],
        unknown: list[tuple[Item, _Verdict]],
        considered: list[Item],
    ) -> Finding:
        if failing:
            return self._partial("fail", failing, len(considered))
        if unknown:
            return self._partial("inconclusive", unknown, len(considered))
        return Finding(
            "pass",
            tuple(self.render_item(i, _Verdict(True)) for i in considered),
            _unique([e for i in considered for e in i.evidence_for(self.in_use)]),
            0,
            len(considered),
        )

    def _partial(
        self, status: Status, pairs: Sequence[tuple[Item, _Verdict]], total: int
    ) -> Finding:
        return Finding(
            status,
            tuple(self.render_item(i, v) for i, v in pairs),
            _unique([e for i, _ in pairs for e in i.evidence_for(self.in_use)]),
            len(pairs),
            total,
        )

    def absence(self, name: str) -> tuple[SourceLine, ...]:
        # Absence rests on the whole file: line 0 says so instead of pointing at a line.
        return (
            SourceLine(
                source=self.facts.source,
                line=0,
                text=f"(no {name.replace('_', ' ')} in {self.facts.line_count} lines)",
            ),
        )

    def _unknown_fact(self, name: str, status: Status) -> Finding:
        return Finding(status, (f"the {self.facts.platform} parser cannot establish '{name}'",))

    # --- conditions ---------------------------------------------------------------------

    def test(self, cond: Condition | None, item: BaseModel) -> _Verdict:
        if cond is None:
            return _Verdict(True)
        verdicts = [
            self.field_test(test, _resolve(item, path)) for path, test in cond.fields.items()
        ]
        if cond.all_of:
            verdicts.extend(self.test(sub, item) for sub in cond.all_of)
        if cond.any_of:
            verdicts.append(_any([self.test(sub, item) for sub in cond.any_of]))
        if cond.not_ is not None:
            inner = self.test(cond.not_, item)
            verdicts.append(
                _Verdict(None if inner.value is None else not inner.value, reason=inner.reason)
            )
        return _all(verdicts)

    def field_test(self, test: FieldTest, value: Any) -> _Verdict:
        if test.known is not None and (value is None) == test.known:
            return _Verdict(False)
        if value is None:
            return _Verdict(True if test.known is False else None)
        results = [
            self.apply(op, getattr(test, op), value)
            for op in sorted(test.model_fields_set)
            if op != "known"
        ]
        return _all(results)

    def apply(self, op: str, arg: Any, value: Any) -> _Verdict:
        if op == "none_in_list":
            # The elements found in the list are what a failure names ({match}).
            hits = [str(x) for x in value if self.lists[arg].contains(str(x)) is not None]
            return _Verdict(not hits, ", ".join(hits) or None)
        if op in ("in_list", "not_in_list"):
            verdict = self.list_match(self.lists[arg], value)
            if op == "not_in_list" and verdict.value is not None:
                return _Verdict(not verdict.value, verdict.match)
            return verdict
        return _Verdict(_OPS[op](value, arg))

    def list_match(self, data_list: DataList, value: Any) -> _Verdict:
        if isinstance(value, Secret):
            found, match = self.verify(value.storage_type, value.value, data_list.entries)
            reason = None
            if found is None:
                reason = (
                    f"the stored type {value.storage_type} value cannot be checked"
                    " (unknown hash type, or redacted)"
                )
            return _Verdict(found, match, reason)
        match = data_list.contains(str(value))
        return _Verdict(match is not None, match)

    # --- messages -----------------------------------------------------------------------

    def render_item(self, item: Item, verdict: _Verdict) -> str:
        fields: dict[str, Any] = {
            k: _show(getattr(item, k))
            for k in type(item).model_fields
            if k not in {"secret", "evidence", "notes"}
        }
        notes = [why for name, why in item.notes.items() if name in self.in_use]
        fields["match"] = verdict.match or ""
        fields["note"] = "; ".join(notes)
        template = self.policy.messages.item
        if "{match}" in template and not verdict.match:
            template = "{label}"  # an unknown or non-matching item has no list entry to name
        text = template.format(**fields)
        extra = ([verdict.reason] if verdict.reason else []) + (
            [] if "{note}" in template else notes
        )
        return text + (f" ({'; '.join(extra)})" if extra else "")

    def render(self, partial: Finding) -> Outcome:
        messages = self.policy.messages
        templates = {
            "pass": messages.pass_,
            "fail": messages.fail,
            "inconclusive": messages.inconclusive,
            "not_applicable": messages.not_applicable,
        }
        template = messages.empty if partial.empty and messages.empty else None
        template = template or templates.get(partial.status)
        if template is None:
            template = (
                "{device}: could not be decided: {items}."
                if partial.status == "inconclusive"
                else f"{{device}}: {self.policy.id} is not applicable."
            )
        message = template.format(
            device=self.facts.device,
            count=partial.count,
            total=partial.total,
            items="; ".join(partial.items) or "none",
            source=self.facts.source,
        )
        return Outcome(partial.status, message, partial.evidence, partial.covers)


def _resolve(item: BaseModel, path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def _all(verdicts: Sequence[_Verdict]) -> _Verdict:
    # Every list entry that matched (weak ciphers and weak MACs), in the order tested.
    match = ", ".join(dict.fromkeys(v.match for v in verdicts if v.match)) or None
    reason = next((v.reason for v in verdicts if v.reason), None)
    if any(v.value is False for v in verdicts):
        return _Verdict(False, match)
    if any(v.value is None for v in verdicts):
        return _Verdict(None, match, reason)
    return _Verdict(True, match)


def _any(verdicts: Sequence[_Verdict]) -> _Verdict:
    if any(v.value is True for v in verdicts):
        return _Verdict(True, next((v.match for v in verdicts if v.value and v.match), None))
    if any(v.value is None for v in verdicts):
        return _Verdict(None, reason=next((v.reason for v in verdicts if v.reason), None))
    return _Verdict(False)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        # Words join with spaces ("ssh telnet"); phrases with semicolons.
        separator = "; " if any(" " in str(v) for v in value) else " "
        return separator.join(str(v) for v in value) or "none"
    return "unknown" if value is None else str(value)


def _unique(lines: Sequence[SourceLine]) -> tuple[SourceLine, ...]:
    seen: dict[tuple[str, int], SourceLine] = {}
    for line in lines:
        seen.setdefault((line.source, line.line), line)
    return tuple(sorted(seen.values(), key=lambda s: (s.source, s.line)))


def _equals(value: Any, arg: Any) -> bool:
    if isinstance(arg, list):
        return tuple(value) == tuple(arg) if isinstance(value, tuple) else False
    return bool(value == arg)


def _compare(op: str) -> Any:
    def compare(value: Any, arg: float) -> bool:
        number = float(value)
        return {"lt": number < arg, "le": number <= arg, "gt": number > arg, "ge": number >= arg}[
            op
        ]

    return compare


_OPS: dict[str, Any] = {
    "equals": _equals,
    "not_equals": lambda v, a: v != a,
    "in_": lambda v, a: v in a,
    "not_in": lambda v, a: v not in a,
    "contains": lambda v, a: a in v,
    "contains_any": lambda v, a: any(x in v for x in a),
    "contains_none": lambda v, a: not any(x in v for x in a),
    "lt": _compare("lt"),
    "le": _compare("le"),
    "gt": _compare("gt"),
    "ge": _compare("ge"),
    "matches": lambda v, a: re.search(a, str(v)) is not None,
}
