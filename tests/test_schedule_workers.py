"""Workers alone keep the sweep schedule: two `specmill worker` processes both apply it, and every
tick (and a triggered one) starts one sweep, executed by one of them."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from dbos import DBOSClient

from specmill import names
from specmill.config import Settings
from tests.test_workers import poll, start_worker

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]


def sweeps(client: DBOSClient) -> dict[str, tuple[str, str | None]]:
    found = client.list_workflows(name=names.SCHEDULED_SWEEP_WORKFLOW, load_input=False, load_output=False)
    return {w.workflow_id: (w.status, w.executor_id) for w in found}


def test_two_workers_keep_the_sweep_schedule_and_each_tick_sweeps_once(
    cli_env, spec, tmp_path: Path, database: str | None
) -> None:
    """`spec` has no repository, so each sweep finds it and enqueues nothing."""
    env = {
        **cli_env,
        "SPECMILL_SWEEP_CRON": "*/3 * * * * *",  # every three seconds (seconds first)
        "SPECMILL_SWEEP_BACKFILL": "false",
        "SPECMILL_SWEEP_TIMEZONE": "Europe/Berlin",  # a tick's time in a named zone is a recorded input
        "SPECMILL_QUEUE_POLLING_INTERVAL_S": "0.2",
        "SPECMILL_WORKER_GRACE_S": "0",
    }
    data_dir = Path(env["SPECMILL_DATA_DIR"])
    workers = {
        name: start_worker({**env, "SPECMILL_EXECUTOR_ID": name}, tmp_path / f"{name}.stderr") for name in ("s1", "s2")
    }
    client = DBOSClient(system_database_url=Settings(data_dir=data_dir, system_database_url=database).database_url())
    try:
        poll(lambda: sum(s == "SUCCESS" for s, _ in sweeps(client).values()) >= 2, "two scheduled sweeps", 90)
        # A sweep's report is titled by its second: trigger in a second no tick of `*/3` has.
        poll(lambda: int(time.time()) % 3 == 1, "a second between two ticks", 10)
        triggered = client.trigger_schedule(names.SWEEP_SCHEDULE)
        triggered.get_result()
        assert triggered.get_status().status == "SUCCESS"

        seen = sweeps(client)
        ticks = [i for i in seen if "-trigger-" not in i]
        assert len(ticks) == len(set(ticks)) and all(i.startswith(f"sched-{names.SWEEP_SCHEDULE}-") for i in ticks)
        assert {e for _, e in seen.values() if e} <= {"s1", "s2"}
        assert {s for s, _ in seen.values()} <= {"SUCCESS", "PENDING", "ENQUEUED"}, seen
        assert len({e for s, e in seen.values() if s == "SUCCESS"}) >= 1
    finally:
        client.destroy()
        for proc in workers.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
