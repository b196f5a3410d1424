"""SIGTERM to a worker in the middle of a run: the model call in flight finishes and is
checkpointed, no further step starts, the worker exits well within its grace period, and the
run continues from that step when a worker starts again under the same executor id."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import pytest
from dbos import DBOSClient

from specmill.models import RunRequest
from specmill.replay.request_log import completed_counts
from tests import scenarios
from tests.fixtures.git_repos import CALC_FILES
from tests.test_workers import enqueue, poll, start_worker, statuses, worker_env

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]

GRACE_S = 120  # far longer than the step in flight needs: the worker must not wait it out


def test_sigterm_lets_the_step_in_flight_finish_and_the_run_continues_at_the_next_start(
    basic_memory, make_repo, messages_server, postgres_url: str, tmp_path: Path
) -> None:
    server = messages_server(
        scenarios.succeeds_first_time(delay_on_turn=1, delay_s=2.0), log_path=tmp_path / "log.jsonl"
    )
    env = {
        **worker_env(basic_memory.specmill_env(), postgres_url, server.base_url, tmp_path / "data", "w-term"),
        "SPECMILL_WORKER_GRACE_S": str(GRACE_S),
    }
    log = tmp_path / "worker.stderr"
    worker = start_worker(env, log)
    client = DBOSClient(system_database_url=postgres_url)
    try:
        title = f"Multiply {uuid.uuid4().hex[:8]}"
        spec = basic_memory.write_spec(title, scenarios.spec_note(title), folder="sigterm").permalink
        repo = make_repo(CALC_FILES)
        run_id = f"term-{uuid.uuid4().hex[:8]}"
        enqueue(client, run_id, RunRequest(spec=spec, repo=str(repo), project=basic_memory.project))

        poll(
            lambda: any(e["conversation"] == "implement-1" and e["turn"] == 1 for e in server.requests()),
            "the first model call to be in flight",
            alive=worker,
        )
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=GRACE_S / 2) == 0, log.read_text()
        assert "stopped; 1 run(s) continue at its next start" in log.read_text()

        assert statuses(client, [run_id]) == {run_id: "PENDING"}
        recorded = client.list_workflow_steps(run_id)
        model_calls = [s for s in recorded if s["function_name"] == "implement.model_call"]
        assert len(model_calls) == 2, "the call in flight (the second) should have been checkpointed"
        assert recorded[-1] is model_calls[-1], "a step started after SIGTERM"
        assert model_calls[-1]["error"] is None and model_calls[-1]["output"] is not None
        entries = server.wait_settled()
        assert not any(e["event"] == "aborted" for e in entries), "the call in flight was cut off"

        worker = start_worker(env, log)
        poll(lambda: statuses(client, [run_id])[run_id] in ("SUCCESS", "ERROR"), "the run to finish after the restart")
        assert statuses(client, [run_id]) == {run_id: "SUCCESS"}
        assert max(completed_counts(server.wait_settled()).values()) == 1, "a completed model call was made twice"
    finally:
        client.destroy()
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
