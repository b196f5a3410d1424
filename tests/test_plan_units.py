"""The plan and its gate as plain functions: parsing and flagging a plan, rendering it into the note,
noticing the ticked checkbox, what an answer means at each moment, and how a waiting run reads."""

from __future__ import annotations

import pytest

from specmill import names
from specmill.answers import GateClosed, budget_answer, plan_answer
from specmill.api.views import run_status
from specmill.models import Budget, Criterion, ModelTurn, RunRequest, Spec
from specmill.phases.plan import approval_ticked, parse_plan, render_plan, with_plan_tasks
from specmill.phases.update_spec import merge_status
from specmill.playbooks import parse_playbook
from specmill.queries import RunState
from specmill.run import Limits

CRITERIA = ["multiply returns the product", "the suite passes"]
SPEC = Spec(
    project="specs",
    permalink="specs/multiply",
    title="Multiply",
    body="b",
    criteria=[Criterion(text=t, section="How to Evaluate") for t in CRITERIA],
)


def _turn(tasks: list[object]) -> ModelTurn:
    block = {"type": "tool_use", "id": "t", "name": "record_plan", "input": {"summary": "s", "tasks": tasks}}
    return ModelTurn(content=[block], stop_reason="tool_use")


def test_a_criterion_no_task_serves_is_flagged_and_malformed_tasks_are_dropped() -> None:
    plan = parse_plan(
        SPEC,
        _turn([{"title": "Add multiply", "criteria": ["Multiply returns the product."], "files": ["calc.py"]}, 7, {}]),
        attempt=2,
    )
    assert [t.title for t in plan.tasks] == ["Add multiply"] and plan.attempt == 2
    assert plan.unserved == ["the suite passes"]
    no_tool = parse_plan(SPEC, ModelTurn(content=[{"type": "text", "text": "hm"}], stop_reason="end_turn"), 1)
    assert no_tool.tasks == [] and no_tool.unserved == CRITERIA and "did not call record_plan" in no_tool.summary


def test_the_plan_goes_into_the_status_section_and_a_tick_there_is_noticed() -> None:
    plan = parse_plan(SPEC, _turn([{"title": "Add | multiply\\n# now", "criteria": CRITERIA, "files": []}]), 1)
    section = "## Implementation Status\n\n- Run: `r`\n" + "\n".join(render_plan(plan)) + "\n"
    merged = merge_status("---\ntitle: M\nstatus: ready\n---\n\n# M\n", section, "awaiting-approval")
    assert "status: awaiting-approval" in merged and "\n- [ ] Approve this plan\n" in merged
    assert sum(line.startswith("#") for line in merged.splitlines()) == 2  # no heading smuggled in by a title
    assert not approval_ticked(merged)
    assert approval_ticked(merged.replace("- [ ] Approve this plan", "- [x] Approve this plan"))
    assert [c.text for c in with_plan_tasks(SPEC, plan).criteria][-1].startswith("Plan task: Add")


def test_approving_twice_says_so_and_a_late_rejection_is_refused() -> None:
    gate = {"id": "approval-1", "kind": "approval"}
    first = plan_answer("r", {names.GATE_ATTRIBUTE: gate}, "approve", "")
    assert first.gate == "approval-1" and not first.already
    answered = {names.GATE_ATTRIBUTE: gate, names.GATE_ANSWER_ATTRIBUTE: {"gate": "approval-1", "answer": "approve"}}
    assert plan_answer("r", answered, "approve", "").already
    with pytest.raises(GateClosed, match="already approved"):
        plan_answer("r", answered, "reject", "no")
    passed = {names.GATE_ATTRIBUTE: None, names.GATE_ANSWER_ATTRIBUTE: {"gate": "approval-1", "answer": "approve"}}
    assert plan_answer("r", passed, "approve", "").already
    with pytest.raises(GateClosed, match="not waiting"):
        plan_answer("r", {}, "approve", "")
    with pytest.raises(GateClosed, match="not paused at its budget"):
        budget_answer("r", {names.GATE_ATTRIBUTE: gate}, Budget(usd=5))


@pytest.mark.parametrize(
    ("status", "gate", "expected"),
    [
        ("PENDING", {"kind": "approval"}, "awaiting_approval"),
        ("ENQUEUED", {"kind": "budget"}, "awaiting_budget"),
        ("PENDING", None, "running"),
        ("ENQUEUED", None, "queued"),
        ("SUCCESS", {"kind": "approval"}, "failed"),  # a gate left in the attributes of a finished run is moot
    ],
)
def test_a_waiting_run_reads_as_awaiting(status: str, gate: dict | None, expected: str) -> None:
    state = RunState("r", status, None, None, None, None, None, None, None, attributes={names.GATE_ATTRIBUTE: gate})
    assert run_status(state) == expected


def test_the_request_turns_on_what_the_playbook_leaves_off() -> None:
    playbook = parse_playbook("---\nname: p\napproval: plan\non_budget: pause\nmax_replans: 1\n---\nbody")
    limits = Limits.of(RunRequest(spec="s", repo="r"), playbook)
    assert (limits.approval, limits.on_budget, limits.max_replans) == ("plan", "pause", 1)
    off = Limits.of(RunRequest(spec="s", repo="r"), parse_playbook("---\nname: p\n---\nbody"))
    assert (off.approval, off.on_budget) == ("none", "stop")
    assert (
        Limits.of(RunRequest(spec="s", repo="r", approval="plan"), parse_playbook("---\nname: p\n---\nb")).approval
        == "plan"
    )
