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

Devices can also come from a Nornir SimpleInventory or an Ansible YAML inventory, named
under ``import:`` (paths relative to this file; then ``devices:`` may be left out)::

    import:
      - {nornir: nornir/hosts.yaml}            # groups.yaml, defaults.yaml beside it if present
      - {ansible: ansible/hosts.yml, groups: [plant-a-switches]}

An imported device resolves its imported settings first (the host, then its imported groups,
as Nornir or Ansible resolves them), then the smmcheck groups its ``import`` entry names under
``groups:``, then ``defaults:``; so secret references usually come from ``defaults:``. Secrets
are never taken from the imported files. The field mapping is in
:mod:`smmcheck.inventory_import`. A device name may appear only once across all sources.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from smmcheck.errors import UsageError
from smmcheck.frozen import Frozen
from smmcheck.inventory_import import ImportedHost, import_ansible, import_nornir
from smmcheck.yamlfile import locate, read_yaml, validate, where

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
    # Extra TLS endpoints for `audit --probe-tls`: a port of this device, or HOST:PORT.
    probe_tls: list[int | str] | None = None

    _password_ref = field_validator("password", "enable", mode="before")(_no_literal_secret)


class Group(Settings):
    """Settings a set of devices inherits."""


class DeviceEntry(Settings):
    """One device as written in the inventory."""

    name: str
    groups: list[str] = Field(default_factory=list)


class ImportEntry(Frozen):
    """One inventory of another tool to take devices from."""

    nornir: str | None = None
    ansible: str | None = None
    group_file: str | None = None
    defaults_file: str | None = None
    groups: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> ImportEntry:
        if (self.nornir is None) == (self.ansible is None):
            raise ValueError("an import has exactly one of 'nornir' or 'ansible'")
        if self.ansible is not None and (self.group_file or self.defaults_file):
            raise ValueError("'group_file' and 'defaults_file' are for a Nornir import")
        return self


class InventoryFile(Frozen):
    """The whole inventory file."""

    defaults: Settings = Field(default_factory=Settings)
    groups: dict[str, Group] = Field(default_factory=dict)
    imports: list[ImportEntry] = Field(default_factory=list, alias="import")
    devices: list[DeviceEntry] = Field(default_factory=list)

    @field_validator("imports", "devices", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return [] if value is None else value


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
    probe_tls: list[int | str] = Field(default_factory=list)

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
    seen = {d.name: where(path, d.name, text) for d in devices}
    for index, entry in enumerate(inventory.imports):
        for host, device in _import(index, entry, inventory, path, text):
            if device.name in seen:
                raise UsageError(
                    f"device '{device.name}' is listed twice",
                    where=host.where,
                    why=f"also at {seen[device.name]}",
                )
            seen[device.name] = host.where
            devices.append(device)
    if not devices:
        line = locate(yaml.compose(text, Loader=yaml.SafeLoader), ("devices",))
        raise UsageError(
            "the inventory has no devices",
            where=f"{path}:{line}" if line else str(path),
            hint="list them under devices:, or import them with import:",
        )
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
    hint = "set {} on the device, a group or defaults"
    return _combine(entry.name, layers, where(path, entry.name, text), hint)


def _import(
    index: int, entry: ImportEntry, inventory: InventoryFile, path: Path, text: str
) -> list[tuple[ImportedHost, Device]]:
    """The devices of one ``import:`` entry, each resolved down to the smmcheck defaults."""

    def file(key: str, value: str) -> Path:
        found = Path(value).expanduser()
        found = found if found.is_absolute() else path.parent / found
        if not found.is_file():
            line = locate(yaml.compose(text, Loader=yaml.SafeLoader), ("import", index, key))
            raise UsageError(
                f"import file not found: {found}", where=f"{path}:{line}" if line else str(path)
            )
        return found

    for group in entry.groups:
        if group not in inventory.groups:
            raise UsageError(
                f"import names unknown group '{group}'", where=where(path, group, text)
            )
    if entry.nornir is not None:
        hosts_file = file("nornir", entry.nornir)
        folder = hosts_file.parent
        group_file = (
            file("group_file", entry.group_file)
            if entry.group_file is not None
            else _if_present(folder / "groups.yaml")
        )
        defaults_file = (
            file("defaults_file", entry.defaults_file)
            if entry.defaults_file is not None
            else _if_present(folder / "defaults.yaml")
        )
        hosts = import_nornir(hosts_file, group_file, defaults_file)
    else:
        hosts = import_ansible(file("ansible", entry.ansible or ""))
    shared = [*(inventory.groups[g] for g in entry.groups), inventory.defaults]
    hint = (
        "set {} in the imported inventory, an smmcheck group in the import's groups:, or defaults"
    )
    return [
        (host, _combine(host.name, [_imported_settings(host), *shared], host.where, hint))
        for host in hosts
    ]


def _if_present(path: Path) -> Path | None:
    return path if path.is_file() else None


def _imported_settings(host: ImportedHost) -> Settings:
    try:
        return Settings.model_validate({k: v.value for k, v in host.settings.items()})
    except ValidationError as exc:
        first = exc.errors()[0]
        origin = host.settings[str(first["loc"][0])]
        raise UsageError(
            f"invalid value for '{origin.key}' of '{host.name}'",
            where=origin.where,
            why=first["msg"],
        ) from None


def _combine(name: str, layers: list[Settings], at: str, hint: str) -> Device:
    """The first setting any layer gives, in order; host and platform are required."""
    resolved: dict[str, object] = {}
    for setting in Settings.model_fields:
        resolved[setting] = next(
            (getattr(layer, setting) for layer in layers if getattr(layer, setting) is not None),
            None,
        )
    for required in ("host", "platform"):
        if resolved[required] is None:
            raise UsageError(
                f"device '{name}' has no {required}", where=at, hint=hint.format(required)
            )
    resolved["port"] = resolved["port"] or 22
    resolved["tags"] = resolved["tags"] or []
    resolved["probe_tls"] = resolved["probe_tls"] or []
    return Device(name=name, **resolved)


__all__ = ["PLATFORMS", "Device", "SecretRef", "load_inventory"]
