"""One owner per run, and no model call paid twice, with `specmill serve` running beside the CLI.

- A run killed between a model's answer and its checkpoint resumes without calling the model again
  (the call journal), in the CLI's own process although `serve` works the same database.
- A run pending on a live worker is refused by `specmill resume`, even with `--takeover`, naming
  the owner; a fork of it runs in the CLI; once the worker is SIGKILLed, `--takeover` continues it.
- Every one of these runs is in `GET /runs`, however it was started (CLI, DBOS client, fork).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from dbos import DBOSClient, EnqueueOptions

from specmill.config import Settings
from specmill.models import RunRequest
from specmill.replay.request_log import completed_counts
from tests import scenarios
from tests.fixtures.cli import pause_at, specmill, start_logged

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]

TOKEN = "owner-token"
DEADLINE_S = 120.0


def wait_for(path: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not path.exists():
        assert proc.poll() is None, f"the process ended first: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"never paused: {log.read_text()[-3000:]}"
        time.sleep(0.05)
    path.unlink()


def kill(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def executor_of(client: DBOSClient, run_id: str) -> tuple[str, str | None]:
    status = client.retrieve_workflow(run_id).get_status()
    return status.status, status.executor_id


@pytest.mark.timeout(600)  # six processes in a row on two shared cores
def test_one_owner_per_run_and_no_call_paid_twice_beside_serve(
    cli_env, basic_memory, calc_repo, messages_server, serve_process, tmp_path: Path, database: str | None
) -> None:
    server = messages_server(scenarios.succeeds_first_time(), log_path=tmp_path / "log.jsonl")
    cli_env["ANTHROPIC_BASE_URL"] = server.base_url
    data_dir = Path(cli_env["SPECMILL_DATA_DIR"])
    paused = data_dir / "paused-at"
    serve = serve_process(
        {
            **cli_env,
            "SPECMILL_API_TOKENS": TOKEN,
            "SPECMILL_QUEUE_POLLING_INTERVAL_S": "0.1",
            "SPECMILL_EXECUTOR_ID": f"serve-{uuid.uuid4().hex[:6]}",
            "SPECMILL_SERVE_WORKS_QUEUE": "false",  # the queued run below is the worker's
        }
    )
    client = DBOSClient(system_database_url=Settings(data_dir=data_dir, system_database_url=database).database_url())
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # A run killed after the model answered, before the step's checkpoint: the answer is not paid again.
        title = f"Multiply {uuid.uuid4().hex[:6]}"
        spec_a = basic_memory.write_spec(title, scenarios.spec_note(title)).permalink
        log = tmp_path / "run.stderr"
        run = start_logged(
            ["run", spec_a, "--repo", str(calc_repo), "--run-id", "journal"],
            {**cli_env, **pause_at("implement.model_call", cli_env)},
            log,
        )
        procs.append(run)
        wait_for(paused, run, log)
        kill(run)
        resumed = specmill(["resume", "journal"], cli_env)
        assert resumed.returncode == 0, resumed.stderr
        assert "continues here, as executor cli-journal-" in resumed.stderr
        assert executor_of(client, "journal")[1].startswith("cli-journal-"), "serve ran the resumed run"
        one_run = completed_counts(server.wait_settled())
        assert set(one_run.values()) == {1}, "a model call answered before the crash was made again"

        # A run pending on a live worker: refused, even with --takeover; a fork runs in the CLI.
        title = f"Multiply {uuid.uuid4().hex[:6]}"
        spec_b = basic_memory.write_spec(title, scenarios.spec_note(title)).permalink
        worker_env = {
            **cli_env,
            **pause_at("analyze_patterns", cli_env),
            "SPECMILL_EXECUTOR_ID": "owner-w",
            "SPECMILL_QUEUE_POLLING_INTERVAL_S": "0.1",
        }
        log = tmp_path / "worker.stderr"
        worker = start_logged(["worker"], worker_env, log)
        procs.append(worker)
        request = RunRequest(spec=spec_b, repo=str(calc_repo), project=basic_memory.project)
        options: EnqueueOptions = {
            "queue_name": "implementations",
            "workflow_name": "specmill.run",
            "workflow_id": "owned",
            "queue_partition_key": request.repo,
            "app_version": Settings().app_version,
        }
        client.enqueue(options, request)
        wait_for(paused, worker, log)
        assert executor_of(client, "owned") == ("PENDING", "owner-w")
        for args in (["resume", "owned"], ["resume", "owned", "--takeover"]):
            refused = specmill(args, cli_env)
            assert refused.returncode == 2, refused.stderr
            assert "pending on executor owner-w (worker, pid" in refused.stderr and "--takeover" in refused.stderr
        forked = specmill(["fork", "owned", "--from-phase", "prepare_workspace", "--run-id", "owned-fork"], cli_env)
        assert forked.returncode == 0, forked.stderr
        assert executor_of(client, "owned-fork")[0] == "SUCCESS"
        assert executor_of(client, "owned-fork")[1].startswith("cli-owned-fork-"), "serve ran the fork"
        assert executor_of(client, "owned") == ("PENDING", "owner-w"), "the fork touched the run it came from"

        # The owner SIGKILLed: --takeover continues the run here.
        kill(worker)
        taken = specmill(["resume", "owned", "--takeover"], cli_env)
        assert taken.returncode == 0, taken.stderr
        assert "executor owner-w (worker" in taken.stderr and "is gone" in taken.stderr
        status, executor = executor_of(client, "owned")
        assert status == "SUCCESS" and executor.startswith("cli-owned-")
        # The fork and the taken-over run made the same calls once each; the first run's were made once.
        counts = completed_counts(server.wait_settled())
        assert Counter(counts.values()) == {1: len(one_run), 2: len(one_run)}, counts

        with serve.client(TOKEN) as http:
            listed = {r["run_id"] for r in http.get("/runs", params={"limit": 50}).json()["runs"]}
        assert {"journal", "owned", "owned-fork"} <= listed
    finally:
        client.destroy()
        for proc in procs:
            if proc.poll() is None:
                kill(proc)
