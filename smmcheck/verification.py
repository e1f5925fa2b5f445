"""Verifying an evidence pack: integrity first, then reproduction.

Integrity: every member is a regular file at a safe relative path, listed in pack.json
with its size and sha256, and nothing listed is missing; an unsafe archive is refused
before anything is extracted. Reproduction: the members are extracted into a temporary
folder and checked again with the packed catalogue and project files, as of the pack's
``as_of`` date; every report must come out byte for byte as packed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from smmcheck import __version__
from smmcheck.errors import SmmcheckError, UsageError
from smmcheck.evidence import (
    PACK_JSON,
    SCHEMA,
    PackInfo,
    member_name,
    recheck,
    root_digest,
    safe_member,
)
from smmcheck.results import DeviceRecord, Report, Result

_READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error)


@dataclass
class Verification:
    """What verifying a pack found: one line per problem (none: verified)."""

    info: PackInfo
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reproduced: bool = False


def verify_pack(path: Path, *, use_cache: bool = True) -> Verification:
    """Check a pack's integrity and, when intact, reproduce its results.

    A file that is not a readable pack (not a tar.gz, no or a bad pack.json) is a
    :class:`UsageError`; problems of a readable pack are returned, never raised.
    """
    if not path.is_file():
        raise UsageError("evidence pack not found", where=str(path))
    with _open_pack(path) as (tar, members):
        verification = Verification(_read_info(tar, members, path))
        verification.problems = _check_members(members, verification.info)
        if verification.problems:
            return verification  # refused before anything is extracted
        with tempfile.TemporaryDirectory(prefix="smmcheck-verify-") as tmp:
            verification.problems = _extract(tar, members, verification.info, Path(tmp))
            if not verification.problems:
                _reproduce(Path(tmp), verification, use_cache)
    return verification


@contextlib.contextmanager
def _open_pack(path: Path) -> Iterator[tuple[tarfile.TarFile, list[tarfile.TarInfo]]]:
    """The archive and its members (every header read, nothing extracted)."""
    opened = False
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = tar.getmembers()
            opened = True
            yield tar, members
    except _READ_ERRORS as exc:
        if opened:  # raised while the pack was being verified, not while opening it
            raise
        raise UsageError(
            "not an evidence pack", where=str(path), why=f"not a readable tar.gz ({exc})"
        ) from None


def _read_info(tar: tarfile.TarFile, members: list[tarfile.TarInfo], path: Path) -> PackInfo:
    found = [m for m in members if member_name(m) == PACK_JSON]
    if len(found) != 1 or not found[0].isreg():
        why = "it has no pack.json" if not found else "pack.json is not one regular file"
        raise UsageError("not an evidence pack", where=str(path), why=why)
    try:
        handle = tar.extractfile(found[0])
        assert handle is not None  # a regular file
        data = json.loads(handle.read())
    except (*_READ_ERRORS, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(
            "not an evidence pack", where=f"{path}: {PACK_JSON}", why=str(exc)
        ) from None
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema != SCHEMA:
        raise UsageError(
            "not an evidence pack",
            where=f"{path}: {PACK_JSON}",
            why=f"schema is {schema!r}, expected {SCHEMA!r}",
        )
    try:
        return PackInfo.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(
            "invalid pack.json", where=f"{path}: {PACK_JSON}", why=f"{where}: {first['msg']}"
        ) from None


def _check_members(members: list[tarfile.TarInfo], info: PackInfo) -> list[str]:
    """Names, types and the member list against pack.json, from the headers alone."""
    problems: list[str] = []
    listed = {f.path for f in info.files}
    seen: set[str] = set()
    for member in members:
        name = member_name(member)
        if name == PACK_JSON or (member.isdir() and name in {"", "."}):
            continue
        if not safe_member(name.rstrip("/") if member.isdir() else name):
            problems.append(f"member {name!r}: unsafe path (absolute or '..'): nothing extracted")
        elif member.isdir():
            continue  # folders carry nothing (a pack packed again with `tar` has them)
        elif not member.isreg():
            problems.append(f"member {name}: {_kind(member)}, not a regular file")
        elif name in seen:
            problems.append(f"member {name}: appears twice in the archive")
        elif name not in listed:
            problems.append(f"member {name}: not listed in pack.json")
        seen.add(name)
    problems += [f"member {name}: missing (listed in pack.json)" for name in sorted(listed - seen)]
    unsafe = [p for p in [*listed, *info.directories] if not safe_member(p)]
    problems += [f"pack.json: unsafe path {name!r}" for name in sorted(unsafe)]
    if root_digest(info.files) != info.root_digest:
        problems.append("pack.json: root digest does not match its file list")
    return problems


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"a symbolic link to {member.linkname!r}"
    if member.islnk():
        return f"a hard link to {member.linkname!r}"
    return "a folder" if member.isdir() else "a device or special file"


def _extract(
    tar: tarfile.TarFile, members: list[tarfile.TarInfo], info: PackInfo, folder: Path
) -> list[str]:
    """Write each member (names already checked) under ``folder``, hashing it on the way."""
    problems: list[str] = []
    listed = {f.path: f for f in info.files}
    top = folder.resolve()
    for member in members:
        name = member_name(member)
        if name == PACK_JSON or not member.isreg():
            continue  # folders: created with the files in them
        target = folder / name
        if not target.resolve().is_relative_to(top):  # defence in depth: names are checked
            problems.append(f"member {name}: would be written outside the pack")
            continue
        digest, size = hashlib.sha256(), 0
        try:
            source = tar.extractfile(member)
            assert source is not None  # a regular file
            target.parent.mkdir(parents=True, exist_ok=True)
            with os.fdopen(
                os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb"
            ) as out:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except _READ_ERRORS as exc:
            problems.append(f"member {name}: cannot be extracted ({exc})")
            continue
        expected = listed[name]
        if size != expected.size:
            problems.append(
                f"member {name}: size differs (pack.json {expected.size} bytes, archive {size})"
            )
        elif digest.hexdigest() != expected.sha256:
            problems.append(f"member {name}: sha256 differs from pack.json")
    for name in info.directories:
        (folder / name).mkdir(parents=True, exist_ok=True)
    return problems


def _reproduce(folder: Path, verification: Verification, use_cache: bool) -> None:
    """Check the extracted pack again and compare every report with the packed one."""
    info = verification.info
    if info.tool.version != __version__:
        verification.notes.append(
            f"packed with smmcheck {info.tool.version}, re-checked with {__version__}:"
            " a difference may come from the tool"
        )
    try:
        again = recheck(
            folder, info.run, info.as_of, use_cache=use_cache, tool_version=info.tool.version
        )
    except SmmcheckError as exc:
        verification.problems.append(f"cannot re-check the pack: {exc.line()}")
        return
    verification.reproduced = True
    problems = verification.problems
    summary = again.report.summary
    if summary.exit_code != info.exit_code:
        problems.append(
            f"exit code differs: packed {info.exit_code}, re-checked {summary.exit_code}"
        )
    elif summary != info.summary:
        where = _first_difference(info.summary.model_dump(), summary.model_dump())
        problems.append(f"summary in pack.json differs: {where}")
    packed = {p.name: p.read_bytes() for p in sorted((folder / "results").glob("*")) if p.is_file()}
    differing = []
    for name in sorted(packed.keys() | again.outputs.keys()):
        if name not in again.outputs:
            problems.append(f"results/{name}: in the pack, not produced by the re-check")
        elif name not in packed:
            problems.append(f"results/{name}: produced by the re-check, not in the pack")
        elif packed[name] != again.outputs[name].encode("utf-8"):
            differing.append(name)
    if "results.json" in differing:
        problems.extend(_result_differences(packed["results.json"], again.report))
        others = [n for n in differing if n != "results.json"]
        if others:
            problems.append(f"reports built from them differ too: {', '.join(others)}")
        return
    for name in differing:
        where = ""
        if name.endswith(".json"):
            where = _first_difference(json.loads(packed[name]), json.loads(again.outputs[name]))
        problems.append(
            f"results/{name} differs from the re-check{f' at {where}' if where else ''}"
        )


def _result_differences(packed_json: bytes, again: Report) -> list[str]:
    """One line per device or result that differs; the first differing field otherwise."""
    try:
        packed = Report.model_validate_json(packed_json)
    except ValidationError:
        return ["results/results.json: not a valid results file"]
    lines: list[str] = []
    before, after = {d.name: d for d in packed.devices}, {d.name: d for d in again.devices}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            lines.append(f"devices differ: {name}: {_presence(old, new)}")
        elif old != new:
            where = _first_difference(old.model_dump(mode="json"), new.model_dump(mode="json"))
            lines.append(f"devices differ: {name}: {where}")
    old_results = {(r.device, r.policy): r for r in packed.results}
    new_results = {(r.device, r.policy): r for r in again.results}
    for key in sorted(old_results.keys() | new_results.keys()):
        was, now = old_results.get(key), new_results.get(key)
        label = f"results differ: {key[0]} {key[1]}"
        if was is None or now is None:
            lines.append(f"{label}: {_presence(was, now)}")
        elif was.status != now.status:
            lines.append(f"{label}: packed {was.status}, re-checked {now.status}")
        elif was != now:
            where = _first_difference(was.model_dump(mode="json"), now.model_dump(mode="json"))
            lines.append(f"{label}: {where}")
    if not lines:
        where = _first_difference(
            packed.model_dump(mode="json", by_alias=True),
            again.model_dump(mode="json", by_alias=True),
        )
        lines.append(f"results differ: {where or 'formatting of results.json'}")
    return lines


def _presence(packed: Result | DeviceRecord | None, again: Result | DeviceRecord | None) -> str:
    if packed is not None:
        return f"packed {packed.status}, not in the re-check"
    return f"not in the pack, re-checked {again.status if again else 'nothing'}"


def _first_difference(packed: object, again: object, where: str = "") -> str:
    """``path: packed X, re-checked Y`` for the first difference of two JSON values."""
    if isinstance(packed, dict) and isinstance(again, dict):
        for key in sorted(packed.keys() | again.keys()):
            if packed.get(key) != again.get(key):
                return _first_difference(
                    packed.get(key), again.get(key), f"{where}.{key}".lstrip(".")
                )
    elif isinstance(packed, list) and isinstance(again, list) and len(packed) == len(again):
        for index, (a, b) in enumerate(zip(packed, again, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{where}[{index}]")
    if packed == again:
        return ""
    return f"{where or 'the document'}: packed {_short(packed)}, re-checked {_short(again)}"


def _short(value: object) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else f"{text[:77]}..."
