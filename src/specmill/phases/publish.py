"""Publish phase, the pure part: what a pull request and a revision comment say.

The I/O (pushing, calling the code host) lives in the publish steps; this module only turns a run's
outcome into text, so it can be read and tested without git or GitHub.
"""

from __future__ import annotations

from specmill.models import Ledger, Spec, TestReport, Verdict

TITLE_MAX = 120


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def pull_title(spec: Spec, succeeded: bool) -> str:
    title = " ".join(spec.title.split())[:TITLE_MAX] or spec.permalink
    return title if succeeded else f"[needs attention] {title}"


def spec_link(spec: Spec) -> str:
    return f"memory://{spec.project}/{spec.permalink}"


def pull_body(
    *,
    run_id: str,
    spec: Spec,
    report: TestReport | None,
    verdict: Verdict | None,
    ledger: Ledger,
    reason: str = "",
) -> str:
    """The PR description: the spec link, the criteria with evidence, test counts, cost and the run id."""
    lines = [
        f"Implements the spec **{_cell(spec.title)}** (`{spec_link(spec)}`).",
        "",
        f"- Run: `{run_id}`",
    ]
    if report is None:
        lines.append("- Tests: not run")
    else:
        lines.append(
            f"- Tests: {report.passed} passed, {report.failed} failed, {report.errors} errors, {report.skipped} skipped"
        )
    lines.append(f"- Cost: ${ledger.cost_usd:.4f}")
    if reason:
        lines.append(f"- Reason: {_cell(reason)}")
    if verdict is not None and verdict.criteria:
        lines += ["", "| Criterion | Met | Evidence |", "| --- | --- | --- |"]
        for c in verdict.criteria:
            lines.append(f"| {_cell(c.criterion)} | {'yes' if c.met else 'no'} | {_cell(c.evidence)} |")
    lines += ["", "Opened by specmill. Request changes in a review, or mention @specmill, to ask for a revision."]
    return "\n".join(lines) + "\n"


def revision_comment(*, run_id: str, of_run: str, commits: list[str], report: TestReport | None, accepted: bool) -> str:
    """The reply on the PR after a revision run: what changed, and how the tests and criteria stand now."""
    outcome = "All success criteria are met." if accepted else "Some success criteria are still not met."
    lines = [f"specmill revised this branch in run `{run_id}` (continuing `{of_run}`).", ""]
    if commits:
        lines.append("New commits:")
        lines += [f"- {line}" for line in commits]
    else:
        lines.append("No new commits: the branch already did what the review asked.")
    if report is not None:
        lines += ["", f"Tests: {report.passed} passed, {report.failed} failed, {report.errors} errors."]
    lines.append(outcome)
    return "\n".join(lines) + "\n"


def review_feedback(comments: list[str]) -> str:
    """The review as the model reads it in the first round of a revision."""
    body = "\n\n".join(f"- {c.strip()}" for c in comments if c.strip())
    return f"A reviewer asked for changes to this branch:\n\n{body}\n\nAddress every point, then run the tests."
