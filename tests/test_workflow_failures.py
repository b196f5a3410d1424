"""How runs fail: clearly, with plain tracebacks in the record, and resumable without repeats."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbos import DBOS

from specmill import runtime
from specmill.errors import ModelError, TransientModelError
from specmill.models import ModelRequest, ModelTurn
from specmill.ports.model import ScriptedModel
from specmill.replay.scripts import Script
from tests import scenarios

HANG = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"
)
HANGING_PLAYBOOK = f"""---
name: hanging
model: claude-test
test_command: python -c "{HANG}"
max_iterations: 1
---
Write code.
"""


def test_a_test_command_that_hangs_is_killed_and_the_run_fails_with_the_reason(world, tmp_path: Path) -> None:
    playbook = tmp_path / "hanging.md"
    playbook.write_text(HANGING_PLAYBOOK)
    script = {
        "conversations": [
            scenarios.conversation("implement-1", 1, [{"content": [{"type": "text", "text": "Nothing to change."}]}]),
            scenarios.conversation(
                "verdict-1", 1, [scenarios.verdict(False, False, summary="tests hang")], forced="record_verdict"
            ),
        ]
    }
    result, _ = world(script, playbook=str(playbook), settings={"test_timeout_s": 2.0})
    assert result.status == "failed"
    assert "timed out" in result.reason
    note = world.store.content("specs", "specs/multiply")
    assert "status: needs-attention" in note and note.count("## Implementation Status") == 1


def _failing(error: type[Exception], after: int) -> ScriptedModel:
    """Answers the scripted session, but raises `error` from call number `after` on."""
    inner = ScriptedModel(Script.load(scenarios.succeeds_first_time()))
    calls = {"n": 0}

    def respond(request: ModelRequest) -> ModelTurn:
        calls["n"] += 1
        if calls["n"] > after:
            raise error(
                "model API unreachable" if error is TransientModelError else "model API answered 400: bad request"
            )
        return inner.complete(request)

    return ScriptedModel(respond)


def test_a_failed_step_keeps_its_plain_python_traceback_in_the_record(world) -> None:
    with pytest.raises(ModelError):
        world(_failing(ModelError, after=1), run_id="traced")
    failed = [s for s in DBOS.list_workflow_steps("traced") if s["error"] is not None]
    assert [s["function_name"] for s in failed] == ["implement.model_call"]
    notes = "".join(getattr(failed[0]["error"], "__notes__", []))
    assert "Traceback (most recent call last)" in notes and "def respond" not in notes
    assert "in respond" in notes  # the frame that raised, from the test's own model
    assert "status: needs-attention" in world.store.content("specs", "specs/multiply")


def test_a_run_that_failed_on_a_model_outage_resumes_without_repeating_completed_steps(world) -> None:
    outage = _failing(TransientModelError, after=2)
    with pytest.raises(TransientModelError):
        world(outage, run_id="outage")
    steps_before = DBOS.list_workflow_steps("outage")
    assert len(outage.requests) == 2 + 3  # two answered calls, then three attempts at the third

    healthy = ScriptedModel(Script.load(scenarios.succeeds_first_time()))
    world.container.model = healthy
    result = runtime.continue_run("outage")
    assert result.status == "succeeded"
    assert len(healthy.requests) == 4  # implement turns 3..5 and the verdict; turns 1-2 were not paid again
    steps_after = DBOS.list_workflow_steps("outage")
    completed_before = [s for s in steps_before if s["error"] is None][:-1]  # minus the failure note
    for before, after in zip(completed_before, steps_after):
        assert (before["function_name"], before["completed_at_epoch_ms"]) == (
            after["function_name"],
            after["completed_at_epoch_ms"],
        )
