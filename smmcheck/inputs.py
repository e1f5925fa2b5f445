"""Find and read the configuration files a run is asked to check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from smmcheck.errors import InputError, UsageError

# Files in a folder that are reports, data or notes, never device configurations.
_NOT_CONFIG = {
    ".md",
    ".json",
    ".yaml",
    ".yml",
    ".xml",
    ".html",
    ".sarif",
    ".csv",
    ".txt~",
    ".pyc",
    ".gz",
    ".zip",
    ".tar",
}


@dataclass(frozen=True)
class ConfigFile:
    """A file to check, and whether the user named it (not just its folder)."""

    path: Path
    explicit: bool


def discover(paths: list[Path]) -> list[ConfigFile]:
    """Config files under ``paths`` (files as given; folders recursively, sorted)."""
    found: list[ConfigFile] = []
    for path in paths:
        if not path.exists():
            raise UsageError("path not found", where=str(path))
        if path.is_file():
            found.append(ConfigFile(path, explicit=True))
            continue
        inside = [
            ConfigFile(child, explicit=False)
            for child in sorted(path.rglob("*"))
            if child.is_file()
            and child.suffix.lower() not in _NOT_CONFIG
            and not any(part.startswith(".") for part in child.relative_to(path).parts)
        ]
        if not inside:
            # A gate pointed at the wrong folder must not pass on zero devices.
            raise UsageError(
                "no configuration files found",
                where=str(path),
                why="the folder holds no file that could be a device configuration",
            )
        found.extend(inside)
    return found


def read_config(path: Path) -> str:
    """The text of a config file; InputError when it is unreadable, binary or empty."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            "cannot read file", where=str(path), why=exc.strerror or str(exc)
        ) from None
    if b"\x00" in data[:65536]:
        raise InputError("not a text file", where=str(path), why="it contains NUL bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Banners and descriptions written on old terminals are often Latin-1.
        text = data.decode("latin-1")
    if not text.strip():
        raise InputError("empty file", where=str(path), why="there is no configuration to check")
    return text.lstrip("\ufeff")
