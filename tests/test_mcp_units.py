"""The MCP server's own rules, without a server: executor ids claimed by one live process at a time,
playbooks by name only, the diff cut short with a note, progress in a few words, plans answered
through the run service, and wait_run stopping where the run waits for a person."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from specmill import names
from specmill.answers import GateAnswered
from specmill.api.errors import ApiError
from specmill.api.schemas import RunDiff
from specmill.mcp_server.executor_claim import claim_executor_id
from specmill.mcp_server.results import playbook_name
from specmill.mcp_server.tools.approve_run import approve_run
from specmill.mcp_server.tools.get_diff import MAX_DIFF_CHARS, get_diff
from specmill.mcp_server.tools.reject_run import reject_run
from specmill.mcp_server.tools.wait_run import follow, progress_message, waits_for_person
from specmill.mcp_server.views import describe_plan
from specmill.phases.plan import Plan, PlanTask
from specmill.playbooks import available
from specmill.queries import RunState
from tests.fixtures.runtime import make_settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_two_live_claims_get_two_ids_and_a_released_id_is_claimed_again(tmp_path: Path) -> None:
    first = claim_executor_id(tmp_path, "mcp-host")
    second = claim_executor_id(tmp_path, "mcp-host")
    assert (first.executor_id, second.executor_id) == ("mcp-host", "mcp-host-2")
    first.release()
    third = claim_executor_id(tmp_path, "mcp-host")
    assert third.executor_id == "mcp-host"
    assert (tmp_path / "mcp-host.lock").read_text().strip() == str(os.getpid())
    second.release()
    third.release()


def test_a_killed_process_leaves_its_id_free(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; "
        "from specmill.mcp_server.executor_claim import claim_executor_id; "
        "claim_executor_id(Path(sys.argv[1]), 'mcp-host'); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        taken = claim_executor_id(tmp_path, "mcp-host")
        assert taken.executor_id == "mcp-host-2"
        taken.release()
    finally:
        holder.kill()
        holder.wait(10)
    freed = claim_executor_id(tmp_path, "mcp-host")
    assert freed.executor_id == "mcp-host"
    freed.release()


def test_playbooks_are_names_and_paths_are_refused(tmp_path: Path) -> None:
    runs = SimpleNamespace(settings=make_settings(tmp_path))
    assert playbook_name("python-developer", runs) == "python-developer"
    assert playbook_name(None, runs) is None
    for path in ("../evil.md", "/etc/agent", "agent.md", "..\\x", ".hidden"):
        with pytest.raises(ToolError, match="is a path: name one of the server's playbooks .*python-developer"):
            playbook_name(path, runs)


def test_the_agent_file_is_no_playbook() -> None:
    assert (REPO_ROOT / "examples" / "agents" / "implement-spec.md").is_file()
    assert "implement-spec" not in available()


def test_a_long_diff_is_cut_short_with_a_note_naming_the_whole_one() -> None:
    whole = "".join(f"+line {n}\n" for n in range(MAX_DIFF_CHARS // 5))

    class Runs:
        async def diff(self, run_id: str) -> RunDiff:
            return RunDiff(run_id=run_id, branch="specmill/x-1", base_commit="a" * 40, head_commit="b" * 40, diff=whole)

    ctx = SimpleNamespace(request_context=SimpleNamespace(lifespan_context=Runs()))
    answer = asyncio.run(get_diff("r1", ctx))
    view = answer.structured_content
    assert view["truncated"] and view["total_chars"] == len(whole) and view["diff"] == whole[:MAX_DIFF_CHARS]
    assert "read specmill://runs/r1/diff for the rest" in answer.content[0].text


def test_progress_reads_as_a_step_and_what_happened() -> None:
    event = {"kind": "step_finished", "step": "run_tests", "phase": "run_tests", "detail": "2 passed"}
    assert progress_message(event) == "run_tests step finished (2 passed)"
    assert progress_message({"kind": "run_finished", "phase": "", "detail": "succeeded"}) == "run finished (succeeded)"


class Plans:
    """A run service that answers plans as the real one does: the run `waits` is at its gate."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, str, str]] = []

    async def answer_plan(self, run_id: str, answer: str, comment: str) -> GateAnswered:
        if run_id != "waits":
            raise ApiError(409, "not_awaiting_approval", f"run '{run_id}' is running: it waits for no approval")
        self.answers.append((run_id, answer, comment))
        return GateAnswered(run_id=run_id, answer=answer, gate="g1", message=f"run '{run_id}': plan {answer}d")


def context(runs: object, progress: list[tuple[float, str]] | None = None) -> SimpleNamespace:
    async def report_progress(value: float, total: float | None, message: str) -> None:
        (progress if progress is not None else []).append((value, message))

    return SimpleNamespace(request_context=SimpleNamespace(lifespan_context=runs), report_progress=report_progress)


def test_approve_and_reject_answer_the_plan_and_a_run_not_waiting_is_a_tool_error() -> None:
    runs = Plans()
    approved = asyncio.run(approve_run("waits", context(runs)))
    assert approved.structured_content == {
        "run_id": "waits",
        "answer": "approve",
        "gate": "g1",
        "already": False,
        "message": "run 'waits': plan approved",
    }
    assert "follow it with wait_run" in approved.content[0].text
    rejected = asyncio.run(reject_run("waits", "split the test out", context(runs)))
    assert rejected.structured_content["answer"] == "reject"
    assert runs.answers == [("waits", "approve", ""), ("waits", "reject", "split the test out")]
    for tool in (approve_run("runs", context(runs)), reject_run("runs", "no", context(runs))):
        with pytest.raises(ToolError, match="it waits for no approval"):
            asyncio.run(tool)


class Waiting:
    """A run that already waited once (an old `awaiting_approval` event), then waits again: its new
    event arrives a moment before its state shows the gate."""

    def __init__(self) -> None:
        self.gate_after = 2
        self.reads = 0

    async def events(self, run_id: str, offset: int):  # noqa: ANN201
        kinds = ["step_finished", "awaiting_approval", "step_finished", "step_finished", "awaiting_approval"]
        for n, kind in enumerate(kinds):
            yield n, {"kind": kind, "step": f"s{n}"}
        raise AssertionError("wait_run read on past the gate")

    async def state(self, run_id: str) -> RunState:
        self.reads += 1
        gate = {"kind": "approval", "id": "g2"} if self.reads >= self.gate_after else None
        return RunState(
            run_id, "PENDING", None, None, None, None, None, None, None, attributes={names.GATE_ATTRIBUTE: gate}
        )


def test_wait_run_stops_at_a_new_gate_once_the_run_shows_it_and_not_at_an_old_one() -> None:
    runs, progress = Waiting(), []
    asyncio.run(follow(runs, "r1", 3, context(runs, progress)))
    assert [value for value, _ in progress] == [1, 2, 3, 4, 5]
    assert progress[1][1] == "s1 awaiting approval" and runs.reads == 2


def test_a_gate_answered_but_not_yet_taken_by_the_run_is_not_waited_at() -> None:
    def state(**attributes: object) -> RunState:
        return RunState("r1", "PENDING", None, None, None, None, None, None, None, attributes=attributes)

    gate = {names.GATE_ATTRIBUTE: {"kind": "approval", "id": "g2"}}
    assert waits_for_person(state(**gate))
    assert waits_for_person(state(**gate, **{names.GATE_ANSWER_ATTRIBUTE: {"gate": "g1", "answer": "reject"}}))
    assert not waits_for_person(state(**gate, **{names.GATE_ANSWER_ATTRIBUTE: {"gate": "g2", "answer": "approve"}}))
    assert not waits_for_person(state())


def test_a_plan_reads_as_its_tasks_the_criteria_they_serve_and_the_gap() -> None:
    plan = Plan(
        summary="one task",
        tasks=[PlanTask(title="Add multiply", criteria=["multiply works"], files=["calc/__init__.py"])],
        unserved=["the suite passes"],
    )
    assert describe_plan(plan) == (
        "plan 1: one task\n1. Add multiply (serves: multiply works)\nno task serves: the suite passes"
    )
