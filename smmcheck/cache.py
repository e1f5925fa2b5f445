"""A facts cache so that unchanged configurations are never parsed twice (nightly re-audits).

Entries are keyed by the sha256 of the text plus everything else the facts depend on
(source name, platform override, smmcheck and ciscoconfparse2 versions, and a digest of the
parser and facts code itself, so that a changed parser never serves stale facts under an
unchanged version number). Files are written
atomically and with owner-only permissions: facts hold the configuration's hashes.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from smmcheck import __version__
from smmcheck.facts import DeviceFacts

Verifier = Callable[[str, str, Sequence[str]], tuple[bool | None, str | None]]


def cache_dir() -> Path:
    """``$SMMCHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/smmcheck``, else ``~/.cache/smmcheck``."""
    explicit = os.environ.get("SMMCHECK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "smmcheck"


@functools.cache
def _code_digest() -> str:
    """A digest of the code that turns text into facts (parsers, ACL model, facts model)."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    files = [package / "facts.py", *sorted((package / "parse").glob("*.py"))]
    files += sorted((package / "acl").glob("*.py"))
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class FactsCache:
    """Facts stored by content key under ``root/facts``."""

    def __init__(self, root: Path, parser_version: str) -> None:
        self.root = root / "facts"
        self.parser_version = parser_version

    def key(self, text: str, *, source: str, platform: str | None) -> str:
        """The cache key for a text as read from ``source``."""
        digest = hashlib.sha256()
        parts = (__version__, _code_digest(), self.parser_version, source, platform or "", text)
        for part in parts:
            digest.update(part.encode("utf-8", "surrogateescape"))
            digest.update(b"\x00")
        return digest.hexdigest()

    def get(self, key: str) -> DeviceFacts | None:
        """Cached facts, or None (a missing or unreadable entry is just a miss)."""
        path = self.root / key[:2] / f"{key}.json"
        try:
            return DeviceFacts.model_validate_json(path.read_bytes())
        except (OSError, ValidationError, ValueError):
            return None

    def put(self, key: str, facts: DeviceFacts) -> None:
        """Store facts; a cache that cannot be written never fails the run."""
        folder = self.root / key[:2]
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(facts.model_dump_json().encode("utf-8"))
            os.replace(tmp, folder / f"{key}.json")
        except OSError:
            return


class SecretMemo:
    """Remembers which stored secrets are known *not* to match a default-password list.

    Checking a type 8/9 secret hashes every list entry with scrypt or PBKDF2 (~0.4 s per
    secret for the built-in list); secrets rarely change between nightly runs. Only
    negative verdicts are stored: persisting "this hash is 'cisco'" would write a recovered
    credential to disk.
    """

    def __init__(self, root: Path) -> None:
        self.root = root / "secrets"

    def verifier(self) -> Verifier:
        """A drop-in for :func:`smmcheck.secrets.matching_candidate` backed by this memo."""
        from smmcheck.secrets import matching_candidate

        def verify(
            storage_type: str, value: str, candidates: Sequence[str]
        ) -> tuple[bool | None, str | None]:
            if storage_type not in ("4", "5", "8", "9"):
                return matching_candidate(storage_type, value, candidates)
            digest = hashlib.sha256()
            for part in (storage_type, value, *candidates):
                digest.update(part.encode("utf-8", "surrogateescape") + b"\x00")
            marker = self.root / digest.hexdigest()
            if marker.exists():
                return False, None
            found, match = matching_candidate(storage_type, value, candidates)
            if found is False:
                try:
                    self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
                    marker.touch()
                except OSError:
                    pass
            return found, match

        return verify
