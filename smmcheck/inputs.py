"""Find and read the configuration files a run is asked to check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smmcheck.errors import InputError, UsageError
from smmcheck.snapshot import MANIFEST

if TYPE_CHECKING:
    from smmcheck.parse.artifacts import Artifact
    from smmcheck.snapshot import DeviceCapture, OutputRecord

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
    category: str | None = None
    tags: tuple[str, ...] = ()
    problem: str | None = None
    # A device made of several files or outputs (a Linux gateway): artifact name and path,
    # or None for an artifact known to be absent (the file does not exist on the device).
    artifacts: tuple[tuple[str, Path | None], ...] = ()
    server_version: str | None = None  # the SSH banner's software, from a snapshot


# The output of a snapshot that holds each platform's configuration.
_CONFIG_OUTPUT = {"cisco_ios": "running-config", "cisco_nxos": "running-config"}
# Platforms whose devices are several artifacts (outputs, files) rather than one config.
GATEWAYS = ("linux", "openwrt")
# A file that marks a folder as a device's root file system, and the platform it implies.
_ROOTFS_MARKERS = (("etc/openwrt_release", "openwrt"), ("etc/os-release", "linux"))


def _snapshot_files(folder: Path) -> list[ConfigFile] | None:
    """The configurations in a snapshot folder, or None when it is not a snapshot."""
    from smmcheck.snapshot import read_manifest

    manifest = read_manifest(folder)
    if manifest is None:
        return None
    found = []
    for device in manifest.devices:
        if device.platform in GATEWAYS and device.status == "ok":
            found.append(snapshot_bundle(folder, device))
            continue
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
        if problem is None and not (output is not None and _unchanged(folder, output)):
            problem = "output changed since collection (sha256 differs from the manifest)"
        found.append(_captured(path, device, problem))
    return found


def _unchanged(folder: Path, output: OutputRecord) -> bool:
    """Whether an output's file is still what the manifest recorded."""
    from smmcheck.snapshot import sha256_hex

    path = folder / (output.file or "")
    return (
        output.file is not None
        and path.is_file()
        and (sha256_hex(path.read_bytes()) == output.sha256)
    )


def snapshot_bundle(folder: Path, device: DeviceCapture) -> ConfigFile:
    """A gateway in a snapshot: its complete outputs, and those known to be absent."""
    artifacts: list[tuple[str, Path | None]] = []
    problem = None
    home = folder / device.name
    for output in device.outputs:
        if output.file is None:
            continue
        path = folder / output.file
        home = path.parent
        if not _unchanged(folder, output):
            problem = f"output {output.name} changed since collection (sha256 differs)"
        elif output.complete:
            artifacts.append((output.name, path))
        elif output.problem and "No such file or directory" in output.problem and not output.bytes:
            # `cat` of a file the device does not have: the software is not installed (or
            # `tail DIR/*.conf` of a folder without one). Had it printed anything, some file
            # was there and another was missing (a dangling link): that is unknown.
            artifacts.append((output.name, None))
    if problem is None and not any(path for _, path in artifacts):
        problem = "the snapshot has no complete output for this device"
    return _captured(
        home, device, problem, artifacts=tuple(artifacts), server_version=device.server_version
    )


def _captured(path: Path, device: DeviceCapture, problem: str | None, **extra: Any) -> ConfigFile:
    """A device of a snapshot, with what its manifest knows (inventory name, site ...)."""
    return ConfigFile(
        path,
        explicit=False,
        device=device.name,
        platform=device.platform,
        site=device.site,
        category=device.category,
        tags=tuple(device.tags),
        problem=problem,
        **extra,
    )


def _rootfs(folder: Path) -> ConfigFile | None:
    """A saved root file system (an image, a configuration repository) as one device."""
    from smmcheck.parse.artifacts import ROOTFS_FILES

    platform = next((p for marker, p in _ROOTFS_MARKERS if (folder / marker).is_file()), None)
    if platform is None:
        return None
    artifacts: list[tuple[str, Path | None]] = []
    for relative, name in ROOTFS_FILES.items():
        path = folder / relative
        if path.is_file() and name not in {n for n, _ in artifacts}:
            artifacts.append((name, path))
    if platform == "openwrt":
        # UCI: each /etc/config/<package> file is one artifact, uci-<package>.
        uci = folder / "etc" / "config"
        if uci.is_dir():
            artifacts.extend(
                (f"uci-{path.name}", path) for path in sorted(uci.iterdir()) if path.is_file()
            )
    artifacts.extend(_rootfs_folders(folder))
    if (folder / "etc" / "passwd").is_file() and (folder / "usr").is_dir():
        # A whole image: a file it does not have is known to be absent (no MQTT broker).
        # In a configuration repository a missing file only means it was not kept there.
        for name in ROOTFS_FILES.values():
            if name not in {n for n, _ in artifacts}:
                artifacts.append((name, None))
    hostname = folder / "etc" / "hostname"
    device = None
    if hostname.is_file():
        device = hostname.read_text(encoding="utf-8", errors="replace").strip() or None
    return ConfigFile(
        folder, explicit=True, device=device, platform=platform, artifacts=tuple(artifacts)
    )


def _rootfs_folders(folder: Path) -> list[tuple[str, Path | None]]:
    """The files of ROOTFS_FOLDERS (mosquitto's conf.d), each the artifact NAME/FILE; a
    folder without one, or a whole image without the folder, is NAME, known to be absent."""
    from smmcheck.parse.artifacts import ROOTFS_FOLDERS

    whole_image = (folder / "etc" / "passwd").is_file() and (folder / "usr").is_dir()
    found: list[tuple[str, Path | None]] = []
    for relative, (name, suffix) in ROOTFS_FOLDERS.items():
        where = folder / relative
        files = [
            path
            for path in (sorted(where.iterdir()) if where.is_dir() else ())
            if path.is_file() and path.name.endswith(suffix) and len(path.name) > len(suffix)
        ]
        found.extend((f"{name}/{path.name}", path) for path in files)
        if not files and (where.is_dir() or whole_image):
            found.append((name, None))
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
        root = _rootfs(path)
        if root is not None:
            found.append(root)
            continue
        roots = [
            r
            for marker in sorted(path.rglob("etc/os-release"))
            + sorted(path.rglob("etc/openwrt_release"))
            if (r := _rootfs(marker.parent.parent)) is not None
        ]
        roots = list({r.path: r for r in roots}.values())
        # Snapshots kept inside the folder (a gateway collected beside saved switch configs).
        snapshots: list[Path] = []
        for manifest in sorted(path.rglob(MANIFEST)):
            nested = _snapshot_files(manifest.parent)  # each output hashed once
            if nested is not None:
                snapshots.append(manifest.parent)
                found.extend(nested)
        inside = [
            ConfigFile(child, explicit=False)
            for child in sorted(path.rglob("*"))
            if child.is_file()
            and child.suffix.lower() not in _NOT_CONFIG
            and not any(part.startswith(".") for part in child.relative_to(path).parts)
            and not any(child.is_relative_to(r.path) for r in roots)
            and not any(child.is_relative_to(folder) for folder in snapshots)
        ]
        inside.extend(roots)
        if not inside and not snapshots:
            # A gate pointed at the wrong folder must not pass on zero devices.
            raise UsageError(
                "no configuration files found",
                where=str(path),
                why="the folder holds no file that could be a device configuration",
            )
        found.extend(inside)
    return found


def read_bundle(config: ConfigFile) -> tuple[Artifact, ...]:
    """The artifacts of a multi-file device, read; InputError when one is unreadable."""
    from smmcheck.parse.artifacts import Artifact

    found = []
    for name, path in config.artifacts:
        if path is None:
            found.append(Artifact(name, f"{config.path} ({name}: absent)", "", absent=True))
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(
                "cannot read file", where=str(path), why=exc.strerror or str(exc)
            ) from None
        # An empty sshd_config is legitimate (every setting at its default).
        found.append(Artifact(name, str(path), data.decode("utf-8", errors="replace")))
    if config.server_version:
        found.append(Artifact("ssh-banner", f"{config.path} (SSH banner)", config.server_version))
    return tuple(found)


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
