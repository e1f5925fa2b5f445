"""SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps): one rule per policy, one
result per finding.

What each status becomes (SARIF allows a ``level`` other than ``none`` only with
``kind: fail``):

* ``fail``: ``kind: fail``, level from the severity (critical and high ``error``, medium
  ``warning``, low and info ``note``);
* ``waived``: the same, with an accepted external suppression carrying the justification,
  so scanners show it as dismissed, not open;
* ``inconclusive``: ``kind: open`` ("could not be determined"), level ``none``;
* ``pass`` and ``not_applicable``: left out (as Checkov and Prowler do), the JSON report
  has them.

Devices that could not be assessed are tool execution notifications of level ``error``.
Locations are the evidence lines (1-based ``startLine``; line 0, the whole file, gets no
region). ``partialFingerprints`` hash the device and the policy, never a message, so a
finding keeps its identity across runs.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from smmcheck.results import Evidence, Report, Result

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/smmcheck/smmcheck"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub's "security-severity": critical >= 9.0, high 7.0-8.9, medium 4.0-6.9, low < 4.0.
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
# A file inside a collected output ("<output> (/etc/mosquitto/conf.d/x.conf)"): the lines
# are that file's, not the output's.
_INNER = re.compile(r"^(?P<outer>.+) \((?P<inner>/[^()]+)\)$")


def render_sarif(report: Report) -> str:
    """The report as a SARIF 2.1.0 log (one run)."""
    reported = [r for r in report.results if r.status in ("fail", "waived", "inconclusive")]
    rules: dict[str, dict[str, Any]] = {}
    for result in sorted(report.results, key=lambda r: r.policy):
        rules.setdefault(result.policy, _rule(result))
        if result.remediation and "help" not in rules[result.policy]:
            rules[result.policy]["help"] = {"text": result.remediation}
    order = {policy: index for index, policy in enumerate(rules)}
    sites = {d.name: d.site for d in report.devices}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "informationUri": INFORMATION_URI,
                "rules": list(rules.values()),
            }
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "commandLine": report.run.command,
                "startTimeUtc": report.run.started,
                "endTimeUtc": report.run.finished,
                "toolExecutionNotifications": [
                    {
                        "level": "error",
                        "message": {"text": f"{d.name}: not assessed: {d.error}"},
                        "locations": [{"physicalLocation": _physical(d.source, 0, None)}],
                    }
                    for d in report.devices
                    if d.status == "error"
                ],
            }
        ],
        "columnKind": "unicodeCodePoints",
        "results": [_result(r, order[r.policy], sites.get(r.device)) for r in reported],
        "properties": {"exitCode": report.summary.exit_code, "failOn": report.run.fail_on},
    }
    if report.waivers is not None:
        run["properties"]["waivers"] = report.waivers.model_dump(mode="json")
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rule(result: Result) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "tags": ["security", "compliance", result.smm.practice],
        "smm": result.smm.model_dump(),
        "controls": {k: v for k, v in result.controls.items() if v},
    }
    if result.severity in _SECURITY_SEVERITY:
        properties["security-severity"] = _SECURITY_SEVERITY[result.severity]
    return {
        "id": result.policy,
        "name": "".join(part.capitalize() for part in result.policy.split("-")),
        "shortDescription": {"text": result.title},
        "fullDescription": {"text": result.title},
        "defaultConfiguration": {"level": _LEVEL[result.severity]},
        "properties": properties,
    }


def _result(result: Result, rule_index: int, site: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "ruleId": result.policy,
        "ruleIndex": rule_index,
        "message": {"text": result.message},
        "partialFingerprints": {
            "smmcheck/v1": hashlib.sha256(f"{result.device}\0{result.policy}".encode()).hexdigest()
        },
        "properties": {"device": result.device, "site": site, "status": result.status},
    }
    if result.status == "inconclusive":
        found["kind"], found["level"] = "open", "none"
    else:
        found["kind"], found["level"] = "fail", _LEVEL[result.severity]
    locations = [{"physicalLocation": _physical(e.source, e.line, e)} for e in result.evidence]
    if locations:
        found["locations"] = locations
    if result.waiver is not None:
        waiver = result.waiver
        found["properties"]["waiver"] = waiver.model_dump(mode="json", exclude_none=True)
        if result.status == "waived":
            found["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": f"{waiver.justification} (waiver {waiver.id}, owner"
                    f" {waiver.owner or '-'}, {waiver.ticket or waiver.approver or '-'},"
                    f" expires {waiver.expires})",
                }
            ]
    return found


def _physical(source: str, line: int, evidence: Evidence | None) -> dict[str, Any]:
    inner = _INNER.match(source)
    path = inner.group("outer") if inner else source
    location: dict[str, Any] = {"artifactLocation": _artifact(path)}
    if inner:
        # The line is in a file on the device that the output holds: say which, keep no
        # region (it would point at the wrong line of the output).
        location["properties"] = {"fileOnDevice": inner.group("inner"), "line": line}
    elif line > 0:
        region: dict[str, Any] = {"startLine": line}
        if evidence is not None and evidence.text:
            region["snippet"] = {"text": evidence.text}
        location["region"] = region
    return location


def _artifact(path: str) -> dict[str, str]:
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.relative_to(Path.cwd())
        except ValueError:
            return {"uri": candidate.as_uri()}
    return {"uri": quote(candidate.as_posix()), "uriBaseId": "%SRCROOT%"}
