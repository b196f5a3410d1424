"""A plan's wait across processes, on SQLite and PostgreSQL, with real Basic Memory and the real SDK against
the loopback Messages server: `specmill run --approval plan --json` returns at once (exit 4) and hands the
waiting run to the queue; `specmill serve` takes it, is SIGKILLed while it waits, starts again, and the
run goes on when a person ticks `Approve this plan` in the note. No model call is made twice."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from specmill.replay.request_log import completed_counts
from tests import scenarios
from tests.fixtures.api import wait_for_status
from tests.fixtures.cli import specmill
from tests.test_api_server import TOKEN


@pytest.fixture
def gate_env(cli_env: dict[str, str]) -> dict[str, str]:
    return {
        **cli_env,
        "SPECMILL_API_TOKENS": TOKEN,
        "SPECMILL_QUEUE_POLLING_INTERVAL_S": "0.1",
        "SPECMILL_GATE_POLL_S": "0.3",
        "SPECMILL_EXECUTOR_ID": f"serve-gate-{uuid.uuid4().hex[:6]}",
    }


def _gate_checks(client, run_id: str) -> int:
    return sum(1 for step in client.get(f"/runs/{run_id}").json()["timeline"] if step["name"] == "gate.check")


@pytest.mark.basic_memory
@pytest.mark.slow
@pytest.mark.timeout(900)  # three specmill processes and a Basic Memory round trip per poll
def test_a_waiting_plan_survives_sigkill_and_is_approved_by_ticking_the_note(
    gate_env, serve_process, basic_memory, messages_server, calc_repo: Path
) -> None:
    model = messages_server(scenarios.planned(scenarios.PLAN_TASK))
    gate_env["ANTHROPIC_BASE_URL"] = model.base_url
    title = f"Multiply {uuid.uuid4().hex[:8]}"
    spec = basic_memory.write_spec(title, scenarios.spec_note(title)).permalink
    run_id = f"gate-{uuid.uuid4().hex[:8]}"

    ran = specmill(
        ["run", spec, "--repo", str(calc_repo), "--approval", "plan", "--run-id", run_id, "--json"], gate_env
    )
    assert ran.returncode == 4, ran.stderr
    assert json.loads(ran.stdout) == {"run_id": run_id, "status": "awaiting_approval"}
    note = basic_memory.store.read_note(spec, basic_memory.project).content
    assert "status: awaiting-approval" in note and "- [ ] Approve this plan" in note

    api = serve_process(gate_env)
    with api.client(TOKEN) as client:
        assert wait_for_status(client.get, run_id, {"awaiting_approval"})["plan"]["tasks"][0]["files"] == [
            "calc/__init__.py"
        ]
        seen, deadline = _gate_checks(client, run_id), time.monotonic() + 60
        while _gate_checks(client, run_id) < seen + 2:  # serve took the run and polls the note as it waits
            assert api.proc.poll() is None and time.monotonic() < deadline, "serve never took the waiting run"
            time.sleep(0.1)
    os.killpg(api.proc.pid, signal.SIGKILL)
    api.proc.wait(30)

    note = basic_memory.store.read_note(spec, basic_memory.project)
    basic_memory.store.replace_note(note, note.content.replace("- [ ] Approve this plan", "- [x] Approve this plan"))
    again = serve_process(gate_env)  # the same executor id: it recovers the waiting run
    with again.client(TOKEN) as client:
        done = wait_for_status(client.get, run_id, {"succeeded", "failed", "error", "approval_expired"})
        assert done["status"] == "succeeded", done
    assert "status: implemented" in basic_memory.store.read_note(spec, basic_memory.project).content

    log = model.wait_settled()
    plans = [e for e in log if e["event"] == "completed" and e["conversation"] == "plan-1"]
    assert len(plans) == 1  # planned once, before the CLI returned
    assert max(completed_counts(log).values()) == 1  # no completed call was made twice

    approved = specmill(["approve", run_id, "--json"], gate_env, timeout=60)
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["already"] is True
