"""Run a check: find files, parse each once (cached, in parallel for large batches),
evaluate every policy, and assemble the report.

Parsing and evaluation happen together in worker processes for large batches: both are
CPU bound (ciscoconfparse2, and hashing default passwords against type 8/9 secrets).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

from smmcheck import __version__
from smmcheck.cache import FactsCache, SecretMemo, cache_dir
from smmcheck.checks import Status
from smmcheck.engine import Outcome, Verifier, evaluate
from smmcheck.errors import InputError
from smmcheck.facts import DeviceFacts
from smmcheck.identity import identify
from smmcheck.inputs import discover, read_bundle, read_config
from smmcheck.mapping import Mappings
from smmcheck.parse import UnsupportedPlatform, parse_bundle, parse_config
from smmcheck.parse.artifacts import Artifact, bundle_text
from smmcheck.policies import DataList, Policy, PolicySet, Severity
from smmcheck.project import Project
from smmcheck.results import (
    DeviceRecord,
    Evidence,
    Report,
    Result,
    RunInfo,
    SmmPractice,
    ToolInfo,
    summarise,
)
from smmcheck.secrets import matching_candidate
from smmcheck.waivers import WaiverFile, apply_waivers, load_waivers, utc_today, waivers_path

# Below this many files to parse, a process pool costs more than it saves (each worker
# imports ciscoconfparse2 afresh, ~0.7 s).
PARALLEL_THRESHOLD = 24


@dataclass
class CheckOptions:
    """What a check run needs besides the paths."""

    policies: PolicySet
    mappings: Mappings
    platform: str | None = None
    fail_on: Severity = "info"
    use_cache: bool = True
    workers: int | None = None
    site: str | None = None
    project: Project | None = None
    command: str = "smmcheck check"
    selected: list[str] = field(default_factory=list)
    # A waivers file that overrides the project's ``waivers:``, or one already loaded
    # (audit loads it before contacting any device).
    waivers: Path | WaiverFile | None = None
    # The run's UTC date for waiver expiry (tests pin it; default: today in UTC).
    today: date | None = None


@dataclass(frozen=True)
class _Task:
    path: str
    text: str
    platform: str | None
    name_hint: str
    # From a snapshot manifest: the inventory's name and site for the device.
    device: str | None = None
    site: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    # A multi-file device (a Linux gateway); ``text`` then stands for all of them.
    artifacts: tuple[Artifact, ...] = ()

    def named(self, facts: DeviceFacts) -> DeviceFacts:
        """Facts under the inventory's name when the snapshot gives one."""
        return facts.model_copy(update={"device": self.device}) if self.device else facts


@dataclass(frozen=True)
class _Assessment:
    facts: DeviceFacts | None
    error: str | None
    outcomes: dict[str, Outcome]


def run_check(
    paths: list[Path], options: CheckOptions, progress: Callable[[int, int], None] | None = None
) -> Report:
    """Check the configs under ``paths``; return the full report."""
    started = _now()
    # Waivers are checked before any file is parsed: a broken waivers file stops the run.
    if isinstance(options.waivers, WaiverFile):
        waivers: WaiverFile | None = options.waivers
    else:
        waiver_file = waivers_path(options.waivers, options.project)
        waivers = load_waivers(waiver_file, options.policies) if waiver_file else None
    files = discover(paths)
    policies = _selected(options)
    errors: list[tuple[str, str, str]] = []  # (name, source, reason)
    tasks: list[_Task] = []
    for config in files:
        stem = config.device or config.path.stem
        if config.problem:
            errors.append((stem, str(config.path), config.problem))
            continue
        try:
            artifacts = read_bundle(config) if config.artifacts else ()
            text = bundle_text(artifacts) if artifacts else read_config(config.path)
        except InputError as exc:
            if config.explicit:
                raise
            errors.append((stem, str(config.path), exc.line()))
            continue
        platform = config.platform or options.platform
        tasks.append(
            _Task(
                str(config.path),
                text,
                platform,
                stem,
                config.device,
                config.site,
                config.category,
                config.tags,
                artifacts,
            )
        )
    assessments = _assess_all(tasks, policies, options, progress)
    _check_site_coverage(assessments, policies, options.project)
    records: list[DeviceRecord] = []
    results: list[Result] = []
    seen: dict[str, int] = {}
    for task, assessment in zip(tasks, assessments, strict=True):
        facts = assessment.facts
        if facts is None:
            errors.append((task.name_hint, task.path, assessment.error or "not assessed"))
            continue
        name = _unique_name(facts.device, facts.source, seen)
        who = identify(facts, name, category=task.category, tags=task.tags, project=options.project)
        records.append(
            DeviceRecord(
                name=name,
                source=facts.source,
                platform=facts.platform,
                os_version=facts.os_version,
                sha256=facts.sha256,
                site=task.site
                or options.site
                or (options.project.site if options.project else None),
                category=who.category,
                category_source=who.category_source,
                zone=who.zone,
                tags=list(who.tags),
            )
        )
        for policy in policies:
            if policy.id in assessment.outcomes:
                outcome = assessment.outcomes[policy.id]
                results.append(_result(name, policy, outcome, options.mappings))
    # Devices not assessed are named after assessed ones so that they never take a name
    # (and with it, in JUnit, the results) of a device that was assessed.
    for stem, source, reason in errors:
        records.append(
            DeviceRecord(
                name=_unique_name(stem, source, seen), source=source, status="error", error=reason
            )
        )
    records.sort(key=lambda r: (r.name, r.source))
    results.sort(key=lambda r: (r.device, r.policy))
    waiver_summary = None
    if waivers is not None:
        results, waiver_summary = apply_waivers(
            results,
            records,
            waivers,
            options.today or utc_today(datetime.now(UTC)),
            evaluated={p.id for p in policies},
        )
    summary = summarise(records, results, options.fail_on)
    run = RunInfo(
        started=started,
        finished=_now(),
        command=options.command,
        fail_on=options.fail_on,
        policies=len(policies),
        frameworks=sorted(options.mappings.frameworks),
    )
    return Report(
        tool=ToolInfo(version=__version__),
        run=run,
        devices=records,
        results=results,
        summary=summary,
        waivers=waiver_summary,
    )


def _check_site_coverage(
    assessments: list[_Assessment], policies: list[Policy], project: Project | None
) -> None:
    """A governed zone that no checked device enforces is reported, never passed silently.

    Segmentation is judged per device, on the enforcement points it has; whether every zone
    is enforced somewhere is only known across all devices, so it is settled here.
    """
    if project is None:
        return
    governed = project.governed_zones()
    for policy in policies:
        if not any(p.semantic and p.semantic.name == "segmentation" for p in policy.check.parts()):
            continue
        # Devices the policy does not apply to (a gateway for segmentation) have no outcome.
        outcomes = [a.outcomes[policy.id] for a in assessments if policy.id in a.outcomes]
        covered = {zone for outcome in outcomes for zone in outcome.covers}
        missing = [zone for zone in governed if zone not in covered]
        if not missing:
            continue
        note = (
            f"zone {', '.join(missing)} has no enforcement point (an interface in the"
            " zone, or a port ACL on an access port in its VLAN) on any checked device"
        )
        for assessment in assessments:
            outcome = assessment.outcomes.get(policy.id)
            if outcome is None:
                continue
            status: Status = "fail" if outcome.status == "fail" else "inconclusive"
            assessment.outcomes[policy.id] = replace(
                outcome, status=status, message=f"{outcome.message.rstrip('.')}; {note}."
            )


def _selected(options: CheckOptions) -> list[Policy]:
    every = options.policies.sorted()
    if not options.selected:
        return every
    return [p for p in every if p.id in set(options.selected)]


@dataclass(frozen=True)
class _Evaluator:
    """What evaluation needs, picklable so that worker processes can rebuild it."""

    policies: list[Policy]
    lists: dict[str, DataList]
    memo_root: Path | None
    project: Project | None

    def verifier(self) -> Verifier:
        return SecretMemo(self.memo_root).verifier() if self.memo_root else matching_candidate

    def assess(self, task: _Task, verify: Verifier) -> _Assessment:
        try:
            if task.artifacts:
                facts = parse_bundle(
                    task.artifacts,
                    source=task.path,
                    sha256=hashlib.sha256(task.text.encode()).hexdigest(),
                    name_hint=task.name_hint,
                    platform=task.platform or "linux",
                )
            else:
                facts = parse_config(
                    task.text, source=task.path, name_hint=task.name_hint, platform=task.platform
                )
        except UnsupportedPlatform as exc:
            return _Assessment(None, str(exc), {})
        return self.evaluate(task.named(facts), verify)

    def evaluate(self, facts: DeviceFacts, verify: Verifier) -> _Assessment:
        # A policy written for other platforms gives no result at all (as a Checkov check
        # for another resource type): a switch fleet's report is not padded with gateway
        # policies, nor a gateway's with vty-line policies.
        return _Assessment(
            facts,
            None,
            {
                p.id: evaluate(p, facts, self.lists, verify, self.project)
                for p in self.policies
                if facts.platform in p.platforms
                and (facts.scope is None or p.check.families() <= set(facts.scope))
            },
        )


def _assess_all(
    tasks: list[_Task],
    policies: list[Policy],
    options: CheckOptions,
    progress: Callable[[int, int], None] | None,
) -> list[_Assessment]:
    root = cache_dir() if options.use_cache else None
    evaluator = _Evaluator(policies, options.policies.lists, root, options.project)
    verify = evaluator.verifier()
    cache = None
    keys: list[str] = [""] * len(tasks)
    out: list[_Assessment | None] = [None] * len(tasks)
    if root is not None and tasks:
        from smmcheck.parse.tree import parser_version

        cache = FactsCache(root, parser_version())
        for index, task in enumerate(tasks):
            # The inventory name from a snapshot is part of the facts, so part of the key.
            source = f"{task.path}#{task.device}" if task.device else task.path
            keys[index] = cache.key(task.text, source=source, platform=task.platform)
            facts = cache.get(keys[index])
            if facts is not None:
                out[index] = evaluator.evaluate(task.named(facts), verify)
    todo = [i for i, done in enumerate(out) if done is None]
    done = len(tasks) - len(todo)
    if progress:
        progress(done, len(tasks))
    workers = options.workers or min(os.cpu_count() or 1, 8)
    if len(todo) >= PARALLEL_THRESHOLD and workers > 1:
        with ProcessPoolExecutor(
            max_workers=workers, initializer=_init_worker, initargs=(evaluator,)
        ) as pool:
            chunk = max(1, len(todo) // (workers * 4))
            results: Iterable[_Assessment] = pool.map(
                _assess_in_worker, [tasks[i] for i in todo], chunksize=chunk
            )
            for index, assessment in zip(todo, results, strict=True):
                out[index] = assessment
                done += 1
                if progress:
                    progress(done, len(tasks))
    else:
        for index in todo:
            out[index] = evaluator.assess(tasks[index], verify)
            done += 1
            if progress:
                progress(done, len(tasks))
    finished = [a for a in out if a is not None]
    if cache is not None:
        for index in todo:
            facts = finished[index].facts
            if facts is not None:
                cache.put(keys[index], facts)
    return finished


# Each worker process rebuilds the evaluator once (policies, lists, secret memo).
_WORKER: list[tuple[_Evaluator, Verifier]] = []


def _init_worker(evaluator: _Evaluator) -> None:
    _WORKER[:] = [(evaluator, evaluator.verifier())]


def _assess_in_worker(task: _Task) -> _Assessment:
    evaluator, verify = _WORKER[0]
    return evaluator.assess(task, verify)


def _result(device: str, policy: Policy, outcome: Outcome, mappings: Mappings) -> Result:
    practice = mappings.practice(policy.smm.practice)
    return Result(
        device=device,
        policy=policy.id,
        title=policy.title,
        severity=policy.severity,
        status=outcome.status,
        message=outcome.message,
        evidence=[Evidence(source=e.source, line=e.line, text=e.text) for e in outcome.evidence],
        smm=SmmPractice(
            practice=practice.id, practice_title=practice.title, level=policy.smm.level
        ),
        controls=mappings.controls_for(policy.id),
        remediation=policy.remediation.strip() if outcome.status == "fail" else None,
    )


def _unique_name(name: str, source: str, seen: dict[str, int]) -> str:
    # Two files with one hostname (a config and its backup) must stay apart in reports.
    count = seen.get(name, 0)
    seen[name] = count + 1
    return name if count == 0 else f"{name}@{Path(source).name}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def load_facts(
    paths: list[Path], *, platform: str | None = None, use_cache: bool = True
) -> tuple[list[DeviceFacts], list[str]]:
    """Facts for the configs under ``paths`` (cached like a check), and one line per file
    that could not be assessed."""
    cache = None
    if use_cache:
        from smmcheck.parse.tree import parser_version

        cache = FactsCache(cache_dir(), parser_version())
    found: list[DeviceFacts] = []
    problems: list[str] = []
    for config in discover(paths):
        if config.artifacts:
            continue  # gateways have no ACLs to show
        try:
            text = read_config(config.path)
        except InputError as exc:
            if config.explicit:
                raise
            problems.append(exc.line())
            continue
        key = cache.key(text, source=str(config.path), platform=platform) if cache else ""
        facts = cache.get(key) if cache else None
        if facts is None:
            try:
                facts = parse_config(
                    text, source=str(config.path), name_hint=config.path.stem, platform=platform
                )
            except UnsupportedPlatform as exc:
                problems.append(f"{config.path}: {exc}")
                continue
            if cache:
                cache.put(key, facts)
        found.append(facts)
    return found, problems
