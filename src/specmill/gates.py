"""A run's durable waits: the plan a person approves, and the budget a person tops up.

A waiting run sits in `DBOS.recv` on its gate's topic and costs nothing; it survives restarts
and continues where it waited, with nothing repeated. Between messages it wakes every
`gate_poll_s` for one step that reads the clock (the deadline) and, for a plan, the note (a
ticked `Approve this plan`). The open gate is in the run's DBOS attributes, where the API and the
CLI read it (status `awaiting_approval` / `awaiting_budget`) and answer it (`DBOS.send`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from dbos import DBOS

from specmill import gate_steps, graceful_stop, names
from specmill.durable import Retry, durable
from specmill.errors import ApprovalExpired, BudgetExhausted, PlanRejected
from specmill.gate_steps import Gate, GateKind
from specmill.models import Budget, BudgetGuard, PatternBrief
from specmill.phases.plan import Plan
from specmill.run import Run, Status, Work

T = TypeVar("T")


def with_raised_caps(guard: BudgetGuard | None) -> BudgetGuard | None:
    """A cap raised for a paused or resumed run lives in the run's DBOS attributes; a step reads them each time."""
    if guard is None:
        return None
    status = DBOS.get_workflow_status(DBOS.workflow_id or "")
    attributes: dict[str, Any] = (status.attributes if status else None) or {}
    raised = {k: attributes[f"budget_{k}"] for k in ("usd", "tokens") if attributes.get(f"budget_{k}")}
    return guard.model_copy(update={"budget": Budget(**{**guard.budget.model_dump(), **raised})}) if raised else guard


def _plan(*, run: Run, brief: PatternBrief, attempt: int, feedback: str, guard: BudgetGuard | None) -> Plan:
    return gate_steps.plan(run=run, brief=brief, attempt=attempt, feedback=feedback, guard=with_raised_caps(guard))


make_plan = durable("plan", _plan, retry=Retry.MODEL, announce=True)
record_plan = durable("plan.record", gate_steps.record_plan, retry=Retry.SERVICE)
open_gate = durable("gate.open", gate_steps.open_gate)
check_gate = durable("gate.check", gate_steps.check_gate, retry=Retry.SERVICE)


def approved_plan(run: Run, brief: PatternBrief, work: Work, guard: Callable[[], BudgetGuard | None]) -> Plan:
    """Plan, record the plan in the spec, wait for a person; re-plan on a rejection, up to `max_replans`."""
    feedback = ""
    for attempt in range(1, run.limits.max_replans + 2):
        plan = paused_at_budget(
            run, lambda: make_plan(run=run, brief=brief, attempt=attempt, feedback=feedback, guard=guard())
        )
        work.ledger = work.ledger.add("plan", plan.usage, plan.cost_usd)
        record_plan(run=run, status=Status.awaiting_approval(head=work.head, ledger=work.ledger, plan=plan))
        answer = wait_at_gate(run, "approval", f"plan {attempt} has {len(plan.tasks)} task(s): approve or reject it")
        if answer is None:
            raise ApprovalExpired(f"nobody approved plan {attempt} before its deadline")
        if answer.get("answer") == "approve":
            return plan
        feedback = str(answer.get("comment") or "")
    raise PlanRejected(f"plan rejected {run.limits.max_replans + 1} time(s); last feedback: {feedback}")


def paused_at_budget(run: Run, call: Callable[..., T]) -> T:
    """`call()` (a model step); with `on_budget: pause`, a call refused by the cap waits for a higher one
    and is made again, as a new step that reads the raised cap."""
    while True:
        try:
            return call()
        except BudgetExhausted as exc:
            if run.limits.on_budget != "pause":
                raise
            if wait_at_gate(run, "budget", str(exc)) is None:
                raise BudgetExhausted(f"{exc} (nobody raised the cap before the pause's deadline)") from None


def wait_at_gate(run: Run, kind: GateKind, detail: str) -> dict[str, Any] | None:
    """The answer sent to this gate, a ticked plan as an approval, or None once the deadline passed."""
    gate = open_gate(run=run, kind=kind, detail=detail)
    _set_attributes(run.id, {names.GATE_ATTRIBUTE: gate.model_dump()})
    answer = _wait(run, gate)
    closed: dict[str, Any] = {names.GATE_ATTRIBUTE: None}
    if answer is not None and kind == "approval":  # a ticked plan is remembered like an answer over HTTP
        closed[names.GATE_ANSWER_ATTRIBUTE] = {"gate": gate.id, "answer": answer.get("answer")}
    _set_attributes(run.id, closed)
    return answer


def _set_attributes(run_id: str, attributes: dict[str, Any]) -> None:
    """A recorded operation like a step, so a stopping process starts none and lets one in flight finish:
    a command that leaves its run waiting at the gate must not end DBOS under it (its error would be
    recorded as the operation's result, and replayed wherever the run continues)."""
    with graceful_stop.step_gate():
        DBOS.update_workflow_attributes(run_id, attributes, merge=True)


def _wait(run: Run, gate: Gate) -> dict[str, Any] | None:
    while True:
        message = DBOS.recv(topic=gate.kind, timeout_seconds=gate.poll_s)
        if isinstance(message, dict) and message.get("gate") == gate.id:
            return message
        check = check_gate(run=run, gate=gate)
        if check.ticked:
            return {"gate": gate.id, "answer": "approve", "comment": "ticked in the note"}
        if check.expired(gate):
            return None
