"""Where the built-in data folders (policies, mappings, collectors) are.

In a wheel they ship inside the package as ``smmcheck/_data/<name>``; in a checkout or an
editable install they are the top-level folders of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


# Where each data folder lives in a checkout, relative to the repository root.
_CHECKOUT = {
    "policies": "policies",
    "mappings": "mappings",
    "collectors": "collectors",
    "demo": "fixtures/demo",
}


def data_dir(name: str) -> Path:
    """The built-in data folder ``name`` (policies, mappings, collectors or demo)."""
    bundled = _PACKAGE / "_data" / name
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / _CHECKOUT[name]
