"""A model outage longer than the step retries: the run ends failed at its model step and stays
where an operator finds it (`specmill runs list --status ERROR`, `specmill runs show ID`); once
the server is back, `specmill resume ID` finishes it without repeating a completed step."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from specmill.replay.request_log import completed_counts, read_request_log
from tests import scenarios
from tests.fixtures.messages_server import stop_messages_server
from tests.test_e2e_cli import specmill

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]


def test_a_run_failed_by_an_outage_is_listed_and_resumes_from_its_model_step(
    basic_memory, calc_repo: Path, messages_server_process, tmp_path: Path
) -> None:
    title = f"Multiply {uuid.uuid4().hex[:8]}"
    spec = basic_memory.write_spec(title, scenarios.spec_note(title)).permalink
    script = scenarios.succeeds_first_time(delay_on_turn=2, delay_s=30.0)
    server, url, log = messages_server_process(script)
    env = {
        **basic_memory.specmill_env(),
        "SPECMILL_DATA_DIR": str(tmp_path / "data"),
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": url,
        "SPECMILL_MODEL_MAX_ATTEMPTS": "3",
        "SPECMILL_MODEL_RETRY_INTERVAL_S": "0.1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DBOS_SYSTEM_DATABASE_URL", None)
    run_id = f"outage-{uuid.uuid4().hex[:6]}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "specmill", "run", spec, "--repo", str(calc_repo), "--run-id", run_id],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    while not any(e.get("turn") == 2 and e.get("conversation") == "implement-1" for e in read_request_log(log)):
        assert proc.poll() is None and time.monotonic() < deadline, "the run never reached its third model call"
        time.sleep(0.05)
    stop_messages_server(server)  # refuses connections from now on: every retry fails
    _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 3, stderr.decode()  # a service unavailable
    assert "model API unreachable" in stderr.decode() and "gave up after 3 attempt(s)" in stderr.decode()

    listed = specmill(["runs", "list", "--status", "error", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [run_id]
    shown = specmill(["runs", "show", run_id, "--json"], env)
    assert shown.returncode == 0, shown.stderr
    failed = json.loads(shown.stdout)
    assert failed["status"] == "ERROR"
    errors = [s for s in failed["steps"] if s["error"]]
    assert errors[0]["name"] == "implement.model_call" and "unreachable" in errors[0]["error"]

    port = int(url.rsplit(":", 1)[1])
    messages_server_process(
        script | {"conversations": scenarios.succeeds_first_time()["conversations"]}, port=port, log_path=log
    )
    resumed = specmill(["resume", run_id, "--json"], env)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "succeeded"
    assert "read_spec" not in resumed.stderr and "analyze_patterns" not in resumed.stderr  # not run again
    assert max(completed_counts(read_request_log(log)).values()) == 1, "a completed model call was made twice"
    steps = json.loads(specmill(["runs", "show", run_id, "--json"], env).stdout)["steps"]
    names = [s["name"] for s in steps]
    assert names.count("read_spec") == 1 and names.count("analyze_patterns") == 1

    forked = specmill(["fork", run_id, "--from-phase", "validate", "--run-id", f"{run_id}-v", "--json"], env)
    assert forked.returncode == 0, forked.stderr
    assert json.loads(forked.stdout)["status"] == "succeeded"
    fork_steps = json.loads(specmill(["runs", "show", f"{run_id}-v", "--json"], env).stdout)["steps"]
    assert [s["name"] for s in fork_steps].count("implement.model_call") == names.count(
        "implement.model_call"
    )  # reused
