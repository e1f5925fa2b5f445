"""Turn IOS-like text into a tree of lines with ciscoconfparse2, banners set aside.

This is the only module that imports ciscoconfparse2 (it costs ~0.7 s to import, so it is
imported on first use, not at start-up).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from smmcheck.errors import SmmcheckError


@dataclass(frozen=True, slots=True)
class Node:
    """A configuration line (1-based ``line``, stripped ``text``) and its child lines."""

    line: int
    text: str
    children: tuple[Node, ...] = ()

    def words(self) -> list[str]:
        """The line split on whitespace."""
        return self.text.split()

    def walk(self) -> Iterator[Node]:
        """This node's children, depth first."""
        for child in self.children:
            yield child
            yield from child.walk()


@cache
def _parser_class() -> Any:
    if sys.flags.optimize:
        # ciscoconfparse2 fails to import under -O and its background logger then hangs.
        raise SmmcheckError(
            "smmcheck cannot run under 'python -O'",
            why="ciscoconfparse2 needs assert statements",
            hint="run without -O / PYTHONOPTIMIZE",
        )
    from ciscoconfparse2 import CiscoConfParse
    from loguru import logger

    # Importing ciscoconfparse2 installs a stdout loguru handler whose tracebacks can
    # include config text; smmcheck's own output must stay clean and secret-free.
    logger.remove()
    logger.disable("ciscoconfparse2")
    return CiscoConfParse


def parser_version() -> str:
    """The ciscoconfparse2 version (part of the facts cache key)."""
    from importlib.metadata import version

    return version("ciscoconfparse2")


def build_tree(lines: list[str], syntax: str = "ios") -> tuple[list[Node], list[Node]]:
    """Parse ``lines``; return the top-level configuration nodes and the banner nodes.

    Banner bodies are free text, not configuration: ciscoconfparse2 makes them children of
    the ``banner`` line (and lists some twice), so they are kept apart from the config tree.
    """
    parse = _parser_class()(lines, syntax=syntax, ignore_blank_lines=False)
    config: list[Node] = []
    banners: list[Node] = []
    for obj in parse.objs:
        if obj.parent is not obj:
            continue
        node = _node(obj)
        if obj.text.startswith("banner "):
            banners.append(node)
        else:
            config.append(node)
    return config, banners


def _node(obj: Any) -> Node:
    seen: set[int] = set()
    children = []
    for child in obj.children:
        # ciscoconfparse2 repeats some children (banner bodies); keep each line once.
        if child.linenum in seen:
            continue
        seen.add(child.linenum)
        children.append(_node(child))
    return Node(obj.linenum + 1, obj.text.strip(), tuple(children))
