"""The durable run: one DBOS workflow, the six phases top to bottom.

Every phase is a checkpointed step (the implement phase is one step per model call and one per
tool execution), so a crashed run continues from its last completed step and never pays twice
for a model call. The workflow body does no I/O: it decides which step comes next from what
earlier steps returned. Limits are exceptions: `BudgetExhausted` ends the run, and the
`RoundOver` family ends an implement round.
"""

from __future__ import annotations

import logging
from typing import Any

from dbos import DBOS

from specmill import gates, names, publish_steps, steps
from specmill.durable import Retry, durable
from specmill.errors import (
    ApprovalExpired,
    BadInput,
    BudgetExhausted,
    ModelFinished,
    PlanRejected,
    RepeatedToolCall,
    RoundOver,
    TurnCapReached,
)
from specmill.models import (
    BudgetGuard,
    ModelRequest,
    ModelTurn,
    PatternBrief,
    PullRequestRef,
    RunRequest,
    RunResult,
    RunStatus,
    Spec,
    TestReport,
    Verdict,
)
from specmill.phases import implement as impl
from specmill.phases.plan import Plan, plan_prompt
from specmill.run import Run, Status, Work
from specmill.sweep.version import run_id_for_spec

log = logging.getLogger("specmill.run")
load_playbook = durable("load_playbook", steps.load_playbook)
read_spec = durable("read_spec", steps.read_spec, retry=Retry.SERVICE, announce=True)
prepare_workspace = durable("prepare_workspace", steps.prepare_workspace)
analyze_patterns = durable("analyze_patterns", steps.analyze, announce=True)
update_spec = durable("update_spec", steps.update_status, retry=Retry.SERVICE)
apply_fork = durable("implement.setup", steps.apply_fork)
prepare_environment = durable("implement.environment", steps.prepare_environment, announce=True)
run_tool = durable("implement.tool", steps.run_tool, describe=lambda tool_use, **_: steps.describe(tool_use))
run_tests = durable("run_tests", steps.run_tests, announce=True)
record_attempt = durable("record_attempt", steps.record_attempt)
finish = durable("update_spec", steps.finish, retry=Retry.SERVICE)
record_failure = durable("update_spec", steps.record_failure)
push_branch = durable("publish.push", publish_steps.push_branch, retry=Retry.REMOTE, announce=True)
open_pull_request = durable("publish.pull_request", publish_steps.open_pull_request, retry=Retry.REMOTE, announce=True)
reply_on_pull_request = durable("publish.reply", publish_steps.reply_on_pull_request, retry=Retry.REMOTE)


def _call_model(*, request: ModelRequest, guard: BudgetGuard | None) -> ModelTurn:
    return steps.call_model(request=request, guard=gates.with_raised_caps(guard))


def _validate(*, run: Run, head: str, report: TestReport, attempt: int, guard: BudgetGuard | None) -> Verdict:
    return steps.validate(run=run, head=head, report=report, attempt=attempt, guard=gates.with_raised_caps(guard))


call_model = durable("implement.model_call", _call_model, retry=Retry.MODEL, announce=True)
validate = durable("validate", _validate, retry=Retry.MODEL, announce=True)


@DBOS.workflow(name=names.RUN_WORKFLOW)
def run_spec(request: RunRequest) -> RunResult:
    run_id = DBOS.workflow_id or "run"
    playbook = load_playbook(request=request)
    # 1. read the spec
    spec = read_spec(request=request)
    _check_version(run_id, spec)
    try:
        workspace = prepare_workspace(run_id=run_id, request=request, spec=spec)
        run = Run(id=run_id, request=request, playbook=playbook, spec=spec, workspace=workspace)
        # 2. analyze the repository's patterns
        brief = analyze_patterns(run=run)
        work = Work(head=workspace.base_commit)
        # 2b. a plan a person approves, when the run asks for one
        try:
            plan = _approved_plan(run, brief, work)
        except (PlanRejected, ApprovalExpired, BudgetExhausted) as stop:
            return _stopped(run, work, stop)
        update_spec(run=run, status=Status.in_progress(head=workspace.base_commit, ledger=work.ledger))
        run = apply_fork(run=run).model_copy(update={"plan": plan})
        run = run.model_copy(update={"environment": prepare_environment(run=run)})
        return _implement_until_accepted(run, brief, work)
    except Exception as exc:
        if not isinstance(exc, BadInput):  # nothing was attempted; the spec stays as its author left it
            _say_why_in_the_spec(run_id, spec, exc)
        raise


def _say_why_in_the_spec(run_id: str, spec: Spec, exc: Exception) -> None:
    """A run that fails for good says why in its spec, as far as the spec store allows."""
    try:
        record_failure(run_id=run_id, spec=spec, error=f"{type(exc).__name__}: {exc}".strip())
    except Exception:
        log.warning("[%s] could not record the failure in the spec", run_id)


def _approved_plan(run: Run, brief: PatternBrief, work: Work) -> Plan | None:
    if run.limits.approval != "plan":
        return None
    return gates.approved_plan(run, brief, work, lambda: _guard(run, work))


def _stopped(run: Run, work: Work, stop: Exception) -> RunResult:
    """A run that ends at a gate: its plan rejected or unapproved in time, or its budget not raised."""
    if isinstance(stop, BudgetExhausted):
        work.stops.append("budget_exhausted")
        return _finish(run, work, "budget_exhausted", reason=str(stop))
    outcome: RunStatus = "rejected" if isinstance(stop, PlanRejected) else "approval_expired"
    return finish(run=run, work=work, status=Status.finished(work, outcome, reason=str(stop)))


def _implement_until_accepted(run: Run, brief: PatternBrief, work: Work) -> RunResult:
    revision = run.request.revision
    work.head = run.workspace.head_commit if revision else run.workspace.base_commit
    work.feedback = revision.feedback if revision else ""
    try:
        for attempt in range(1, run.limits.max_iterations + 1):
            work.attempt = attempt
            # 3. implement
            transcript = _implement(run, brief, work)
            # 4. run the tests
            work.report = run_tests(run=run, head=work.head, attempt=attempt)
            work.longest_test_s = max(work.longest_test_s, work.report.duration_s)
            # 5. write progress back into the spec
            update_spec(
                run=run,
                status=Status.in_progress(head=work.head, attempt=attempt, tests=work.report, ledger=work.ledger),
            )
            # 6. validate against the success criteria
            work.verdict = gates.paused_at_budget(
                run,
                lambda: validate(run=run, head=work.head, report=work.report, attempt=attempt, guard=_guard(run, work)),
            )
            work.ledger = work.ledger.add("validate", work.verdict.usage, work.verdict.cost_usd)
            record_attempt(run=run, work=work, transcript=transcript)
            if work.accepted:
                return _finish(run, work, "succeeded")
            work.feedback = impl.feedback_for_next_attempt(work.report, work.verdict, work.round_detail)
    except BudgetExhausted as exc:
        return _stopped(run, work, exc)
    reason = f"not accepted after {work.attempt} attempt(s):\n{work.feedback}"
    return _finish(run, work, "failed", reason=reason)


def _finish(run: Run, work: Work, outcome: RunStatus, reason: str = "") -> RunResult:
    # 7. publish, when asked: the branch, then its pull request
    work.pull_request = _publish(run, work, succeeded=outcome == "succeeded", reason=reason)
    return finish(run=run, work=work, status=Status.finished(work, outcome, reason=reason))


def _publish(run: Run, work: Work, *, succeeded: bool, reason: str) -> PullRequestRef | None:
    """A successful run is published as the request or playbook asks; a failed one only on request,
    and then as a draft. A revision pushes to the branch it continues and replies on its pull request."""
    mode = publish_steps.mode(run)
    if mode == "none" or not (succeeded or run.request.publish_on_failure):
        return None
    pushed = push_branch(run=run, head=work.head)
    if mode != "pr":
        return None
    if run.request.revision is not None and run.request.revision.pull_request is not None:
        return reply_on_pull_request(run=run, work=work, pushed=pushed)
    return open_pull_request(run=run, work=work, pushed=pushed, draft=not succeeded, reason=reason)


def _implement(run: Run, brief: PatternBrief, work: Work) -> list[dict[str, Any]]:
    """One implement round, the tool loop: a step per model call, a step per tool execution.
    Returns the round's transcript; `RoundOver` ends the round, `BudgetExhausted` the run."""
    plan = plan_prompt(run.plan) if run.plan else ""
    system = impl.system_blocks(run.playbook, run.spec, brief, run.test_command, plan)
    messages: list[dict[str, Any]] = [impl.opening_message(work.attempt, run.limits.max_iterations, work.feedback)]
    transcript: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    work.round_detail = ""
    try:
        for _turn in range(run.limits.max_turns):
            ttl = steps.cache_ttl(run.playbook, work.longest_test_s)
            request = impl.model_request(
                steps.model_name(run),
                run.playbook,
                system,
                messages,
                caching=steps.ports().settings.prompt_caching,
                cache_ttl=ttl,
            )
            reply = gates.paused_at_budget(run, lambda: call_model(request=request, guard=_guard(run, work)))
            work.ledger = work.ledger.add("implement", reply.usage, reply.cost_usd)
            messages.append({"role": "assistant", "content": reply.content})
            transcript.append({"role": "assistant", "content": reply.content, "usage": reply.usage.model_dump()})
            if not reply.tool_uses:
                raise ModelFinished(text=reply.text)
            outcomes = []
            for tool_use in reply.tool_uses:
                outcome = run_tool(run=run, head=work.head, tool_use=tool_use, attempt=work.attempt)
                work.head = outcome.commit
                if outcome.test_report is not None:
                    work.longest_test_s = max(work.longest_test_s, outcome.test_report.duration_s)
                outcomes.append(outcome)
                transcript.append(
                    {
                        "role": "tool",
                        "tool_use_id": outcome.tool_use_id,
                        "content": outcome.content,
                        "is_error": outcome.is_error,
                    }
                )
                _check_for_loops(run, seen, tool_use, outcome)
            messages.append(impl.tool_results_message(outcomes))
        raise TurnCapReached(f"the round reached its cap of {run.limits.max_turns} model calls")
    except RoundOver as stop:
        work.stops.append(stop.reason)  # type: ignore[arg-type]
        work.round_detail = stop.detail
    return transcript


def _check_for_loops(run: Run, seen: dict[str, int], tool_use: dict[str, Any], outcome: Any) -> None:
    signature = impl.call_signature(tool_use, outcome)
    seen[signature] = seen.get(signature, 0) + 1
    if seen[signature] >= run.limits.repeat_limit:
        raise RepeatedToolCall(
            f"the model made the same {tool_use.get('name')} call with the same result "
            f"{seen[signature]} times: {steps.describe(tool_use)}"
        )


def _guard(run: Run, work: Work) -> BudgetGuard | None:
    budget = run.limits.budget
    if budget.usd is None and budget.tokens is None:
        return None
    return BudgetGuard(
        budget=budget,
        spent_usd=work.ledger.cost_usd,
        spent_tokens=work.ledger.tokens,
        cache_ttl=steps.cache_ttl(run.playbook, work.longest_test_s),
    )


def _check_version(run_id: str, spec: Spec) -> None:
    """A run named after a spec version (as sweeps and `specmill run` name them) implements that
    version only; an edit since it was named is a new version, with a run of its own."""
    if names.is_version_run_id(run_id) and run_id_for_spec(spec) != run_id:
        raise BadInput(
            f"spec {spec.permalink!r} changed since run {run_id} was named after it: "
            "start a run of the new version (or let the next sweep do it)"
        )
