"""Encryption at rest on a Linux gateway: which mounted file systems sit on dm-crypt, with
which cipher and key size.

Two read-only outputs establish it:

- ``lsblk -J -o NAME,TYPE,FSTYPE,MOUNTPOINT,SIZE`` (artifact ``block-devices``): the block
  device tree, so a file system is encrypted when a ``crypt`` device lies beneath it (LVM on
  LUKS included). Without it nothing is known.
- ``dmsetup table`` (artifact ``dm-table``): one line per target, ``NAME: START LENGTH crypt
  CIPHER KEY IV_OFFSET DEVICE OFFSET [FEATURES]``. The kernel (dm-crypt ``crypt_status``)
  prints KEY as hex, as ``:SIZE:TYPE:DESCRIPTION`` for a key in the kernel keyring (what
  cryptsetup 2 does for LUKS2: ``:64:logon:cryptsetup:UUID-d0``, SIZE in bytes), or ``-``
  for none. Without ``--showkeys`` dmsetup overwrites a hex key with as many ``0`` and
  leaves keyring references as they are (lvm2 ``dmsetup.c``, ``_status``; dmsetup(8)): the
  key size shows, never the key. Anything else leaves the key size unknown.

Which file systems count: everything mounted from persistent storage, swap included (it
holds process memory). Not judged: the boot partitions (``/boot``, ``/boot/*``, ``/efi``),
which firmware and the boot loader must read before any key exists; read-only images
(squashfs, erofs), the same on every unit; RAM-backed devices (zram, ram), nothing at rest.
A LUKS partition that is not open is mounted nowhere, so it is not judged either.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from smmcheck.facts import SourceLine, Volume
from smmcheck.parse.artifacts import Artifact

_BOOT = re.compile(r"^/(?:boot(?:/.*)?|efi)$")
_READ_ONLY_IMAGES = {"squashfs", "erofs"}
_IN_RAM = re.compile(r"^(?:zram|ram)\d+$")
_TABLE_LINE = re.compile(r"^(?P<name>.+?): \d+ \d+ (?P<target>\S+)(?: (?P<params>.*))?$")
_KEYRING = re.compile(r"^:(?P<bytes>\d+):(?P<type>[a-z_]+):")
# capi:xts(aes)-plain64 names the kernel crypto API algorithm directly; nested forms
# (authenc(...), rfc4106(gcm(aes))) carry MAC keys or salts inside the key.
_CAPI = re.compile(r"^capi:(?P<mode>[a-z0-9]+)\((?P<cipher>[a-z0-9]+)\)(?:-.+)?$")
_OLD_SPEC = re.compile(r"^(?P<cipher>[^-:]+)(?::(?P<keycount>\d+))?(?:-(?P<mode>[^-]+))?(?:-.+)?$")
# Modes whose key is the AES key alone; XTS takes two equal AES keys, LRW an AES key and a
# 128-bit tweak key (see _aes_bits).
_SINGLE_KEY_MODES = {"ecb", "cbc", "pcbc", "cts", "ctr", "cfb", "ofb"}
# Three-valued verdicts ordered from worst to best.
_RANK: dict[bool | None, int] = {False: 0, None: 1, True: 2}


@dataclass(frozen=True)
class CryptTarget:
    """A dm-crypt target of ``dmsetup table``: its cipher, and its key size when shown."""

    mapping: str
    cipher: str | None
    key_bits: int | None
    evidence: SourceLine
    key_told: str  # how the key size was told, or why it was not


def crypt_targets(table: Artifact) -> dict[str, tuple[CryptTarget, ...]]:
    """The dm-crypt targets of ``dmsetup table`` by mapping name, other targets skipped.

    A mapping has several while LUKS2 re-encrypts it (old and new cipher side by side). A
    key that is shown (output collected with ``--showkeys``) is redacted in the evidence.
    """
    found: dict[str, list[CryptTarget]] = {}
    for number, line in table.lines():
        parsed = _TABLE_LINE.match(line.strip())
        if parsed is None or parsed["target"] != "crypt":
            continue
        params = (parsed["params"] or "").split(" ")
        cipher = params[0] or None
        key = params[1] if len(params) > 1 else ""
        key_bits, told, secret = _key_size(key)
        shown = line.replace(f" {key}", " <redacted>", 1) if secret else None
        target = CryptTarget(parsed["name"], cipher, key_bits, table.at(number, shown), told)
        found.setdefault(parsed["name"], []).append(target)
    return {name: tuple(targets) for name, targets in found.items()}


def _key_size(key: str) -> tuple[int | None, str, bool]:
    """(key bits, how they were told, whether the field may hold key material)."""
    keyring = _KEYRING.match(key)
    if keyring:
        return int(keyring["bytes"]) * 8, "key size from the kernel keyring reference", False
    if key == "-":
        return None, "the mapping has no key", False
    if not key:
        return None, "the crypt target shows no key field", False
    # Anything but dmsetup's zeros may be a key (an output taken with --showkeys).
    secret = set(key) != {"0"}
    if len(key) % 2 == 0 and re.fullmatch(r"[0-9a-fA-F]+", key):
        return len(key) * 4, "key size from the length of the masked key", secret
    return None, "the key field shows no key size", secret


def aes256_verdict(cipher: str, key_bits: int | None) -> tuple[bool | None, str]:
    """Whether ``cipher`` with a ``key_bits`` key is AES-256, and why, in words."""
    capi = _CAPI.match(cipher)
    spec = capi or (None if cipher.startswith("capi:") else _OLD_SPEC.match(cipher))
    if spec is None:
        return None, f"{cipher}: a cipher specification smmcheck does not model"
    name = spec["cipher"]
    # dm-crypt's default for a bare cipher name is cbc (with the plain IV).
    mode = spec["mode"] or "cbc"
    if name == "paes":
        return None, f"{cipher}: protected-key AES, whose key size is not shown"
    if name != "aes":
        return False, f"{cipher} is not AES"
    keycount = None if capi else spec["keycount"]
    if keycount is not None and int(keycount) > 1:
        return None, f"{cipher}: a key split into {keycount} keys (loop-AES) is not modelled"
    if key_bits is None:
        return None, f"{cipher} with a key of unknown size"
    bits = _aes_bits(mode, key_bits)
    if bits is None:
        return None, f"{cipher}: the {mode} mode is not modelled"
    if bits not in (128, 192, 256):
        return None, f"{cipher} with a {key_bits}-bit key: not a valid AES key size"
    how = f"{cipher} with a {key_bits}-bit key: AES-{bits}"
    if mode == "xts":
        how += " (XTS splits the key in two)"
    elif mode == "lrw":
        how += " (LRW keeps 128 bits of the key for its tweak)"
    return bits == 256, how


def _aes_bits(mode: str, key_bits: int) -> int | None:
    if mode == "xts":
        return key_bits // 2
    if mode == "lrw":
        return key_bits - 128
    return key_bits if mode in _SINGLE_KEY_MODES else None


def volume_facts(blocks: Artifact, table: Artifact | None) -> tuple[Volume, ...] | None:
    """The data-bearing file systems in ``lsblk -J`` output with their encryption (None
    when the output cannot be read); ``table`` is the ``dmsetup table`` output, if any."""
    try:
        roots = json.loads(blocks.text)["blockdevices"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(roots, list):
        return None
    targets = crypt_targets(table) if table is not None else None
    finder = _LineFinder(blocks)
    judged: dict[tuple[str, str], list[Volume]] = {}

    def walk(node: dict[str, Any], parents: tuple[_Device, ...]) -> None:
        path = (*parents, _Device.of(node, finder))
        for mountpoint in _mountpoints(node):
            if _holds_data(path[-1], mountpoint):
                judged.setdefault((path[-1].name, mountpoint), []).append(
                    _volume(path, mountpoint, targets, table)
                )
        for child in node.get("children") or ():
            if isinstance(child, dict):
                walk(child, path)

    for root in roots:
        if isinstance(root, dict):
            walk(root, ())
    # A device that lsblk lists under several parents (a logical volume over two physical
    # volumes) is only as protected as its weakest path.
    volumes = [min(paths, key=lambda v: _RANK[v.aes256]) for paths in judged.values()]
    if not any(v.mountpoint == "/" for v in volumes):
        volumes.insert(0, _unlisted_root(blocks))
    return tuple(volumes)


@dataclass(frozen=True)
class _Device:
    """One node of the lsblk tree, with its ``name`` line (and ``mountpoint`` line)."""

    name: str
    type: str
    fstype: str | None
    lines: tuple[SourceLine, ...]

    @classmethod
    def of(cls, node: dict[str, Any], finder: _LineFinder) -> _Device:
        name = str(node.get("name") or "")
        fstype = node.get("fstype")
        return cls(
            name,
            str(node.get("type") or ""),
            fstype if isinstance(fstype, str) else None,
            finder.next(name),
        )


def _mountpoints(node: dict[str, Any]) -> list[str]:
    # MOUNTPOINTS (util-linux 2.37+) lists every mount of a device; MOUNTPOINT one of them.
    many = node.get("mountpoints")
    if isinstance(many, list):
        return [m for m in many if isinstance(m, str) and m]
    one = node.get("mountpoint")
    return [one] if isinstance(one, str) and one else []


def _holds_data(device: _Device, mountpoint: str) -> bool:
    """Whether a mount holds data at rest that the policy judges (see the module notes)."""
    if _BOOT.match(mountpoint) or device.fstype in _READ_ONLY_IMAGES:
        return False
    return not (device.type == "rom" or _IN_RAM.match(device.name))


def _volume(
    path: tuple[_Device, ...],
    mountpoint: str,
    targets: dict[str, tuple[CryptTarget, ...]] | None,
    table: Artifact | None,
) -> Volume:
    device = path[-1]
    place = "swap" if mountpoint == "[SWAP]" else mountpoint
    # A dm-crypt device set up without cryptsetup (no CRYPT- UUID) is type "dm" to lsblk;
    # dmsetup still shows its crypt target.
    layers = [d for d in path if d.type == "crypt" or (targets and d.name in targets)]
    if layers:
        # Stacked encryption protects the data with its strongest layer.
        judged = [_layer(d, targets, table) for d in reversed(layers)]
        best = max(judged, key=lambda layer: _RANK[layer.aes256])
        on = device.name if best.device == device.name else f"{device.name} on {best.device}"
        return Volume(
            label=f"{place} ({on}, dm-crypt)",
            name=device.name,
            mountpoint=mountpoint,
            encrypted=True,
            cipher=best.cipher,
            key_bits=best.key_bits,
            aes256=best.aes256,
            evidence=_sorted((*device.lines, *best.evidence)),
            notes={"aes256": best.why},
        )
    if any(d.type == "loop" for d in path):
        # The file behind a loop device may sit on an encrypted file system: not shown.
        return Volume(
            label=f"{place} ({device.name})",
            name=device.name,
            mountpoint=mountpoint,
            evidence=device.lines,
            notes={"aes256": "a loop device, whose backing file lsblk does not show"},
        )
    return Volume(
        label=f"{place} ({device.name})",
        name=device.name,
        mountpoint=mountpoint,
        encrypted=False,
        aes256=False,
        evidence=device.lines,
        notes={"aes256": "not on a dm-crypt mapping"},
    )


@dataclass(frozen=True)
class _Layer:
    """What one dm-crypt device in a file system's path contributes."""

    device: str
    aes256: bool | None
    cipher: str | None
    key_bits: int | None
    why: str
    evidence: tuple[SourceLine, ...]


def _layer(
    device: _Device, targets: dict[str, tuple[CryptTarget, ...]] | None, table: Artifact | None
) -> _Layer:
    named = device.lines[:1]
    if targets is None or table is None:
        why = f"dm-crypt mapping {device.name}: its cipher and key size need `dmsetup table`"
        return _Layer(device.name, None, None, None, why, named)
    found = targets.get(device.name)
    if not found:
        why = f"dm-crypt mapping {device.name} is not in the `dmsetup table` output"
        absent = table.whole(f"(no crypt target named {device.name})")
        return _Layer(device.name, None, None, None, why, (*named, absent))
    judged = []
    for target in found:
        if target.cipher is None:
            aes256, why = None, "the crypt target names no cipher"
        else:
            aes256, why = aes256_verdict(target.cipher, target.key_bits)
        if target.key_bits is None:
            why += f" ({target.key_told})"
        judged.append((aes256, why, target))
    # Segments being re-encrypted: the data is only as safe as its weakest segment.
    aes256, why, worst = min(judged, key=lambda j: _RANK[j[0]])
    lines = (*named, *(t.evidence for t in found))
    return _Layer(device.name, aes256, worst.cipher, worst.key_bits, why, lines)


def _unlisted_root(blocks: Artifact) -> Volume:
    why = (
        "the root file system is on no block device that lsblk lists (UBIFS, NFS, an"
        " overlay): its encryption cannot be told"
    )
    return Volume(
        label="/ (not on a listed block device)",
        mountpoint="/",
        evidence=(blocks.whole("(no block device mounted at /)"),),
        notes={"aes256": why},
    )


def _sorted(lines: tuple[SourceLine, ...]) -> tuple[SourceLine, ...]:
    unique = {(s.source, s.line): s for s in lines}
    return tuple(unique[k] for k in sorted(unique))


class _LineFinder:
    """The lines of ``lsblk -J`` output that show each device, in document order.

    lsblk prints a device's fields one per line (util-linux 2.33 and later) or all on one
    line (older releases); either way its ``"name"`` field comes first. A walk of the tree
    meets devices in document order, so the n-th visit of a name is its n-th ``"name"``
    line, and the device's mountpoint is the next ``"mountpoint"`` field before another name.
    """

    def __init__(self, blocks: Artifact) -> None:
        self.blocks = blocks
        self.rows = list(blocks.lines())
        self.visits: dict[str, int] = {}

    def next(self, name: str) -> tuple[SourceLine, ...]:
        field = re.compile(r'"name":\s*' + re.escape(json.dumps(name)))
        starts = [i for i, (_, text) in enumerate(self.rows) if field.search(text)]
        visit = self.visits.get(name, 0)
        self.visits[name] = visit + 1
        if visit >= len(starts):
            return ()
        first = starts[visit]
        found = [self.blocks.at(self.rows[first][0])]
        if '"mountpoint' not in self.rows[first][1]:
            for number, text in self.rows[first + 1 :]:
                if '"name":' in text:
                    break
                if '"mountpoint' in text:
                    found.append(self.blocks.at(number))
                    break
        return tuple(found)
