"""The durable run: one DBOS workflow, the six phases top to bottom.

Every phase is a checkpointed step (the implement phase is one step per model call
and one per tool execution), so a crashed run continues from its last completed
step and never pays twice for a model call. The workflow body itself does no I/O:
it only decides which step comes next from what earlier steps returned.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from dbos import DBOS
from dbos._error import DBOSMaxStepRetriesExceeded

from specmill import progress
from specmill.container import Container
from specmill.errors import BadInput, BasicMemoryUnavailable, TransientModelError
from specmill.models import (
    ImplementResult,
    ModelRequest,
    ModelTurn,
    PatternBrief,
    RunRequest,
    RunResult,
    Spec,
    TestReport,
    ToolOutcome,
    Usage,
    Verdict,
    WorkspaceState,
)
from specmill.phases import implement as impl
from specmill.phases.analyze_patterns import analyze_patterns
from specmill.phases.read_spec import read_spec
from specmill.phases.run_tests import run_tests
from specmill.phases.update_spec import render_status_section, update_spec
from specmill.phases.validate import parse_verdict, verdict_request
from specmill.playbooks import Playbook, load_playbook

T = TypeVar("T")
WORKFLOW_NAME = "specmill.run"
EVENTS_STREAM = "events"
_container: Container | None = None


def use(container: Container | None) -> None:
    """Give the steps their ports (called by the runtime at launch)."""
    global _container
    _container = container


def ports() -> Container:
    if _container is None:
        raise RuntimeError("specmill runtime not launched: call runtime.launch() first")
    return _container


@DBOS.workflow(name=WORKFLOW_NAME)
def run_spec(request: RunRequest) -> RunResult:
    run_id = DBOS.workflow_id or "run"
    playbook = _step(run_id, "load_playbook", _load_playbook, request)
    spec = _step(run_id, "read_spec", _read_spec, request, retry=_SERVICE_RETRY)  # 1. read the spec
    try:
        return _implement_spec(run_id, request, playbook, spec)
    except Exception as exc:
        _record_failure(run_id, spec, exc)
        raise


def _implement_spec(run_id: str, request: RunRequest, playbook: Playbook, spec: Spec) -> RunResult:
    state = _step(run_id, "prepare_workspace", _prepare_workspace, run_id, request, spec)
    brief = _step(run_id, "analyze_patterns", _analyze, state, spec, playbook)  # 2. analyze patterns
    _step(run_id, "update_spec", _write_status, spec, state, "in-progress", state.base_commit, None, None, 0, playbook, "", Usage(), retry=_SERVICE_RETRY)

    head, feedback, usage = state.base_commit, "", Usage()
    max_attempts = request.max_iterations or playbook.max_iterations
    for attempt in range(1, max_attempts + 1):
        work = _implement(run_id, request, playbook, spec, brief, state, head, attempt, max_attempts, feedback)  # 3
        head, usage = work.head_commit, usage + work.usage
        report = _step(run_id, "run_tests", _run_tests, state, head, playbook, attempt=attempt)  # 4. run the tests
        _step(run_id, "update_spec", _write_status, spec, state, "in-progress", head, report, None, attempt, playbook, "", usage, retry=_SERVICE_RETRY)  # 5
        verdict = _step(run_id, "validate", _validate, request, playbook, spec, state, head, report, attempt, max_attempts, retry=_model_retry(), attempt=attempt)  # 6
        usage = usage + verdict.usage
        if report.ok and verdict.all_met:
            break
        feedback = impl.feedback_for_next_attempt(report, verdict)

    succeeded = report.ok and verdict.all_met
    reason = "" if succeeded else f"not accepted after {attempt} attempt(s):\n{feedback}"
    final_status = "implemented" if succeeded else "needs-attention"
    _step(run_id, "update_spec", _write_status, spec, state, final_status, head, report, verdict, attempt, playbook, reason, usage, retry=_SERVICE_RETRY)
    result = RunResult(
        run_id=run_id,
        status="succeeded" if succeeded else "failed",
        spec=spec.permalink,
        branch=state.branch,
        head_commit=head,
        tests=report.counts,
        criteria=verdict.criteria,
        iterations=attempt,
        usage=usage,
        reason=reason,
    )
    progress.emit(progress.ProgressEvent(run_id=run_id, kind="run_finished", detail=result.status, usage=usage))
    return result


def _implement(
    run_id: str, request: RunRequest, playbook: Playbook, spec: Spec, brief: PatternBrief,
    state: WorkspaceState, head: str, attempt: int, max_attempts: int, feedback: str,
) -> ImplementResult:
    """The tool loop: one step per model call, one step per tool execution."""
    model = _model_name(request, playbook)
    system = impl.system_blocks(playbook, spec, brief)
    messages: list[dict[str, Any]] = [impl.opening_message(attempt, max_attempts, feedback)]
    usage, tool_calls = Usage(), 0
    for turn in range(1, playbook.max_turns + 1):
        request_ = impl.model_request(model, playbook, system, messages)
        reply = _step(run_id, "implement.model_call", _call_model, request_, retry=_model_retry(), attempt=attempt)
        usage = usage + reply.usage
        messages.append({"role": "assistant", "content": reply.content})
        if not reply.tool_uses:
            return ImplementResult(head_commit=head, turns=turn, tool_calls=tool_calls, stopped_because="model_finished", usage=usage, final_text=reply.text)
        outcomes: list[ToolOutcome] = []
        for tool_use in reply.tool_uses:
            outcome = _step(run_id, "implement.tool", _run_tool, state, head, tool_use, playbook, attempt=attempt, detail=_describe(tool_use))
            head, tool_calls = outcome.commit, tool_calls + 1
            outcomes.append(outcome)
        messages.append(impl.tool_results_message(outcomes))
    return ImplementResult(head_commit=head, turns=playbook.max_turns, tool_calls=tool_calls, stopped_because="turn_cap", usage=usage)


# --- steps: plain functions over the ports ---------------------------------------------


def _load_playbook(request: RunRequest) -> Playbook:
    return load_playbook(request.playbook, ports().settings.playbooks_dir)


def _read_spec(request: RunRequest) -> Spec:
    return read_spec(ports().spec_store, request.spec, _project(request))


def _prepare_workspace(run_id: str, request: RunRequest, spec: Spec) -> WorkspaceState:
    from specmill.adapters.git_worktree import branch_name

    return ports().workspace.prepare(run_id, request.repo, branch_name(spec.permalink, run_id), request.base)


def _analyze(state: WorkspaceState, spec: Spec, playbook: Playbook) -> PatternBrief:
    c = ports()
    root = c.workspace.checkout(state, state.base_commit)
    return analyze_patterns(c.analyzer, root, spec, playbook.brief_budget_tokens or c.settings.brief_budget_tokens)


def _call_model(request: ModelRequest) -> ModelTurn:
    return ports().model.complete(request)


def _run_tool(state: WorkspaceState, head: str, tool_use: dict[str, Any], playbook: Playbook) -> ToolOutcome:
    c = ports()
    return impl.execute_tool(c.workspace, c.tests, state, head, tool_use, playbook.test_command, c.settings.test_timeout_s)


def _run_tests(state: WorkspaceState, head: str, playbook: Playbook) -> TestReport:
    c = ports()
    return run_tests(c.workspace, c.tests, state, head, playbook.test_command, c.settings.test_timeout_s)


def _validate(
    request: RunRequest, playbook: Playbook, spec: Spec, state: WorkspaceState, head: str,
    report: TestReport, attempt: int, max_attempts: int,
) -> Verdict:
    c = ports()
    diff = c.workspace.diff(state, head)
    turn = c.model.complete(verdict_request(_model_name(request, playbook), spec, diff, report, attempt, max_attempts))
    return parse_verdict(spec, turn)


def _write_status(
    spec: Spec, state: WorkspaceState, status: str, head: str, report: TestReport | None,
    verdict: Verdict | None, attempt: int, playbook: Playbook, reason: str, usage: Usage,
) -> str:
    section = render_status_section(
        run_id=state.run_id, status=status, branch=state.branch, head_commit=head, tests=report,
        verdict=verdict, iteration=attempt, max_iterations=playbook.max_iterations, reason=reason, usage=usage,
    )
    note = update_spec(ports().spec_store, spec.project, spec.permalink, section, status)
    return note.checksum or ""


def _record_failure(run_id: str, spec: Spec, exc: Exception) -> None:
    """A run that fails for good says why in its spec, as far as the spec store allows."""
    if isinstance(exc, BadInput):
        return  # nothing was attempted; the spec stays as its author left it
    reason = f"{type(exc).__name__}: {exc}".strip()
    section = render_status_section(
        run_id=run_id, status="needs-attention", branch="", head_commit="", tests=None, verdict=None,
        iteration=0, max_iterations=0, reason=reason,
    )
    try:
        _step(run_id, "update_spec", _update_note, spec, section)
    except Exception:
        progress.log.warning("[%s] could not record the failure in the spec", run_id)


def _update_note(spec: Spec, section: str) -> str:
    return update_spec(ports().spec_store, spec.project, spec.permalink, section, "needs-attention").checksum or ""


def _project(request: RunRequest) -> str:
    project = request.project or ports().settings.project
    if not project:
        raise BadInput("no Basic Memory project given: pass --project NAME or set SPECMILL_PROJECT")
    return project


def _model_name(request: RunRequest, playbook: Playbook) -> str:
    return request.model or ports().settings.model or playbook.model


# --- the step helper ---------------------------------------------------------------------

_SERVICE_RETRY: dict[str, Any] = {
    "retries_allowed": True,
    "max_attempts": 3,
    "interval_seconds": 1.0,
    "backoff_rate": 2.0,
    "should_retry": lambda exc: isinstance(exc, BasicMemoryUnavailable),
}


def _model_retry() -> dict[str, Any]:
    settings = ports().settings
    return {
        "retries_allowed": True,
        "max_attempts": settings.model_max_attempts,
        "interval_seconds": settings.model_retry_interval_s,
        "backoff_rate": 2.0,
        "should_retry": lambda exc: isinstance(exc, TransientModelError),
    }


def _step(
    run_id: str, name: str, fn: Callable[..., T], *args: Any,
    retry: dict[str, Any] | None = None, attempt: int = 0, detail: str = "",
) -> T:
    """Run `fn` as a checkpointed step named `name`. A step that replays from its record stays silent.

    When retries run out, the last real error is raised (not DBOS's wrapper), so the run's
    record and the person reading it see what actually went wrong.
    """
    try:
        return DBOS.run_step({"name": name, **(retry or {})}, _instrumented(run_id, name, fn, attempt, detail), *args)
    except DBOSMaxStepRetriesExceeded as exc:
        last = exc.errors[-1] if exc.errors else exc
        last.add_note(f"step {name} gave up after {len(exc.errors)} attempt(s)")
        raise last from None


def _instrumented(run_id: str, name: str, fn: Callable[..., T], attempt: int, detail: str) -> Callable[..., T]:
    """Announce each execution of a step, and keep a failure's plain Python traceback on the
    exception DBOS records for it."""
    phase = name.split(".")[0]

    def call(*args: Any) -> T:
        started = time.monotonic()
        _publish(progress.ProgressEvent(run_id=run_id, kind="step_started", step=name, phase=phase, attempt=attempt, detail=detail))
        try:
            result = fn(*args)
        except Exception as exc:
            exc.add_note(traceback.format_exc())
            _publish(progress.ProgressEvent(
                run_id=run_id, kind="step_failed", step=name, phase=phase, attempt=attempt,
                detail=f"{type(exc).__name__}: {exc}", elapsed_s=time.monotonic() - started,
            ))
            raise
        usage = getattr(result, "usage", None)
        _publish(progress.ProgressEvent(
            run_id=run_id, kind="step_finished", step=name, phase=phase, attempt=attempt,
            detail=" -> ".join(p for p in (detail, _summary(result)) if p), elapsed_s=time.monotonic() - started,
            usage=usage if isinstance(usage, Usage) else Usage(),
        ))
        return result

    call.__name__ = call.__qualname__ = fn.__name__
    return call


def _publish(event: progress.ProgressEvent) -> None:
    """To this process's listeners, and to the run's durable event stream that the API serves."""
    progress.emit(event)
    DBOS.write_stream(EVENTS_STREAM, event.model_dump(mode="json"))


def _describe(tool_use: dict[str, Any]) -> str:
    tool_input = tool_use.get("input") if isinstance(tool_use.get("input"), dict) else {}
    words = [str(tool_use.get("name")), str(tool_input.get("command", "")), str(tool_input.get("path", tool_input.get("selection", "")))]
    return " ".join(w for w in words if w)[:200]


def _summary(result: Any) -> str:
    if isinstance(result, TestReport):
        return f"{result.passed} passed, {result.failed} failed, {result.errors} errors, {result.skipped} skipped" + (" (timed out)" if result.timed_out else "")
    if isinstance(result, ToolOutcome):
        if result.test_report is not None:
            return _summary(result.test_report)
        return f"refused: {result.content.splitlines()[0][:160]}" if result.is_error and result.content else ""
    if isinstance(result, Verdict):
        return f"{sum(c.met for c in result.criteria)}/{len(result.criteria)} criteria met"
    return ""
