"""Evidence packs: one tar.gz holding what a check read, the catalogue it used, its project
files and its reports, so that an auditor can verify the results without the devices.

    inputs/      the files the check read, relative to their common folder
    catalogue/   policies/<builtin|extra-N>/…, mappings/<builtin|extra-N>/… (+ the profile)
    project/     the project file, waivers, attestations and profile file
    results/     results.json, junit.xml, results.sarif, maturity.*, compliance-<id>.*
    pack.json    smmcheck.evidence/v1: what ran, as of which date, each file's sha256

Pack and verify run the same :func:`recheck` on a pack's tree, from its top folder: the
sources in the results are pack paths (``inputs/demo/acc-sw01.cfg``) and the run's times
are ``as_of`` at 00:00 UTC, so the same inputs on the same date give the same bytes.
The archive itself is deterministic (sorted members, fixed owner, mode and times).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import os
import shlex
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from smmcheck import __version__
from smmcheck.errors import UsageError
from smmcheck.frozen import Frozen
from smmcheck.inputs import discover
from smmcheck.policies import Severity
from smmcheck.results import Report, Summary, ToolInfo
from smmcheck.snapshot import MANIFEST, read_manifest

SCHEMA = "smmcheck.evidence/v1"
PACK_JSON = "pack.json"
# Files a saved root file system is recognised by (and named after) besides its artifacts:
# without them a re-check would not see the folder as the same device.
_ROOTFS_MARKERS = ("etc/os-release", "etc/openwrt_release", "etc/hostname", "etc/passwd")
# Folders whose presence alone changes what a root file system says (an empty conf.d, a
# whole image's usr/): recorded in pack.json, created again when verified.
_ROOTFS_DIRS = (
    "usr",
    "etc/mosquitto/conf.d",
    "etc/rsyslog.d",
    "etc/systemd/timesyncd.conf.d",
    "etc/chrony/conf.d",
    "etc/chrony/sources.d",
)


class PackedFile(Frozen):
    """One member of the pack."""

    path: str
    sha256: str
    size: int


class RunSpec(Frozen):
    """How the pack's check runs again from its own tree (every path relative to it)."""

    paths: list[str]
    command: str  # the equivalent command on the pack's tree, as the results record it
    platform: str | None = None
    site: str | None = None
    fail_on: Severity = "info"
    project: str | None = None
    waivers: str | None = None
    attestations: str | None = None
    profile: str | None = None  # a built-in profile name, or a file in project/
    profile_set_by: Literal["option", "project"] | None = None
    policies: list[str]
    mappings: list[str]  # the first one holds the SMM catalogue and the built-in profiles


class PackInfo(Frozen):
    """``pack.json``: the pack's table of contents and how to reproduce its results."""

    schema_: str = Field(default=SCHEMA, alias="schema")
    tool: ToolInfo
    created: str
    command: str
    as_of: dt.date  # the UTC date waivers and attestations were judged on
    exit_code: int
    summary: Summary
    run: RunSpec
    directories: list[str] = Field(default_factory=list)
    files: list[PackedFile]
    root_digest: str


@dataclass(frozen=True)
class PackRequest:
    """What to pack: ``check``'s paths and options, as the user gave them."""

    paths: list[Path]
    command: str
    project: Path | None = None
    waivers: Path | None = None
    attestations: Path | None = None
    profile: str | None = None
    policy_dirs: tuple[Path, ...] = ()
    mapping_dirs: tuple[Path, ...] = ()
    platform: str | None = None
    site: str | None = None
    fail_on: Severity = "info"


@dataclass(frozen=True)
class Recheck:
    """A check run on a pack's tree: the report and the files of ``results/``."""

    report: Report
    outputs: dict[str, str]


def member_name(member: tarfile.TarInfo) -> str:
    """A member's name without the ``./`` that `tar -C DIR .` puts in front."""
    name = member.name
    while name.startswith("./"):
        name = name[2:]
    return name


def safe_member(name: str) -> bool:
    """A relative path without ``..``, ``.``, empty parts or backslashes."""
    return (
        bool(name) and "\\" not in name and all(p not in {"", ".", ".."} for p in name.split("/"))
    )


def root_digest(files: Iterable[PackedFile]) -> str:
    """sha256 of the sorted ``sha256  path`` lines (sha256sum's format)."""
    lines = "".join(f"{f.sha256}  {f.path}\n" for f in sorted(files, key=lambda f: f.path))
    return hashlib.sha256(lines.encode()).hexdigest()


# --- pack ------------------------------------------------------------------------------


def write_pack(
    request: PackRequest,
    output: Path,
    *,
    as_of: dt.date | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[PackInfo, Report]:
    """Check ``request`` on a staged copy of its files and write the pack atomically.

    ``as_of`` (default: today in UTC) is the date waivers and attestations are judged on.
    """
    from smmcheck.waivers import utc_today

    now = dt.datetime.now(dt.UTC)
    as_of = as_of or utc_today(now)
    with tempfile.TemporaryDirectory(prefix="smmcheck-pack-") as tmp:
        root = Path(tmp)
        spec, directories = _stage(request, root)
        done = recheck(root, spec, as_of, use_cache=use_cache, progress=progress)
        for name, text in done.outputs.items():
            (root / "results").mkdir(exist_ok=True)
            (root / "results" / name).write_text(text, encoding="utf-8")
        found = (_packed(root, path) for path in root.rglob("*") if path.is_file())
        files = sorted(found, key=lambda f: f.path)
        info = PackInfo(
            tool=ToolInfo(version=__version__),
            created=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            command=request.command,
            as_of=as_of,
            exit_code=done.report.summary.exit_code,
            summary=done.report.summary,
            run=spec,
            directories=directories,
            files=files,
            root_digest=root_digest(files),
        )
        (root / PACK_JSON).write_text(info.model_dump_json(indent=2, by_alias=True) + "\n")
        _write_archive(output, root, [*(f.path for f in files), PACK_JSON])
    return info, done.report


def input_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """The files a check of ``paths`` reads (with snapshot manifests and all their outputs,
    and the files that make a folder a root file system), and the folders whose mere
    presence it looks at; absolute, sorted."""
    files: set[Path] = set()
    folders: set[Path] = set()
    for config in discover(paths):
        if config.artifacts or config.path.is_dir():
            files.update(path for _, path in config.artifacts if path is not None)
            if config.explicit and config.path.is_dir():  # a saved root file system
                files.update(config.path / m for m in _ROOTFS_MARKERS)
                folders.update(config.path / d for d in _ROOTFS_DIRS)
        else:
            files.add(config.path)
    for path in paths:
        if not path.is_dir():
            continue
        top = read_manifest(path)
        manifests = [path / MANIFEST] if top else sorted(path.rglob(MANIFEST))
        for manifest_path in manifests:
            manifest = read_manifest(manifest_path.parent)
            if manifest is None:
                continue
            files.add(manifest_path)
            outputs = (o.file for d in manifest.devices for o in d.outputs if o.file)
            files.update(manifest_path.parent / file for file in outputs)
    found = sorted({_absolute(f) for f in files if f.is_file()})
    return found, sorted({_absolute(d) for d in folders if d.is_dir()})


def _stage(request: PackRequest, root: Path) -> tuple[RunSpec, list[str]]:
    """Copy inputs, catalogue and project files into ``root``; how to check them there."""
    from smmcheck.mapping import load_mappings
    from smmcheck.policies import load_policies
    from smmcheck.profiles import DEFAULT_PROFILE, PROFILE_FOLDER, is_profile_file, profile_path
    from smmcheck.project import load_project
    from smmcheck.resources import data_dir

    files, folders = input_files(request.paths)
    anchors = [_absolute(p).parent for p in request.paths]
    common = Path(os.path.commonpath([*anchors, *(f.parent for f in files), *folders]))
    for file in files:
        _copy(file, root / "inputs" / file.relative_to(common))
    directories = [f"inputs/{d.relative_to(common).as_posix()}" for d in folders]
    for folder in directories:
        (root / folder).mkdir(parents=True, exist_ok=True)
    paths = [f"inputs/{_absolute(p).relative_to(common).as_posix()}" for p in request.paths]

    # The catalogue: exactly the files loaded, per folder in load order.
    policies = load_policies(request.policy_dirs)
    mappings = load_mappings(policies, request.mapping_dirs)
    policy_dirs = _stage_folders(
        root, "policies", [data_dir("policies"), *request.policy_dirs],
        [*policies.origins.values(), *policies.list_origins.values()],
    )  # fmt: skip
    mapping_dirs = _stage_folders(
        root, "mappings", [data_dir("mappings"), *request.mapping_dirs], mappings.files
    )

    # The project and the files it names; an option's file wins over the project's.
    project = load_project(request.project) if request.project else None
    placed: dict[Path, str] = {}

    def place(kind: str, source: Path | None, *, named_by_project: bool = False) -> str | None:
        if source is None:
            return None
        source = _absolute(source)
        if source in placed:
            return placed[source]
        name = source.name
        if named_by_project and request.project is not None:
            base = _absolute(request.project).parent
            name = source.relative_to(base).as_posix() if source.is_relative_to(base) else name
        if f"project/{name}" in placed.values():
            name = f"{kind}/{source.name}"
        _copy(source, root / "project" / name)
        placed[source] = f"project/{name}"
        return placed[source]

    spec_project = place("project", request.project)
    waivers = place("waivers", request.waivers) or place(
        "waivers", project.waivers if project else None, named_by_project=True
    )
    attestations = place("attestations", request.attestations) or place(
        "attestations", project.attestations if project else None, named_by_project=True
    )
    profile = request.profile or (project.profile if project else None)
    set_by: Literal["option", "project"] | None = (
        "option" if request.profile else "project" if profile else None
    )
    if profile is not None and is_profile_file(profile):
        profile = place("profile", profile_path(profile), named_by_project=set_by == "project")
    else:
        builtin = profile or DEFAULT_PROFILE
        _copy(profile_path(builtin), root / mapping_dirs[0] / PROFILE_FOLDER / f"{builtin}.yaml")
    options = [
        *(["--project", spec_project] if spec_project else []),
        *(["--waivers", waivers] if waivers else []),
        *(["--attestations", attestations] if attestations else []),
        *(["--profile", profile] if profile and set_by == "option" else []),
        *(["--platform", request.platform] if request.platform else []),
        *(["--site", request.site] if request.site else []),
        *(["--fail-on", request.fail_on] if request.fail_on != "info" else []),
    ]
    spec = RunSpec(
        paths=paths,
        command=shlex.join(["smmcheck", "evidence", "pack", *paths, *options]),
        platform=request.platform,
        site=request.site,
        fail_on=request.fail_on,
        project=spec_project,
        waivers=waivers,
        attestations=attestations,
        profile=profile,
        profile_set_by=set_by,
        policies=policy_dirs,
        mappings=mapping_dirs,
    )
    return spec, directories


def _stage_folders(root: Path, kind: str, folders: list[Path], loaded: list[Path]) -> list[str]:
    """Copy each loaded file under its folder's name in the pack; the pack's folders."""
    names = [
        f"catalogue/{kind}/{'builtin' if i == 0 else f'extra-{i}'}" for i in range(len(folders))
    ]
    bases = [_absolute(folder) for folder in folders]
    for file in loaded:
        path = _absolute(file)
        index = next(i for i, base in enumerate(bases) if path.is_relative_to(base))
        _copy(path, root / names[index] / path.relative_to(bases[index]))
    for name in names:
        (root / name).mkdir(parents=True, exist_ok=True)  # a user folder may hold nothing
    return names


def recheck(
    root: Path,
    spec: RunSpec,
    as_of: dt.date,
    *,
    use_cache: bool = True,
    tool_version: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Recheck:
    """Check a pack's tree with its own catalogue and project files, as of ``as_of``, and
    render every report of ``results/``. Only the packed policies and mappings are used."""
    from smmcheck.compliance import assess_compliance, known_frameworks
    from smmcheck.mapping import load_mappings
    from smmcheck.maturity_inputs import maturity_inputs
    from smmcheck.policies import load_policies
    from smmcheck.profiles import PROFILE_FOLDER
    from smmcheck.project import load_project
    from smmcheck.report import render
    from smmcheck.report.compliance import render_compliance
    from smmcheck.report.maturity import render_maturity
    from smmcheck.runner import CheckOptions, run_check

    waivers = Path(spec.waivers) if spec.waivers else None
    attestations = Path(spec.attestations) if spec.attestations else None
    with contextlib.chdir(root):
        policies = load_policies([Path(p) for p in spec.policies], builtin=False)
        mappings = load_mappings(policies, [Path(p) for p in spec.mappings], builtin=False)
        project = load_project(Path(spec.project)) if spec.project else None
        if project is not None:  # the packed files, wherever the project file says they are
            own_profile = spec.profile if spec.profile_set_by == "project" else None
            update = {"waivers": waivers, "attestations": attestations, "profile": own_profile}
            project = project.model_copy(update=update)
        maturity = maturity_inputs(
            mappings,
            project,
            profile=spec.profile if spec.profile_set_by == "option" else None,
            attestations=attestations,
            profiles=Path(spec.mappings[0]) / PROFILE_FOLDER,
        )
        options = CheckOptions(
            policies=policies,
            mappings=mappings,
            platform=spec.platform,
            fail_on=spec.fail_on,
            use_cache=use_cache,
            site=spec.site,
            project=project,
            command=spec.command,
            waivers=waivers,
            today=as_of,
        )
        report = run_check([Path(p) for p in spec.paths], options, progress)
        stamp = f"{as_of.isoformat()}T00:00:00Z"
        report = report.model_copy(
            update={
                "run": report.run.model_copy(update={"started": stamp, "finished": stamp}),
                "tool": ToolInfo(version=tool_version or __version__),
            }
        )
        outputs = {
            "results.json": render(report, "json"),
            "junit.xml": render(report, "junit"),
            "results.sarif": render(report, "sarif"),
        }
        gaps = maturity.assess(report, mappings.smm, as_of)
        outputs["maturity.json"] = render_maturity(gaps, "json")
        outputs["maturity.md"] = render_maturity(gaps, "markdown")
        for framework in known_frameworks(mappings):
            assessed = assess_compliance(report, mappings, policies, framework, project=project)
            outputs[f"compliance-{framework}.json"] = render_compliance(assessed, "json")
            outputs[f"compliance-{framework}.md"] = render_compliance(assessed, "markdown")
    return Recheck(report, outputs)


def _write_archive(output: Path, root: Path, names: list[str]) -> None:
    """A deterministic tar.gz of ``names`` under ``root``, written through a temporary file
    and a rename: the pack is complete or absent. Owner-only, like snapshots."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(
            "cannot write evidence pack", where=str(output), why=exc.strerror or str(exc)
        ) from None
    try:
        with (
            os.fdopen(handle, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed,
            tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name in sorted(names):
                info = tarfile.TarInfo(name)
                info.size = (root / name).stat().st_size
                info.mode, info.mtime, info.uid, info.gid = 0o600, 0, 0, 0
                info.uname = info.gname = ""
                with (root / name).open("rb") as data:
                    tar.addfile(info, data)
        os.replace(tmp, output)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(
            "cannot write evidence pack", where=str(output), why=exc.strerror or str(exc)
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _packed(root: Path, path: Path) -> PackedFile:
    data = path.read_bytes()
    name = path.relative_to(root).as_posix()
    return PackedFile(path=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def _copy(source: Path, target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    except OSError as exc:
        raise UsageError(
            "cannot read file", where=str(source), why=exc.strerror or str(exc)
        ) from None


def _absolute(path: Path) -> Path:
    # Not resolve(): the pack keeps the folder structure the user sees (symlinks included).
    return Path(os.path.abspath(path))
