"""Read a Nornir SimpleInventory or an Ansible YAML inventory as smmcheck device settings.

The smmcheck inventory names the files under ``import:`` (see :mod:`smmcheck.inventory`);
this module reads them and gives, per host, one layer of smmcheck settings with the
``file:line`` each value came from. Resolution *inside* the imported inventory follows the
tool's own rules; the result then sits above the smmcheck groups and defaults.

Nornir (hosts file, plus ``groups.yaml`` / ``defaults.yaml`` beside it when present): each
attribute resolves host, then its groups in order (each group before its own parent groups,
depth first), then defaults, as Nornir does.

=====================  =========================================================
Nornir                 smmcheck
=====================  =========================================================
host key               name
hostname               host (else the name)
port / username        port / username (a plain string)
platform               ios, cisco_ios, iosxe, cisco_xe, cisco_iosxe: cisco_ios;
                       nxos, nxos_ssh, cisco_nxos: cisco_nxos; linux; openwrt
data.site, data.tags   site, tags
data.category          category (else data.role)
connection_options     ignored (but see secrets)
=====================  =========================================================

Ansible (YAML inventory: ``all: {hosts:, vars:, children: {GROUP: {hosts:, vars:,
children:}}}``, or top-level groups without ``all``): variables resolve as in Ansible: host
vars, then the host's groups and their parents, deeper groups first; among groups at the same
depth the alphabetically later one wins; ``all`` comes last. A host listed in several groups is
one device. Host ranges (``web[01:10]``) are refused, and so are Jinja templates in the
variables below (apart from the environment lookup for secrets and ``ansible_user``).

============================  =====================================================
Ansible variable              smmcheck
============================  =====================================================
ansible_host / ansible_port   host (else the name) / port
ansible_user                  username
ansible_ssh_private_key_file  key_file
ansible_network_os            ios, cisco.ios.ios: cisco_ios; nxos, cisco.nxos.nxos:
                              cisco_nxos (without it: smmcheck_platform)
smmcheck_site/_category       site / category
smmcheck_tags                 tags, followed by the host's group names (except ``all``
                              and ``ungrouped``), so ``--limit tag:GROUP`` works
============================  =====================================================

Secrets: smmcheck never takes a secret value from a file. A literal ``password`` anywhere in
a Nornir entry, ``connection_options.*.extras.secret``, or ``ansible_password``,
``ansible_ssh_pass``, ``ansible_become_password``, ``ansible_become_pass``,
``ansible_enable_pass`` is an error (the value is never echoed). The one exception is a
reference: ``{{ lookup('env', 'NAME') }}`` becomes ``{env: NAME}`` (password from the first
two, enable from the others). ``!vault`` values and vault-encrypted files are refused.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from smmcheck.errors import UsageError

NORNIR_PLATFORMS = {
    "ios": "cisco_ios",
    "cisco_ios": "cisco_ios",
    "iosxe": "cisco_ios",
    "cisco_xe": "cisco_ios",
    "cisco_iosxe": "cisco_ios",
    "nxos": "cisco_nxos",
    "nxos_ssh": "cisco_nxos",
    "cisco_nxos": "cisco_nxos",
    "linux": "linux",
    "openwrt": "openwrt",
}
ANSIBLE_PLATFORMS = {
    "ios": "cisco_ios",
    "cisco.ios.ios": "cisco_ios",
    "nxos": "cisco_nxos",
    "cisco.nxos.nxos": "cisco_nxos",
}

_SECRET_HINT = (
    "remove it and reference the secret in the smmcheck inventory ({setting}: {{env: NAME}})"
)
_VAULT_WHY = "ansible-vault values are not read; reference the secret in the smmcheck inventory"
_ENV_LOOKUP = re.compile(
    r"""\{\{\s*lookup\(\s*(['"])env\1\s*,\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\2\s*\)\s*\}\}"""
)
_HOST_RANGE = re.compile(r"\[[^\]]*:[^\]]*\]")


class Located(NamedTuple):
    """A setting's value, where it was written and under which key."""

    value: object
    where: str
    key: str


@dataclass(frozen=True)
class ImportedHost:
    """One imported host: its name, where it is listed, and its settings (smmcheck names)."""

    name: str
    where: str
    settings: dict[str, Located]


# --- reading YAML with lines -------------------------------------------------------------


class _Map(dict[Hashable, Any]):
    """A YAML mapping that remembers the line of each key."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[Hashable, int] = {}


class _Vault(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line
        self.key: str | None = None


class _Duplicate(Exception):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


class _Loader(yaml.SafeLoader):
    """The safe loader, keeping key lines, refusing repeated keys and spotting ``!vault``."""


def _construct_map(loader: _Loader, node: yaml.Node) -> _Map:
    assert isinstance(node, yaml.MappingNode)
    own = {id(key) for key, _ in node.value}  # before merge keys (<<) are flattened in
    loader.flatten_mapping(node)
    result = _Map(node.start_mark.line + 1)
    seen: set[Hashable] = set()
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            )
        if id(key_node) in own:
            if key in seen:
                raise _Duplicate(str(key), line)
            seen.add(key)
        try:
            result[key] = loader.construct_object(value_node, deep=True)
        except _Vault as exc:
            exc.key = exc.key or str(key)
            raise
        result.lines[key] = line
    return result


def _construct_vault(loader: _Loader, node: yaml.Node) -> None:
    raise _Vault(node.start_mark.line + 1)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("!vault", _construct_vault)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror
        raise UsageError("cannot read import file", where=str(path), why=why) from None
    if text.lstrip().startswith("$ANSIBLE_VAULT"):
        raise UsageError("file is encrypted with ansible-vault", where=str(path), why=_VAULT_WHY)
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader
    except _Vault as exc:
        what = f"'{exc.key}' is a !vault value" if exc.key else "!vault value"
        raise UsageError(what, where=f"{path}:{exc.line}", why=_VAULT_WHY) from None
    except _Duplicate as exc:
        raise UsageError(f"key '{exc.key}' is given twice", where=f"{path}:{exc.line}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError("malformed YAML", where=where, why=str(problem)) from None


def _at(path: Path, mapping: _Map, key: Hashable) -> str:
    return f"{path}:{mapping.lines.get(key, mapping.line)}"


def _mapping(value: object, path: Path, where: str, what: str) -> _Map | None:
    """``value`` as a mapping (None when empty); UsageError when it is something else."""
    if value is None or isinstance(value, _Map):
        return value
    raise UsageError(f"{what} must be a mapping", where=where or str(path))


def _first(layers: Iterable[dict[str, Located]], key: str) -> Located | None:
    return next((layer[key] for layer in layers if key in layer), None)


def _secret_error(key: str, where: str, setting: str) -> UsageError:
    return UsageError(
        f"'{key}' holds a secret: smmcheck never takes secret values from a file",
        where=where,
        hint=_SECRET_HINT.format(setting=setting),
    )


# --- Nornir --------------------------------------------------------------------------------

_NORNIR_KEYS = frozenset(
    {"hostname", "port", "username", "password", "platform", "groups", "data", "connection_options"}
)


@dataclass
class _NornirEntry:
    attrs: dict[str, Located] = field(default_factory=dict)
    groups: list[Located] = field(default_factory=list)


def import_nornir(
    hosts_file: Path, group_file: Path | None, defaults_file: Path | None
) -> list[ImportedHost]:
    """The hosts of a Nornir SimpleInventory, each with its settings resolved in Nornir."""
    hosts = _nornir_entries(hosts_file, "host")
    groups = _nornir_entries(group_file, "group") if group_file else {}
    defaults = _NornirEntry()
    if defaults_file:
        body = _mapping(_read(defaults_file), defaults_file, "", "the defaults file")
        defaults = _nornir_entry(body, defaults_file, "defaults", allow_groups=False)
    imported = []
    for name, (where, entry) in hosts.items():
        order = _nornir_group_order(entry.groups, groups, [])
        layers = [entry.attrs, *(groups[g][1].attrs for g in order), defaults.attrs]
        settings: dict[str, Located] = {}
        for key in ("host", "port", "username", "platform", "site", "tags"):
            if (found := _first(layers, key)) is not None:
                settings[key] = found
        if (category := _first(layers, "category") or _first(layers, "role")) is not None:
            settings["category"] = category
        settings.setdefault("host", Located(name, where, "name"))
        imported.append(ImportedHost(name, where, settings))
    return imported


def _nornir_entries(path: Path, kind: str) -> dict[str, tuple[str, _NornirEntry]]:
    body = _mapping(_read(path), path, "", f"a Nornir {kind}s file")
    if body is None:
        return {}
    entries = {}
    for name, value in body.items():
        where = _at(path, body, name)
        entry = _mapping(value, path, where, f"{kind} '{name}'")
        entries[str(name)] = (where, _nornir_entry(entry, path, f"{kind} '{name}'", True))
    return entries


def _nornir_entry(body: _Map | None, path: Path, owner: str, allow_groups: bool) -> _NornirEntry:
    entry = _NornirEntry()
    if body is None:
        return entry
    _refuse_nornir_secrets(body, path, in_extras=False)
    for key, value in body.items():
        where = _at(path, body, key)
        if key not in _NORNIR_KEYS or (key == "groups" and not allow_groups):
            raise UsageError(f"unknown field '{key}' in Nornir {owner}", where=where)
        if value is None or key in ("password", "connection_options"):
            continue
        if key == "platform":
            if value not in NORNIR_PLATFORMS:
                raise UsageError(
                    f"unknown Nornir platform '{value}'",
                    where=where,
                    hint=f"supported: {', '.join(NORNIR_PLATFORMS)}",
                )
            entry.attrs["platform"] = Located(NORNIR_PLATFORMS[str(value)], where, key)
        elif key == "groups":
            if not isinstance(value, list):
                raise UsageError(f"'groups' of Nornir {owner} must be a list", where=where)
            entry.groups = [Located(str(g), where, key) for g in value]
        elif key == "data":
            data = _mapping(value, path, where, f"'data' of Nornir {owner}")
            for data_key in ("site", "category", "role", "tags"):
                if data is not None and data.get(data_key) is not None:
                    found = Located(data[data_key], _at(path, data, data_key), f"data.{data_key}")
                    entry.attrs[data_key] = found
        else:
            entry.attrs["host" if key == "hostname" else str(key)] = Located(value, where, key)
    return entry


def _refuse_nornir_secrets(value: object, path: Path, in_extras: bool) -> None:
    """A literal ``password`` anywhere, or ``secret`` under ``extras``, is an error."""
    if isinstance(value, list):
        for item in value:
            _refuse_nornir_secrets(item, path, in_extras=False)
    if not isinstance(value, _Map):
        return
    for key, item in value.items():
        literal = item is not None and item != ""
        if literal and (key == "password" or (in_extras and key == "secret")):
            setting = "password" if key == "password" else "enable"
            label = "extras.secret" if key == "secret" else "password"
            raise _secret_error(label, _at(path, value, key), setting)
        _refuse_nornir_secrets(item, path, in_extras=key == "extras")


def _nornir_group_order(
    names: list[Located], groups: dict[str, tuple[str, _NornirEntry]], stack: list[str]
) -> list[str]:
    """Groups in Nornir's lookup order: each group, then its own parents, depth first."""
    order: list[str] = []
    for ref in names:
        name = str(ref.value)
        if name not in groups:
            raise UsageError(f"unknown Nornir group '{name}'", where=ref.where)
        if name in stack:
            raise UsageError(f"Nornir group '{name}' is its own parent", where=ref.where)
        for found in [name, *_nornir_group_order(groups[name][1].groups, groups, [*stack, name])]:
            if found not in order:
                order.append(found)
    return order


# --- Ansible -------------------------------------------------------------------------------

_ANSIBLE_VARS = {
    "ansible_host": "host",
    "ansible_port": "port",
    "ansible_user": "username",
    "ansible_ssh_private_key_file": "key_file",
    "ansible_network_os": "network_os",
    "smmcheck_platform": "smmcheck_platform",
    "smmcheck_site": "site",
    "smmcheck_category": "category",
    "smmcheck_tags": "tags",
}
# In priority order when one vars block has more than one for the same setting.
_ANSIBLE_SECRETS = {
    "ansible_password": "password",
    "ansible_ssh_pass": "password",
    "ansible_become_password": "enable",
    "ansible_become_pass": "enable",
    "ansible_enable_pass": "enable",
}
_GROUP_KEYS = ("hosts", "vars", "children")
_NO_TAG = ("all", "ungrouped")


@dataclass
class _AnsibleGroup:
    where: str
    attrs: dict[str, Located] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)
    parents: set[str] = field(default_factory=set)


@dataclass
class _AnsibleHost:
    where: str
    attrs: dict[str, Located] = field(default_factory=dict)
    groups: set[str] = field(default_factory=set)


def import_ansible(path: Path) -> list[ImportedHost]:
    """The hosts of an Ansible YAML inventory, each with its variables resolved as Ansible."""
    body = _mapping(_read(path), path, "", "an Ansible inventory")
    groups: dict[str, _AnsibleGroup] = {"all": _AnsibleGroup(str(path))}
    hosts: dict[str, _AnsibleHost] = {}
    for name, value in (body or {}).items():
        where = _at(path, body, name) if body is not None else str(path)
        _walk(str(name), value, None if name == "all" else "all", where, path, groups, hosts)
    depth: dict[str, int] = {}
    _depths("all", 0, [], groups, depth)
    imported = []
    for name, host in hosts.items():
        member = _ancestors(host.groups, groups)
        order = sorted(member, key=lambda g: (depth.get(g, 0), g), reverse=True)
        layers = [host.attrs, *(groups[g].attrs for g in order)]
        settings: dict[str, Located] = {}
        for key in ("host", "port", "username", "key_file", "site", "category", "password"):
            if (found := _first(layers, key)) is not None:
                settings[key] = found
        if (enable := _first(layers, "enable")) is not None:
            settings["enable"] = enable
        if (
            platform := _first(layers, "network_os") or _first(layers, "smmcheck_platform")
        ) is not None:
            settings["platform"] = platform
        settings.setdefault("host", Located(name, host.where, "name"))
        group_tags = sorted(g for g in member if g not in _NO_TAG)
        tags = _first(layers, "tags")
        if tags is None:
            if group_tags:
                settings["tags"] = Located(group_tags, host.where, "groups")
        elif isinstance(tags.value, list):
            merged = [*tags.value, *(g for g in group_tags if g not in tags.value)]
            settings["tags"] = tags._replace(value=merged)
        else:
            settings["tags"] = tags  # not a list: validation reports it with its line
        imported.append(ImportedHost(name, host.where, settings))
    return imported


def _walk(
    name: str,
    value: object,
    parent: str | None,
    where: str,
    path: Path,
    groups: dict[str, _AnsibleGroup],
    hosts: dict[str, _AnsibleHost],
) -> None:
    group = groups.setdefault(name, _AnsibleGroup(where))
    if parent is not None:
        group.parents.add(parent)
        if name not in groups[parent].children:
            groups[parent].children.append(name)
    body = _mapping(value, path, where, f"Ansible group '{name}'")
    if body is None:
        return
    for key in body:
        if key not in _GROUP_KEYS:
            raise UsageError(
                f"unknown key '{key}' in Ansible group '{name}'",
                where=_at(path, body, key),
                hint="a group has only hosts, vars and children",
            )
    group.attrs.update(_ansible_vars(body.get("vars"), path, _at(path, body, "vars"), name))
    host_map = _mapping(body.get("hosts"), path, _at(path, body, "hosts"), f"hosts of '{name}'")
    for host_name, host_vars in (host_map or {}).items():
        host_where = _at(path, host_map, host_name) if host_map is not None else str(path)
        if _HOST_RANGE.search(str(host_name)):
            raise UsageError(
                f"host range '{host_name}' is not supported",
                where=host_where,
                hint="list the hosts one by one",
            )
        host = hosts.setdefault(str(host_name), _AnsibleHost(host_where))
        host.groups.add(name)
        host.attrs.update(_ansible_vars(host_vars, path, host_where, f"host '{host_name}'"))
    children = _mapping(
        body.get("children"), path, _at(path, body, "children"), f"children of '{name}'"
    )
    for child, child_value in (children or {}).items():
        child_where = _at(path, children, child) if children is not None else str(path)
        _walk(str(child), child_value, name, child_where, path, groups, hosts)


def _ansible_vars(value: object, path: Path, where: str, owner: str) -> dict[str, Located]:
    """The smmcheck settings one Ansible vars block gives (secrets as ``{env: NAME}``)."""
    body = _mapping(value, path, where, f"vars of {owner}")
    attrs: dict[str, Located] = {}
    if body is None:
        return attrs
    for key in [*_ANSIBLE_SECRETS, *_ANSIBLE_VARS]:
        raw = body.get(key)
        if raw is None or (raw == "" and key in _ANSIBLE_SECRETS):
            continue
        at = _at(path, body, key)
        name = _env_reference(raw)
        if key in _ANSIBLE_SECRETS:
            setting = _ANSIBLE_SECRETS[key]
            if name is None:
                raise _secret_error(key, at, setting)
            attrs.setdefault(setting, Located({"env": name}, at, key))
        elif key == "ansible_user" and name is not None:
            attrs["username"] = Located({"env": name}, at, key)
        elif isinstance(raw, str) and "{{" in raw:
            raise UsageError(
                f"'{key}' is a Jinja template, which smmcheck does not evaluate",
                where=at,
                hint="give the value itself, or set it in the smmcheck inventory",
            )
        elif key == "ansible_network_os":
            if raw not in ANSIBLE_PLATFORMS:
                raise UsageError(
                    f"unknown ansible_network_os '{raw}'",
                    where=at,
                    hint=f"supported: {', '.join(ANSIBLE_PLATFORMS)}; or set smmcheck_platform",
                )
            attrs["network_os"] = Located(ANSIBLE_PLATFORMS[str(raw)], at, key)
        else:
            attrs[_ANSIBLE_VARS[key]] = Located(raw, at, key)
    return attrs


def _env_reference(value: object) -> str | None:
    """``NAME`` when ``value`` is exactly ``{{ lookup('env', 'NAME') }}``."""
    if not isinstance(value, str):
        return None
    match = _ENV_LOOKUP.fullmatch(value.strip())
    return match.group(3) if match else None


def _depths(
    name: str, level: int, stack: list[str], groups: dict[str, _AnsibleGroup], depth: dict[str, int]
) -> None:
    """Each group's depth below ``all`` (the longest path, as Ansible counts it)."""
    if name in stack:
        raise UsageError(f"Ansible group '{name}' is its own parent", where=groups[name].where)
    if depth.get(name, -1) >= level:
        return
    depth[name] = level
    for child in groups[name].children:
        _depths(child, level + 1, [*stack, name], groups, depth)


def _ancestors(names: Iterable[str], groups: dict[str, _AnsibleGroup]) -> set[str]:
    found: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(groups[name].parents)
    return found


__all__ = [
    "ANSIBLE_PLATFORMS",
    "NORNIR_PLATFORMS",
    "ImportedHost",
    "Located",
    "import_ansible",
    "import_nornir",
]
