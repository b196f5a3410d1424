"""What the MCP tools answer: compact views of runs for a model to read, and their one-line summaries.

The full record (the timeline of every step, tracebacks, the ledger) stays in the API's `RunDetail`,
which the `specmill://runs/{id}` resource serves whole.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from specmill.api.schemas import RunDetail, RunStatus, RunSummary
from specmill.api.service import RunService
from specmill.models import CriterionVerdict, PullRequestRef, TestReport, Usage
from specmill.queries import RunState

MAX_FAILURES_SHOWN = 10


class TestCounts(BaseModel):
    __test__ = False  # not a pytest test class

    passed: int
    failed: int
    errors: int
    skipped: int
    failing: list[str] = Field(default_factory=list, description="The first failing tests, by name.")


class Execution(BaseModel):
    executor_id: str | None = Field(description="The specmill process running the run; null while it waits.")
    queue: str | None = Field(description="The DBOS queue the run was put on.")
    note: str = Field(description="Where the run executes, in words.")


class RunView(BaseModel):
    run_id: str
    status: RunStatus
    phase: str | None = Field(description="The phase the run is in, or stopped in; null while queued and once done.")
    spec: str
    repo: str
    branch: str | None
    base_commit: str | None
    head_commit: str | None
    commits: int = Field(description="Commits the run made on its branch.")
    iterations: int
    tests: TestCounts | None = Field(description="The latest test run.")
    criteria: list[CriterionVerdict] | None = Field(description="The latest verdict on each success criterion.")
    verdict_summary: str | None
    cost_usd: float
    usage: Usage
    reason: str | None = Field(description="Why a finished run was not accepted.")
    error: str | None = Field(description="What stopped a run in `error`; resume_run continues it.")
    execution: Execution
    pull_request: PullRequestRef | None = Field(default=None, description="The pull request the run opened.")
    forked_from: str | None
    created_at: datetime | None
    finished_at: datetime | None


class RunStarted(BaseModel):
    run_id: str
    status: RunStatus
    resource: str = Field(description="The run as JSON, as an MCP resource.")


class RunList(BaseModel):
    runs: list[RunSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next, older page; null on the last page.")


class DiffView(BaseModel):
    run_id: str
    branch: str
    base_commit: str
    head_commit: str
    diff: str
    truncated: bool
    total_chars: int = Field(description="Length of the whole diff.")


async def load_view(runs: RunService, run_id: str) -> RunView:
    state = await runs.state(run_id)
    return run_view(await runs.detail(run_id), state)


def run_view(detail: RunDetail, state: RunState) -> RunView:
    return RunView(
        run_id=detail.run_id,
        status=detail.status,
        phase=detail.phase,
        spec=detail.request.spec,
        repo=detail.request.repo,
        branch=detail.branch,
        base_commit=detail.base_commit,
        head_commit=detail.head_commit,
        commits=len(detail.commits),
        iterations=detail.iterations,
        tests=test_counts(detail.tests) if detail.tests else None,
        criteria=detail.criteria,
        verdict_summary=detail.verdict_summary,
        cost_usd=detail.cost_usd,
        usage=detail.usage,
        reason=detail.reason,
        error=f"{detail.error.type}: {detail.error.message}" if detail.error else None,
        execution=execution(detail.status, state),
        pull_request=detail.pull_request,
        forked_from=detail.forked_from,
        created_at=detail.created_at,
        finished_at=detail.finished_at,
    )


def test_counts(report: TestReport) -> TestCounts:
    return TestCounts(**report.counts, failing=[failure.test for failure in report.failures[:MAX_FAILURES_SHOWN]])


def execution(status: RunStatus, state: RunState) -> Execution:
    if status == "queued":
        note = f"waiting on queue {state.queue or '?'} for a specmill process that works it (serve, worker or mcp)"
        return Execution(executor_id=None, queue=state.queue, note=note)
    if status == "running":
        note = f"executing in the process with executor id {state.executor_id}"
    else:
        note = f"executed by the process with executor id {state.executor_id}"
    return Execution(executor_id=state.executor_id, queue=state.queue, note=note)


def describe(view: RunView) -> str:
    """One or two lines a person can read in a chat."""
    parts = [f"run {view.run_id} is {view.status}" + (f" (in {view.phase})" if view.phase else "")]
    if view.tests:
        parts.append(f"tests: {view.tests.passed} passed, {view.tests.failed} failed, {view.tests.errors} errors")
    if view.criteria:
        parts.append(f"criteria: {sum(c.met for c in view.criteria)}/{len(view.criteria)} met")
    if view.branch:
        parts.append(f"branch {view.branch}" + (f" at {view.head_commit[:12]}" if view.head_commit else ""))
    if view.pull_request:
        parts.append(f"pull request {view.pull_request.url}")
    parts.append(f"cost ${view.cost_usd:.4f}")
    text = "; ".join(parts)
    if view.reason:
        text += f"\nreason: {view.reason}"
    if view.error:
        text += f"\nerror: {view.error}"
    return text


def describe_summary(run: RunSummary) -> str:
    phase = f" in {run.phase}" if run.phase else ""
    return f"{run.run_id}  {run.status}{phase}  {run.spec} -> {run.repo}  ({run.created_at:%Y-%m-%d %H:%M} UTC)"
