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
    """A file to check, and whether the user named it (not just its folder).

    Files from a snapshot carry what the manifest knows (device name, platform, site), or
    the ``problem`` that keeps the device from being checked.
    """

    path: Path
    explicit: bool
    device: str | None = None
    platform: str | None = None
    site: str | None = None
    problem: str | None = None


# The output of a snapshot that holds each platform's configuration.
_CONFIG_OUTPUT = {"cisco_ios": "running-config", "cisco_nxos": "running-config"}


def _snapshot_files(folder: Path) -> list[ConfigFile] | None:
    """The configurations in a snapshot folder, or None when it is not a snapshot."""
    from smmcheck.snapshot import read_manifest, sha256_hex

    manifest = read_manifest(folder)
    if manifest is None:
        return None
    found = []
    for device in manifest.devices:
        meta = {"device": device.name, "platform": device.platform, "site": device.site}
        wanted = _CONFIG_OUTPUT.get(device.platform)
        output = next((o for o in device.outputs if o.name == wanted and o.file), None)
        problem = None
        if device.status == "error":
            problem = f"not collected: {device.error}"
        elif wanted is None:
            problem = f"platform {device.platform} cannot be checked yet"
        elif output is None or output.file is None:
            problem = f"the snapshot has no {wanted} output"
        path = folder / (output.file if output and output.file else device.name)
        unchanged = (
            output is not None and path.is_file() and sha256_hex(path.read_bytes()) == output.sha256
        )
        if problem is None and not unchanged:
            problem = "output changed since collection (sha256 differs from the manifest)"
        found.append(ConfigFile(path, explicit=False, problem=problem, **meta))
    return found


def discover(paths: list[Path]) -> list[ConfigFile]:
    """Config files under ``paths`` (files as given; folders recursively, sorted)."""
    found: list[ConfigFile] = []
    for path in paths:
        if not path.exists():
            raise UsageError("path not found", where=str(path))
        if path.is_file():
            found.append(ConfigFile(path, explicit=True))
            continue
        snapshot = _snapshot_files(path)
        if snapshot is not None:
            found.extend(snapshot)
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
