"""One readable paragraph about a test run, for the model and for people."""

from __future__ import annotations

from specmill.models import TestReport

_MAX_FAILURES = 10


def summarize_report(report: TestReport) -> str:
    if report.timed_out:
        head = f"`{report.command}` timed out after {report.duration_s:.0f}s and was killed."
    else:
        head = (
            f"`{report.command}` exit code {report.exit_code}: {report.passed} passed, {report.failed} failed, "
            f"{report.errors} errors, {report.skipped} skipped."
        )
    lines = [head]
    for failure in report.failures[:_MAX_FAILURES]:
        lines.append(f"- {failure.test}: {failure.message}")
    if len(report.failures) > _MAX_FAILURES:
        lines.append(f"- ... and {len(report.failures) - _MAX_FAILURES} more")
    if not report.ok and report.output_tail and not report.failures:
        lines.append("Output (tail):\n" + report.output_tail[-3000:])
    return "\n".join(lines)
