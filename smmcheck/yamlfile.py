"""Read YAML data files into pydantic models, with errors that name file, line and field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from smmcheck.errors import SmmcheckError

M = TypeVar("M", bound=BaseModel)


# libyaml when available: policy and mapping files are read on every run.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, error: type[SmmcheckError]) -> tuple[Any, str]:
    """Parse a YAML file; return the data and its text (to locate errors later)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error("cannot read file", where=str(path), why=_reason(exc)) from None
    try:
        data = yaml.load(text, Loader=_LOADER)  # _LOADER is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error("malformed YAML", where=where, why=str(problem)) from None
    except ValueError as exc:
        # PyYAML builds dates itself and lets datetime's ValueError out ("2027-13-01").
        line = _bad_date_line(text)
        where = f"{path}:{line}" if line else str(path)
        raise error("malformed YAML", where=where, why=f"not a calendar date: {exc}") from None
    return data, text


_DATE = re.compile(r"(?<![\w.-])(\d{4})-(\d\d?)-(\d\d?)(?![\w.-]|:\d)")


def _bad_date_line(text: str) -> int | None:
    """The 1-based line of the first ``YYYY-MM-DD`` that is no calendar date."""
    import datetime as dt

    for number, line in enumerate(text.splitlines(), start=1):
        for match in _DATE.finditer(line):
            try:
                dt.date(*(int(g) for g in match.groups()))
            except ValueError:
                return number
    return None


def validate(
    model: type[M],
    data: Any,
    path: Path,
    text: str,
    error: type[SmmcheckError],
    prefix: Sequence[str | int] = (),
) -> M:
    """Validate ``data`` as ``model``; the first problem becomes one ``error`` line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        # Only now is the node tree needed: it maps the field path to a line.
        line = locate(yaml.compose(text, Loader=_LOADER), (*prefix, *loc))
        field = ".".join(str(p) for p in (*prefix, *loc) if p != "fields") or "(top level)"
        msg = first["msg"]
        if first["type"] == "extra_forbidden":
            msg = "unknown field"
        elif first["type"] == "missing":
            msg = "required field is missing"
        where = f"{path}:{line}" if line else str(path)
        raise error(f"invalid field '{field}'", where=where, why=msg) from None


class LocatedProblem(ValueError):
    """A problem found after validation (an unknown field in a check, a flow naming an
    unknown zone), with the ``token`` that :func:`where` uses to find its line."""

    def __init__(self, message: str, token: str) -> None:
        super().__init__(message)
        self.token = token


def where(path: Path, token: str, text: str | None = None, *, nth: int = 1) -> str:
    """``path:LINE`` of the ``nth`` line mentioning ``token`` (``path`` when none does).

    Used for errors found after validation (an unknown field in a check, a mapping naming an
    unknown policy), where pydantic has no location to give.
    """
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return str(path)
    pattern = re.compile(rf"(?<![\w.-]){re.escape(token)}(?![\w-])")
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.search(line):
            seen += 1
            if seen == nth:
                return f"{path}:{number}"
    return str(path)


def locate(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest YAML node on the path ``loc`` (best effort)."""
    line: int | None = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(key)), None)
            if child is None:
                key_node = next((k for k, _ in node.value if k.value == str(key)), None)
                if key_node is not None:
                    found: int = key_node.start_mark.line + 1
                    return found
                continue  # a level pydantic adds that YAML does not have (e.g. `fields`)
            node = child
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                break
            node = node.value[key]
        else:
            continue
        line = node.start_mark.line + 1
    return line


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return getattr(exc, "strerror", None) or str(exc)
