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

from specmill import graceful_stop, progress, read_model, steps
from specmill.errors import BadInput, BasicMemoryUnavailable, BudgetExhausted, TransientModelError
from specmill.models import (
    Budget,
    BudgetGuard,
    Ledger,
    StopReason,
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
from specmill.phases.budget import check_budget
from specmill.phases.update_spec import render_status_section
from specmill.phases.validate import parse_verdict, verdict_request
from specmill.playbooks import Playbook, load_playbook
from specmill.pricing import cost_usd
from specmill.sweep.version import is_version_run_id, run_id_for_spec

T = TypeVar("T")
WORKFLOW_NAME = "specmill.run"
EVENTS_STREAM = "events"
@DBOS.workflow(name=WORKFLOW_NAME)
def run_spec(request: RunRequest) -> RunResult:
    run_id = DBOS.workflow_id or "run"
    playbook = _step(run_id, "load_playbook", steps.load_playbook, request)
    spec = _step(run_id, "read_spec", steps.read_spec, request, retry=_SERVICE_RETRY)  # 1. read the spec
    _check_version(run_id, spec)
    try:
        return _implement_spec(run_id, request, playbook, spec)
    except Exception as exc:
        _record_failure(run_id, spec, exc)
        raise


def _implement_spec(run_id: str, request: RunRequest, playbook: Playbook, spec: Spec) -> RunResult:
    state = _step(run_id, "prepare_workspace", steps.prepare_workspace, run_id, request, spec)
    brief = _step(run_id, "analyze_patterns", steps.analyze, state, spec, playbook)  # 2. analyze patterns
    _step(run_id, "update_spec", steps.write_status, spec, state, "in-progress", state.base_commit, None, None, 0, playbook, "", Ledger(), retry=_SERVICE_RETRY)
    request, playbook, state = _step(run_id, "implement.setup", _setup_implement, run_id, request, playbook, spec, state)

    head, feedback, ledger, stops, longest_test_s = state.base_commit, "", Ledger(), [], 0.0
    budget = Budget(usd=request.budget_usd or playbook.budget_usd, tokens=request.budget_tokens or playbook.budget_tokens)
    max_attempts = request.max_iterations or playbook.max_iterations
    report, verdict, exhausted = None, None, ""
    for attempt in range(1, max_attempts + 1):
        work = _implement(run_id, request, playbook, spec, brief, state, head, attempt, max_attempts, feedback, ledger, budget, longest_test_s)  # 3
        head, ledger, longest_test_s = work.head_commit, work.ledger, work.longest_test_s
        stops.append(work.stopped_because)
        if work.stopped_because == "budget_exhausted":
            exhausted = work.detail
            break
        report = _step(run_id, "run_tests", steps.run_tests, state, head, playbook, attempt=attempt)  # 4. run the tests
        longest_test_s = max(longest_test_s, report.duration_s)
        _step(run_id, "update_spec", steps.write_status, spec, state, "in-progress", head, report, None, attempt, playbook, "", ledger, retry=_SERVICE_RETRY)  # 5
        try:
            verdict = _step(run_id, "validate", _validate, request, playbook, spec, state, head, report, attempt, max_attempts, _guard(budget, ledger, _cache_ttl(playbook, longest_test_s)), retry=_model_retry(), attempt=attempt)  # 6
        except BudgetExhausted as exc:
            exhausted = str(exc)
            break
        ledger = ledger.add("validate", verdict.usage, verdict.cost_usd)
        read_model.transact("record_attempt", read_model.record_attempt, run_id, attempt, head, report, verdict, lambda: steps.redacted_diff(state, head))
        if report.ok and verdict.all_met:
            break
        feedback = impl.feedback_for_next_attempt(report, verdict, work)

    succeeded = not exhausted and report is not None and verdict is not None and report.ok and verdict.all_met
    status = "succeeded" if succeeded else "budget_exhausted" if exhausted else "failed"
    reason = "" if succeeded else exhausted or f"not accepted after {attempt} attempt(s):\n{feedback}"
    final_status = "implemented" if succeeded else "needs-attention"
    _step(run_id, "update_spec", steps.write_status, spec, state, final_status, head, report, verdict, attempt, playbook, reason, ledger, retry=_SERVICE_RETRY)
    result = RunResult(
        run_id=run_id,
        status=status,
        spec=spec.permalink,
        branch=state.branch,
        head_commit=head,
        tests=report.counts if report else TestReport(command="", exit_code=None).counts,
        criteria=verdict.criteria if verdict else [],
        iterations=attempt,
        usage=ledger.usage,
        cost_usd=round(ledger.cost_usd, 6),
        ledger=ledger,
        stops=stops,
        reason=reason,
    )
    progress.emit(progress.ProgressEvent(run_id=run_id, kind="run_finished", detail=result.status, usage=ledger.usage))
    return result


def _implement(
    run_id: str, request: RunRequest, playbook: Playbook, spec: Spec, brief: PatternBrief,
    state: WorkspaceState, head: str, attempt: int, max_attempts: int, feedback: str,
    ledger: Ledger, budget: Budget, longest_test_s: float,
) -> ImplementResult:
    """The tool loop: one step per model call, one step per tool execution."""
    model = steps.model_name(request, playbook)
    system = impl.system_blocks(playbook, spec, brief)
    messages: list[dict[str, Any]] = [impl.opening_message(attempt, max_attempts, feedback)]
    seen: dict[str, int] = {}
    tool_calls = 0

    def stop(turn: int, why: StopReason, detail: str = "", text: str = "") -> ImplementResult:
        return ImplementResult(head_commit=head, turns=turn, tool_calls=tool_calls, stopped_because=why, ledger=ledger,
                               final_text=text, detail=detail, longest_test_s=longest_test_s)

    for turn in range(1, playbook.max_turns + 1):
        ttl = _cache_ttl(playbook, longest_test_s)
        request_ = impl.model_request(model, playbook, system, messages, caching=steps.ports().settings.prompt_caching, cache_ttl=ttl)
        try:
            reply = _step(run_id, "implement.model_call", _call_model, request_, _guard(budget, ledger, ttl), retry=_model_retry(), attempt=attempt)
        except BudgetExhausted as exc:
            return stop(turn, "budget_exhausted", str(exc))
        ledger = ledger.add("implement", reply.usage, reply.cost_usd)
        messages.append({"role": "assistant", "content": reply.content})
        if not reply.tool_uses:
            return stop(turn, "model_finished", text=reply.text)
        outcomes: list[ToolOutcome] = []
        for tool_use in reply.tool_uses:
            outcome = _step(run_id, "implement.tool", steps.run_tool, state, head, tool_use, playbook, attempt=attempt, detail=steps.describe(tool_use))
            head, tool_calls = outcome.commit, tool_calls + 1
            if outcome.test_report is not None:
                longest_test_s = max(longest_test_s, outcome.test_report.duration_s)
            outcomes.append(outcome)
            signature = impl.call_signature(tool_use, outcome)
            seen[signature] = seen.get(signature, 0) + 1
            if seen[signature] >= playbook.repeat_limit:
                return stop(turn, "repeated_tool_call", f"the model made the same {tool_use.get('name')} call with the same result {seen[signature]} times: {steps.describe(tool_use)}")
        messages.append(impl.tool_results_message(outcomes))
    return stop(playbook.max_turns, "turn_cap", f"the round reached its cap of {playbook.max_turns} model calls")


def _guard(budget: Budget, ledger: Ledger, cache_ttl: str) -> BudgetGuard | None:
    if budget.usd is None and budget.tokens is None:
        return None
    return BudgetGuard(budget=budget, spent_usd=ledger.cost_usd, spent_tokens=ledger.tokens, cache_ttl=cache_ttl)


def _cache_ttl(playbook: Playbook, longest_test_s: float) -> str:
    if playbook.cache_ttl != "auto":
        return playbook.cache_ttl
    return "1h" if longest_test_s > 240 else "5m"


# --- steps: plain functions over the ports ---------------------------------------------


def _setup_implement(
    run_id: str, request: RunRequest, playbook: Playbook, spec: Spec, state: WorkspaceState,
) -> tuple[RunRequest, Playbook, WorkspaceState]:
    """Where a fork's overrides (a row of specmill's tables) take effect, recorded as this step's
    output so replays see the same ones. A fork also gets its own branch and worktree here,
    instead of moving those of the run it was forked from."""
    overrides = read_model.run_overrides(run_id)
    if overrides is not None:
        request = overrides.apply(request)
        if overrides.playbook:
            playbook = load_playbook(overrides.playbook, steps.ports().settings.playbooks_dir)
    if state.run_id != run_id:
        from specmill.adapters.git_worktree import branch_name

        state = steps.ports().workspace.prepare(run_id, state.repo, branch_name(spec.permalink, run_id), state.base_commit)
    return request, playbook, state


def _call_model(request: ModelRequest, guard: BudgetGuard | None) -> ModelTurn:
    model = steps.ports().model
    if guard is not None:
        check_budget(model, request, _current_budget(guard))
    turn = model.complete(request)
    cache_ttl = guard.cache_ttl if guard else "5m"
    return turn.model_copy(update={"cost_usd": cost_usd(request.model, turn.usage, cache_ttl)})


def _current_budget(guard: BudgetGuard) -> BudgetGuard:
    """A cap raised for a resumed run lives in the run's DBOS attributes, read at each check."""
    attributes = (DBOS.get_workflow_status(DBOS.workflow_id or "") or _NoStatus()).attributes or {}
    budget = guard.budget.model_copy(update={k: attributes[f"budget_{k}"] for k in ("usd", "tokens") if attributes.get(f"budget_{k}")})
    return guard.model_copy(update={"budget": budget})


class _NoStatus:
    attributes: dict[str, Any] = {}


def _validate(
    request: RunRequest, playbook: Playbook, spec: Spec, state: WorkspaceState, head: str,
    report: TestReport, attempt: int, max_attempts: int, guard: BudgetGuard | None,
) -> Verdict:
    diff = steps.redacted_diff(state, head)
    turn = _call_model(verdict_request(steps.model_name(request, playbook), spec, diff, report, attempt, max_attempts), guard)
    return parse_verdict(spec, turn).model_copy(update={"cost_usd": turn.cost_usd})


def _check_version(run_id: str, spec: Spec) -> None:
    """A run named after a spec version (as sweeps and `specmill run` name them) implements that
    version only; an edit since it was named is a new version, with a run of its own."""
    if is_version_run_id(run_id) and run_id_for_spec(spec) != run_id:
        raise BadInput(f"spec {spec.permalink!r} changed since run {run_id} was named after it: "
                       "start a run of the new version (or let the next sweep do it)")


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
        _step(run_id, "update_spec", steps.update_note, spec, section)
    except Exception:
        progress.log.warning("[%s] could not record the failure in the spec", run_id)


# --- the step helper ---------------------------------------------------------------------

_SERVICE_RETRY: dict[str, Any] = {
    "retries_allowed": True,
    "max_attempts": 3,
    "interval_seconds": 1.0,
    "backoff_rate": 2.0,
    "should_retry": lambda exc: isinstance(exc, BasicMemoryUnavailable),
}


def _model_retry() -> dict[str, Any]:
    settings = steps.ports().settings
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
        with graceful_stop.step_gate():  # a stopping process finishes the steps in flight and starts none
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
            steps.pause_for_test(name)  # test-only: SPECMILL_TEST_PAUSE_AT holds the step here, before its checkpoint
        except Exception as exc:
            exc.add_note(traceback.format_exc())
            steps.ports().redactor.scrub_exception(exc)  # before DBOS records it
            _publish(progress.ProgressEvent(
                run_id=run_id, kind="step_failed", step=name, phase=phase, attempt=attempt,
                detail=f"{type(exc).__name__}: {exc}", elapsed_s=time.monotonic() - started,
            ))
            raise
        usage = getattr(result, "usage", None)
        _publish(progress.ProgressEvent(
            run_id=run_id, kind="step_finished", step=name, phase=phase, attempt=attempt,
            detail=" -> ".join(p for p in (detail, steps.summary(result)) if p), elapsed_s=time.monotonic() - started,
            usage=usage if isinstance(usage, Usage) else Usage(),
        ))
        return result

    call.__name__ = call.__qualname__ = fn.__name__
    return call


def _publish(event: progress.ProgressEvent) -> None:
    """To this process's listeners, and to the run's durable event stream that the API serves."""
    event = steps.ports().redactor.scrub(event, "detail")
    progress.emit(event)
    DBOS.write_stream(EVENTS_STREAM, event.model_dump(mode="json"))


