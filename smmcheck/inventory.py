"""The inventory: which devices to collect from, and how to reach them.

    defaults:
      username: {env: SMM_USER}
      password: {env: SMM_PASSWORD}      # or key_file: ~/.ssh/id_ed25519, or the SSH agent
    groups:
      plant-a-switches: {platform: cisco_ios, category: switch, site: plant-a,
                         enable: {env: SMM_ENABLE}}
    devices:
      - {name: sw-access-01, host: 10.0.0.11, groups: [plant-a-switches]}
      - {name: gw-01, host: 10.0.0.50, port: 2222, platform: linux, category: gateway}

Settings resolve device, then its groups in order, then defaults (as in Nornir). Secrets
are references only (an environment variable or a file), never values: a literal password
in the file is an error. References are resolved when a device is connected to, and the
values never leave the collector.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from smmcheck.errors import UsageError
from smmcheck.frozen import Frozen
from smmcheck.yamlfile import read_yaml, validate, where

PLATFORMS = ("cisco_ios", "cisco_nxos", "linux", "openwrt")


class SecretRef(Frozen):
    """Where a secret lives: exactly one of an environment variable or a file."""

    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret reference has exactly one of 'env' or 'file'")
        return self

    def describe(self) -> str:
        """Where the secret comes from, for messages (never the value)."""
        return f"environment variable {self.env}" if self.env else f"file {self.file}"

    def resolve(self) -> str:
        """The secret's value; UsageError when it is missing."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise UsageError(f"secret not available: {self.describe()} is not set")
            return value
        path = Path(self.file or "").expanduser()
        try:
            return path.read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            raise UsageError(
                f"secret not available: cannot read {self.describe()}", why=exc.strerror or str(exc)
            ) from None


def _no_literal_secret(value: object) -> object:
    if isinstance(value, str):
        raise ValueError(
            "secrets are never stored in the inventory: use {env: NAME} or {file: PATH}"
        )
    return value


class Settings(Frozen):
    """Connection and classification settings shared by defaults, groups and devices."""

    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    platform: Literal["cisco_ios", "cisco_nxos", "linux", "openwrt"] | None = None
    category: str | None = None
    site: str | None = None
    username: SecretRef | str | None = None
    password: SecretRef | None = None
    key_file: str | None = None
    enable: SecretRef | None = None
    tags: list[str] | None = None

    _password_ref = field_validator("password", "enable", mode="before")(_no_literal_secret)


class Group(Settings):
    """Settings a set of devices inherits."""


class DeviceEntry(Settings):
    """One device as written in the inventory."""

    name: str
    groups: list[str] = Field(default_factory=list)


class InventoryFile(Frozen):
    """The whole inventory file."""

    defaults: Settings = Field(default_factory=Settings)
    groups: dict[str, Group] = Field(default_factory=dict)
    devices: list[DeviceEntry] = Field(min_length=1)


class Device(Frozen):
    """A device with every setting resolved (secrets still as references)."""

    name: str
    host: str
    port: int
    platform: Literal["cisco_ios", "cisco_nxos", "linux", "openwrt"]
    category: str | None = None
    site: str | None = None
    username: SecretRef | str | None = None
    password: SecretRef | None = None
    key_file: str | None = None
    enable: SecretRef | None = None
    tags: list[str] = Field(default_factory=list)

    def matches(self, pattern: str) -> bool:
        """Whether ``--limit PATTERN`` selects this device (name, site, category or tag)."""
        if ":" in pattern:
            key, _, value = pattern.partition(":")
            if key in ("site", "category"):
                return fnmatch.fnmatchcase(getattr(self, key) or "", value)
            if key == "tag":
                return any(fnmatch.fnmatchcase(t, value) for t in self.tags)
        return fnmatch.fnmatchcase(self.name, pattern)


def load_inventory(path: Path, limit: str | None = None) -> list[Device]:
    """Read, validate and resolve an inventory; ``limit`` selects devices by glob."""
    data, text = read_yaml(path, UsageError)
    inventory = validate(InventoryFile, data, path, text, UsageError)
    names = [d.name for d in inventory.devices]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise UsageError(
            f"device '{duplicate}' is listed twice", where=where(path, duplicate, text, nth=2)
        )
    devices = [_resolve(entry, inventory, path, text) for entry in inventory.devices]
    if limit is not None:
        devices = [d for d in devices if d.matches(limit)]
        if not devices:
            raise UsageError(f"--limit {limit!r} selects no device", where=str(path))
    return devices


def _resolve(entry: DeviceEntry, inventory: InventoryFile, path: Path, text: str) -> Device:
    layers: list[Settings] = [entry]
    for group in entry.groups:
        if group not in inventory.groups:
            raise UsageError(
                f"device '{entry.name}' names unknown group '{group}'",
                where=where(path, group, text),
            )
        layers.append(inventory.groups[group])
    layers.append(inventory.defaults)
    resolved: dict[str, object] = {}
    for setting in Settings.model_fields:
        resolved[setting] = next(
            (getattr(layer, setting) for layer in layers if getattr(layer, setting) is not None),
            None,
        )
    for required in ("host", "platform"):
        if resolved[required] is None:
            raise UsageError(
                f"device '{entry.name}' has no {required}",
                where=where(path, entry.name, text),
                hint=f"set {required} on the device, a group or defaults",
            )
    resolved["port"] = resolved["port"] or 22
    resolved["tags"] = resolved["tags"] or []
    return Device(name=entry.name, **resolved)


__all__ = ["PLATFORMS", "Device", "SecretRef", "load_inventory"]
