"""A run whose `specmill mcp` dies is finished by the next `specmill mcp`: it claims the dead
process's executor id (the lock died with it), and DBOS recovers the run from its last checkpoint.
The first server is SIGKILLed while the run's tests have run but are not checkpointed yet."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from specmill.replay.request_log import completed_counts
from tests import scenarios
from tests.fixtures.cli import pause_at
from tests.fixtures.mcp import connect, mcp_env, new_spec, stdio_session, text_of

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]

STARTED = re.compile(r"specmill mcp: executor (\S+), pid (\d+)")


@pytest.mark.parametrize("database", [None], ids=["sqlite"])  # recovery by executor id; the database is beside it
def test_a_second_specmill_mcp_finishes_the_run_of_a_killed_one(
    basic_memory, messages_server, calc_repo: Path, tmp_path: Path, database: str | None
) -> None:
    model = messages_server(scenarios.succeeds_first_time())
    data_dir = tmp_path / "data"
    env = mcp_env(basic_memory, data_dir, model.base_url, database)
    first_log, second_log = tmp_path / "first.stderr", tmp_path / "second.stderr"

    with connect(stdio_session({**env, **pause_at("run_tests", env)}, first_log)) as client:
        started = client.call("start_run", spec=new_spec(basic_memory), repo=str(calc_repo))
        assert not started.is_error, text_of(started)
        run_id = started.structured_content["run_id"]
        deadline = time.monotonic() + 240
        while not (data_dir / "paused-at").exists():
            assert time.monotonic() < deadline, f"the run never reached run_tests: {first_log.read_text()[-2000:]}"
            time.sleep(0.1)
        first_executor, pid = STARTED.search(first_log.read_text()).groups()
        os.kill(int(pid), signal.SIGKILL)

    with connect(stdio_session(env, second_log)) as client:
        waited = client.call("wait_run", run_id=run_id, timeout_s=180)
    second_executor, _ = STARTED.search(second_log.read_text()).groups()
    run = waited.structured_content
    assert second_executor == first_executor
    assert run["status"] == "succeeded", text_of(waited)
    assert run["tests"]["passed"] == 2 and run["execution"]["executor_id"] == first_executor
    assert max(completed_counts(model.wait_settled()).values()) == 1, "a completed model call was made twice"
