"""DBOS's own CLI on PostgreSQL: `specmill dbos workflow list / steps / fork` see a specmill run
and fork it from a step; a `specmill worker` completes the fork, then stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import uuid
from pathlib import Path

import pytest
from dbos import DBOSClient

from tests import scenarios
from tests.test_e2e_cli import specmill
from tests.test_workers import poll, start_worker, worker_env

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]


def test_the_dbos_cli_forks_a_run_from_a_step_and_a_worker_completes_it(
    basic_memory, calc_repo: Path, messages_server, postgres_url: str, tmp_path: Path
) -> None:
    server = messages_server(scenarios.succeeds_first_time())
    title = f"Multiply {uuid.uuid4().hex[:8]}"
    spec = basic_memory.write_spec(title, scenarios.spec_note(title)).permalink
    env = worker_env(basic_memory.specmill_env(), postgres_url, server.base_url, tmp_path / "data", "forker")
    run_id, fork_id = f"orig-{uuid.uuid4().hex[:6]}", f"fork-{uuid.uuid4().hex[:6]}"
    done = specmill(["run", spec, "--repo", str(calc_repo), "--run-id", run_id, "--json"], env)
    assert done.returncode == 0, done.stderr

    listed = specmill(["dbos", "workflow", "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert {w["workflow_id"]: w["status"] for w in json.loads(listed.stdout)}[run_id] == "SUCCESS"
    steps = specmill(["dbos", "workflow", "steps", run_id], env)
    assert steps.returncode == 0, steps.stderr
    run_tests = next(s["function_id"] for s in json.loads(steps.stdout) if s["function_name"] == "run_tests")

    worker = start_worker(env, tmp_path / "worker.stderr")
    client = DBOSClient(system_database_url=postgres_url)
    try:
        forked = specmill(
            ["dbos", "workflow", "fork", run_id, "--step", str(run_tests), "--forked-workflow-id", fork_id], env
        )
        assert forked.returncode == 0, forked.stderr
        poll(
            lambda: client.retrieve_workflow(fork_id).get_status().status in ("SUCCESS", "ERROR"), "the fork to finish"
        )
        status = client.retrieve_workflow(fork_id).get_status()
        assert status.status == "SUCCESS" and status.executor_id == "forker"
        assert status.output.status == "succeeded"
        names = [s["function_name"] for s in client.list_workflow_steps(fork_id, load_output=False)]
        assert names[:2] == ["load_playbook", "read_spec"]  # copied from the original, not run again
    finally:
        client.destroy()
        os.killpg(worker.pid, signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    assert "stopping" in (tmp_path / "worker.stderr").read_text()
