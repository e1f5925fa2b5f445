"""JUnit XML for CI systems (GitLab, Jenkins): one testsuite per device, one testcase per
policy. The testcase name is the policy ID (stable across runs, never built from a
message) and the classname is ``site.device``; waived and not_applicable are skipped,
inconclusive is an error."""

from __future__ import annotations

from junit_xml import TestCase, TestSuite, to_xml_report_string

from smmcheck.results import Report, Result, WaiverRef

NO_SITE = "default"


def render_junit(report: Report) -> str:
    """The report as a JUnit XML document."""
    by_device: dict[str, list[Result]] = {}
    for result in report.results:
        by_device.setdefault(result.device, []).append(result)
    policy_ids = sorted({r.policy for r in report.results})
    waivers = report.waivers
    # Every suite carries the waiver counts: CI shows a suite's properties, not the run's.
    counts = (
        {
            "waivers.active": str(waivers.active),
            "waivers.expiring_soon": str(waivers.expiring_soon),
            "waivers.expired": str(waivers.expired),
            "waivers.orphans": str(len(waivers.orphans)),
        }
        if waivers is not None
        else {}
    )
    suites = []
    for device in report.devices:
        classname = f"{device.site or NO_SITE}.{device.name}"
        cases = []
        if device.status == "error":
            # A device that could not be assessed fails every policy with an error.
            for policy in policy_ids or ["device"]:
                case = TestCase(policy, classname=classname, file=device.source)
                case.add_error_info(message=device.error or "device could not be assessed")
                cases.append(case)
        for result in by_device.get(device.name, []):
            cases.append(_case(result, classname, device.source))
        suites.append(
            TestSuite(
                device.name,
                cases,
                package=device.site or NO_SITE,
                properties={
                    "platform": device.platform or "unknown",
                    "source": device.source,
                    **counts,
                },
            )
        )
    return str(to_xml_report_string(suites, prettyprint=True, encoding="utf-8"))


def _case(result: Result, classname: str, source: str) -> TestCase:
    case = TestCase(result.policy, classname=classname, file=source)
    detail = "\n".join(f"{e.source}:{e.line}: {e.text}" for e in result.evidence)
    if result.status == "fail":
        output = detail + (f"\n\nRemediation:\n{result.remediation}" if result.remediation else "")
        if result.waiver is not None:  # an expired waiver: the message already says so
            output += f"\n\nExpired waiver: {_waiver_text(result.waiver)}"
        case.add_failure_info(message=result.message, output=output, failure_type=result.severity)
    elif result.status == "inconclusive":
        case.add_error_info(message=result.message, output=detail, error_type="inconclusive")
    elif result.status == "waived" and result.waiver is not None:
        case.add_skipped_info(
            message=f"waived: {_waiver_text(result.waiver)}",
            output=f"{result.message}\n{detail}".rstrip(),
        )
    elif result.status in ("waived", "not_applicable"):
        case.add_skipped_info(message=f"{result.status}: {result.message}")
    else:
        case.stdout = result.message
    return case


def _waiver_text(waiver: WaiverRef) -> str:
    """The justification, who answers for it (ticket or approver) and when it ends."""
    parts = [f"{waiver.id}: {waiver.justification.rstrip('.')}"]
    if waiver.compensating_control:
        parts.append(f"compensating control: {waiver.compensating_control.rstrip('.')}")
    if waiver.ticket:
        parts.append(f"ticket {waiver.ticket}")
    if waiver.approver:
        parts.append(f"approver {waiver.approver}")
    if waiver.owner:
        parts.append(f"owner {waiver.owner}")
    parts.append(f"expires {waiver.expires}")
    return "; ".join(parts)
