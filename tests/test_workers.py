"""Many workers on PostgreSQL: three `specmill worker` processes share twelve queued runs over
four repositories; one worker is SIGKILLed mid-way and restarted under the same executor id.
Every run finishes exactly once, and no repository ever has two runs in flight (the queue is
partitioned by repository), judged from the step timestamps DBOS recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from dbos import DBOSClient, EnqueueOptions

from specmill import __version__
from specmill.models import RunRequest
from specmill.replay.request_log import completed_counts
from tests import scenarios

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]

QUEUE, WORKFLOW = "implementations", "specmill.run"
DEADLINE_S = 150.0


def worker_env(
    base: dict[str, str], database_url: str, model_url: str, data_dir: Path, executor_id: str
) -> dict[str, str]:
    return {
        **base,
        "DBOS_SYSTEM_DATABASE_URL": database_url,
        "ANTHROPIC_BASE_URL": model_url,
        "ANTHROPIC_API_KEY": "test-key",
        "SPECMILL_DATA_DIR": str(data_dir),
        "SPECMILL_EXECUTOR_ID": executor_id,
        "SPECMILL_QUEUE_CONCURRENCY": "2",
        "SPECMILL_QUEUE_POLLING_INTERVAL_S": "0.2",
        "SPECMILL_WORKER_GRACE_S": "0",
        "PYTHONUNBUFFERED": "1",
    }


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A worker in its own session; returns once it says it works the queue."""
    with open(log, "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "specmill", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    poll(
        lambda: "working queue" in log.read_text(errors="replace"),
        f"worker start ({log.read_text()[-2000:]})",
        alive=proc,
    )
    return proc


def poll(
    ready: Callable[[], bool], what: str, timeout: float = DEADLINE_S, alive: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert alive is None or alive.poll() is None, f"the process died waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def enqueue(client: DBOSClient, run_id: str, request: RunRequest) -> None:
    options: EnqueueOptions = {
        "queue_name": QUEUE,
        "workflow_name": WORKFLOW,
        "workflow_id": run_id,
        "queue_partition_key": request.repo,
        "app_version": __version__,
    }
    client.enqueue(options, request)


def statuses(client: DBOSClient, run_ids: list[str]) -> dict[str, str]:
    return {
        w.workflow_id: w.status
        for w in client.list_workflows(workflow_ids=run_ids, load_input=False, load_output=False)
    }


def in_flight_intervals(client: DBOSClient, run_id: str) -> tuple[int, int]:
    """From the first recorded step's start to the last one's end, in ms."""
    steps = client.list_workflow_steps(run_id, load_output=False)
    starts = [s["started_at_epoch_ms"] for s in steps if s["started_at_epoch_ms"] is not None]
    ends = [s["completed_at_epoch_ms"] for s in steps if s["completed_at_epoch_ms"] is not None]
    return min(starts), max(ends)


def test_three_workers_share_twelve_runs_one_repository_at_a_time_across_a_crash(
    basic_memory, make_repo, messages_server, postgres_url: str, tmp_path: Path
) -> None:
    from tests.fixtures.git_repos import CALC_FILES

    server = messages_server(scenarios.succeeds_first_time(), log_path=tmp_path / "log.jsonl")
    repos = [make_repo(CALC_FILES) for _ in range(4)]
    base = basic_memory.specmill_env()
    envs = {
        f"w{n}": worker_env(base, postgres_url, server.base_url, tmp_path / f"data-w{n}", f"w{n}") for n in (1, 2, 3)
    }
    workers = {name: start_worker(env, tmp_path / f"{name}.stderr") for name, env in envs.items()}
    client = DBOSClient(system_database_url=postgres_url)
    try:
        run_ids: dict[str, str] = {}
        for n in range(12):
            title = f"Multiply {n} {uuid.uuid4().hex[:6]}"
            spec = basic_memory.write_spec(title, scenarios.spec_note(title), folder="workers").permalink
            run_id = f"mw-{n}-{uuid.uuid4().hex[:6]}"
            run_ids[run_id] = str(repos[n % 4])
            enqueue(client, run_id, RunRequest(spec=spec, repo=str(repos[n % 4]), project=basic_memory.project))
        ids = list(run_ids)

        def victim_busy() -> bool:
            running = client.list_workflows(
                workflow_ids=ids, status="PENDING", executor_id="w2", load_input=False, load_output=False
            )
            done = sum(s == "SUCCESS" for s in statuses(client, ids).values())
            return bool(running) and done >= 2

        poll(victim_busy, "worker w2 in the middle of a run")
        os.killpg(workers["w2"].pid, signal.SIGKILL)
        workers["w2"].wait(timeout=30)
        workers["w2"] = start_worker(envs["w2"], tmp_path / "w2.stderr")

        poll(
            lambda: (
                all(s in ("SUCCESS", "ERROR") for s in statuses(client, ids).values())
                and len(statuses(client, ids)) == 12
            ),
            "all twelve runs to finish",
        )
        final = statuses(client, ids)
        assert set(final.values()) == {"SUCCESS"}, final
        executors = {
            w.executor_id for w in client.list_workflows(workflow_ids=ids, load_input=False, load_output=False)
        }
        assert executors <= {"w1", "w2", "w3"} and "w2" in executors

        by_repo: dict[str, list[tuple[int, int]]] = {}
        for run_id, repo in run_ids.items():
            by_repo.setdefault(repo, []).append(in_flight_intervals(client, run_id))
        for repo, intervals in by_repo.items():
            intervals.sort()
            for (_, end), (start, _) in zip(intervals, intervals[1:]):
                assert start >= end, f"two runs of {repo} were in flight at once"
        assert max(completed_counts(server.wait_settled()).values()) == 1, "a completed model call was made twice"
    finally:
        client.destroy()
        for proc in workers.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in workers.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
