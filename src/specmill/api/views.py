"""How a run reads over HTTP, computed from what DBOS recorded (status, steps) and the run index.

Plain functions over `queries` values, so the rules (which status a person sees, which
phase a run is in, where its branch and head are) are testable without a database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from specmill.api.schemas import ArtifactRef, GateView, RunDetail, RunError, RunStatus, RunSummary, StepView
from specmill.models import (
    Ledger,
    ModelTurn,
    PullRequestRef,
    RunRequest,
    TestReport,
    ToolOutcome,
    Usage,
    Verdict,
    WorkspaceState,
)
from specmill.names import PHASES, phase_of
from specmill.phases.plan import Plan
from specmill.queries import RunState, StepRecord
from specmill.records import RunRecord
from specmill.run import Run


def run_status(state: RunState) -> RunStatus:
    """DBOS's status in the words of a run: a run that finished but was not accepted `failed`;
    one stopped by an error (resumable) is in `error`."""
    gate = state.gate
    if state.status in ("ENQUEUED", "DELAYED") and gate is None:
        return "queued"
    if state.status in ("PENDING", "ENQUEUED"):
        if gate is not None and gate.get("kind") == "approval":
            return "awaiting_approval"
        if gate is not None and gate.get("kind") == "budget":
            return "awaiting_budget"
        return "running"
    if state.status == "SUCCESS":
        if state.result is not None and state.result.status != "failed":
            return state.result.status
        return "failed"
    if state.status == "CANCELLED":
        return "cancelled"
    return "error"


def current_phase(status: RunStatus, steps: list[StepRecord]) -> str | None:
    if status in ("queued", "succeeded", "failed", "budget_exhausted", "rejected", "approval_expired"):
        return None
    failed = [phase_of(s.name) for s in steps if s.error is not None]
    if status == "error" and failed:
        return failed[0]
    phases = [phase_of(s.name) for s in steps if phase_of(s.name) in PHASES]
    return phases[-1] if phases else None


def usage_of(state: RunState, steps: list[StepRecord]) -> Usage:
    if state.result is not None:
        return state.result.usage
    total = Usage()
    for step in steps:
        usage = getattr(step.output, "usage", None)
        if isinstance(usage, Usage):
            total = total + usage
    return total


def ledger_of(state: RunState, steps: list[StepRecord]) -> Ledger:
    """Tokens and dollars per phase: the finished run's ledger, or the sum of the model steps so far."""
    if state.result is not None:
        return state.result.ledger
    ledger = Ledger()
    for step in steps:
        if isinstance(step.output, ModelTurn):
            ledger = ledger.add("implement", step.output.usage, step.output.cost_usd)
        elif isinstance(step.output, Verdict):
            ledger = ledger.add("validate", step.output.usage, step.output.cost_usd)
        elif isinstance(step.output, Plan):
            ledger = ledger.add("plan", step.output.usage, step.output.cost_usd)
    return ledger


def summary(record: RunRecord, state: RunState, steps: list[StepRecord]) -> RunSummary:
    status = run_status(state)
    return RunSummary(
        run_id=record.run_id,
        status=status,
        phase=current_phase(status, steps),
        spec=record.request.spec,
        repo=record.request.repo,
        project=record.request.project,
        playbook=record.request.playbook,
        created_at=_time(state.created_ms) or _time(record.created_us // 1000),
        updated_at=_time(state.updated_ms),
        finished_at=_time(state.completed_ms),
        usage=usage_of(state, steps),
        forked_from=record.forked_from,
    )


def detail(
    record: RunRecord | None,
    state: RunState,
    steps: list[StepRecord],
    artifacts: list[tuple[str, int, int]],
) -> RunDetail:
    status = run_status(state)
    request = record.request if record else state.request or RunRequest(spec="", repo="")
    workspace = workspace_of(steps)
    tests = _last(steps, TestReport)
    verdict = _last(steps, Verdict)
    result = state.result
    return RunDetail(
        run_id=state.run_id,
        status=status,
        phase=current_phase(status, steps),
        request=request,
        created_at=_time(state.created_ms),
        updated_at=_time(state.updated_ms),
        finished_at=_time(state.completed_ms),
        forked_from=state.forked_from,
        fork_phase=record.fork_phase if record else None,
        timeline=timeline(steps, record.fork_step if record else None),
        tests=tests,
        criteria=verdict.criteria if verdict else None,
        verdict_summary=verdict.summary if verdict else None,
        branch=result.branch if result else workspace.branch if workspace else None,
        base_commit=workspace.base_commit if workspace else None,
        head_commit=head_commit(state, steps),
        commits=commits_of(steps),
        pull_request=pull_request_of(state, steps),
        iterations=result.iterations if result else sum(1 for s in steps if s.name == "run_tests" and s.error is None),
        usage=usage_of(state, steps),
        reason=(result.reason or None) if result else None,
        cost_usd=round(ledger_of(state, steps).cost_usd, 6),
        ledger=ledger_of(state, steps),
        error=error_of(state.error) if status == "error" and state.error is not None else None,
        artifacts=[ArtifactRef(kind=kind, attempt=attempt, size=size) for kind, attempt, size in artifacts],
        waiting=waiting_of(state),
        plan=_last(steps, Plan),
    )


def waiting_of(state: RunState) -> GateView | None:
    gate = state.gate
    if gate is None:
        return None
    return GateView(
        kind=gate["kind"],
        since=datetime.fromtimestamp(gate["opened_at"], UTC),
        deadline=datetime.fromtimestamp(gate["deadline"], UTC),
        detail=str(gate.get("detail", "")),
    )


def pull_request_of(state: RunState, steps: list[StepRecord]) -> PullRequestRef | None:
    """The run's pull request: from its result once it ended, from its publish step while it finishes."""
    if state.result is not None:
        return state.result.pull_request
    return _last(steps, PullRequestRef)


def timeline(steps: list[StepRecord], fork_step: int | None) -> list[StepView]:
    views = []
    for step in steps:
        started, ended = _time(step.started_ms), _time(step.completed_ms)
        status = (
            "failed"
            if step.error is not None
            else "running"
            if step.completed_ms is None and step.output is None
            else "succeeded"
        )
        duration = (step.completed_ms - step.started_ms) / 1000 if step.completed_ms and step.started_ms else None
        error = error_of(step.error) if step.error is not None else None
        views.append(
            StepView(
                step_id=step.step_id,
                name=step.name,
                phase=phase_of(step.name),
                status=status,
                started_at=started,
                ended_at=ended,
                duration_s=duration,
                reused=fork_step is not None and step.step_id < fork_step,
                error=f"{error.type}: {error.message}" if error else None,
                traceback=error.traceback if error else None,
            )
        )
    return views


def workspace_of(steps: list[StepRecord]) -> WorkspaceState | None:
    """The run's own workspace: from prepare_workspace, or from the implement setup of a fork."""
    found = None
    for step in steps:
        if isinstance(step.output, WorkspaceState):
            found = step.output
        elif isinstance(step.output, Run):
            found = step.output.workspace
    return found


def head_commit(state: RunState, steps: list[StepRecord]) -> str | None:
    if state.result is not None:
        return state.result.head_commit
    outcome = _last(steps, ToolOutcome)
    if outcome is not None:
        return outcome.commit
    workspace = workspace_of(steps)
    return workspace.base_commit if workspace else None


def commits_of(steps: list[StepRecord]) -> list[str]:
    """The commits the run made on its branch, oldest first: each file change of a tool step is one."""
    workspace = workspace_of(steps)
    seen = {workspace.base_commit} if workspace else set()
    commits: list[str] = []
    for step in steps:
        if isinstance(step.output, ToolOutcome) and step.output.commit not in seen:
            seen.add(step.output.commit)
            commits.append(step.output.commit)
    return commits


def _last(steps: list[StepRecord], kind: type[Any]) -> Any:
    for step in reversed(steps):
        if isinstance(step.output, kind):
            return step.output
    return None


def error_of(exc: BaseException) -> RunError:
    """The error a person should read: for a step whose retries ran out, its last real error
    (DBOS records a wrapper around every attempt's error), which carries the plain traceback."""
    attempts = getattr(exc, "errors", None)
    if isinstance(attempts, list) and attempts and isinstance(attempts[-1], BaseException):
        last = error_of(attempts[-1])
        return last.model_copy(update={"message": f"{last.message} (gave up after {len(attempts)} attempt(s))"})
    notes = getattr(exc, "__notes__", None) or []
    text = str(exc).strip()
    return RunError(
        type=type(exc).__name__,
        message=text.splitlines()[0] if text else type(exc).__name__,
        traceback="\n".join(notes) or None,
    )


def _time(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None
