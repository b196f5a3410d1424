"""The steps of a run's gates (the plan a person approves, the budget a person tops up): plain typed
functions over the ports, with no DBOS in them. `specmill.gates` makes them durable and does the waiting.

Time comes from the container's clock, read only inside a step, so a wait's deadline is recorded once
and a test can move the clock instead of waiting for days.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from specmill import progress, steps
from specmill.markdown import split_frontmatter, split_lines, status_spans
from specmill.models import BudgetGuard, PatternBrief
from specmill.phases.plan import Plan, approval_ticked, parse_plan, plan_request, render_plan
from specmill.phases.update_spec import render_status_section, update_spec
from specmill.run import Run, Status

GateKind = Literal["approval", "budget"]


class Gate(BaseModel):
    """One wait of a run: what it waits for, since when and until when (epoch seconds)."""

    id: str
    kind: GateKind
    opened_at: float
    deadline: float
    poll_s: float
    detail: str = ""


class GateCheck(BaseModel):
    """What one look at the world found while waiting: the time, and whether the plan was ticked."""

    now: float
    ticked: bool = False

    def expired(self, gate: Gate) -> bool:
        return self.now >= gate.deadline


def plan(*, run: Run, brief: PatternBrief, attempt: int, feedback: str, guard: BudgetGuard | None) -> Plan:
    """One forced `record_plan` call over the spec and the brief (and a rejected plan's feedback)."""
    request = plan_request(steps.model_name(run), run.spec, brief, attempt, feedback)
    turn = steps.call_model(request=request, guard=guard)
    return parse_plan(run.spec, turn, attempt).model_copy(update={"cost_usd": turn.cost_usd})


def record_plan(*, run: Run, status: Status) -> str:
    """The plan, its tasks and the approval checkbox in the spec's status section; status `awaiting-approval`."""
    assert status.plan is not None
    section = render_status_section(
        run_id=run.id,
        status=status.name,
        branch=run.workspace.branch,
        head_commit=status.head,
        tests=None,
        verdict=None,
        iteration=0,
        max_iterations=run.limits.max_iterations,
        ledger=status.ledger,
    )
    section = section + "\n".join(render_plan(status.plan)) + "\n"
    c = steps.ports()
    note = update_spec(c.spec_store, run.spec.project, run.spec.permalink, c.redactor.redact(section), status.name)
    return note.checksum or ""


def open_gate(*, run: Run, kind: GateKind, detail: str) -> Gate:
    """Start a wait: its deadline from the clock and the settings, and an event for people watching."""
    c = steps.ports()
    now = c.clock()
    timeout = c.settings.approval_timeout_s if kind == "approval" else c.settings.budget_timeout_s
    gate = Gate(
        id=f"{kind}-{int(now * 1000)}",
        kind=kind,
        opened_at=now,
        deadline=now + timeout,
        poll_s=c.settings.gate_poll_s,
        detail=detail,
    )
    waiting = f"awaiting_{kind}"
    event = progress.ProgressEvent(run_id=run.id, kind=waiting, step="gate", detail=detail)  # type: ignore[arg-type]
    progress.publish(c.redactor.scrub(event, "detail"))
    return gate


def check_gate(*, run: Run, gate: Gate) -> GateCheck:
    """The time, and for a plan, whether a person ticked `Approve this plan` in the note."""
    c = steps.ports()
    now = c.clock()
    if gate.kind != "approval":
        return GateCheck(now=now)
    note = c.spec_store.read_note(run.spec.permalink, run.spec.project)
    _, body = split_frontmatter(note.content)
    lines = split_lines(body)
    section = "".join("".join(lines[start:end]) for start, end in status_spans(lines))
    return GateCheck(now=now, ticked=approval_ticked(section))
