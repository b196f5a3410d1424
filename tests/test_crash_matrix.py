"""The crash matrix: one run SIGKILLed again and again, at phase boundaries and inside each kind
of step, then resumed each time, ends exactly like a run that was never interrupted.

Kill points, in the order one run meets them (each restart is `specmill resume` in a new process):
after load_playbook, read_spec, prepare_workspace and analyze_patterns (phase boundaries); a spec
update written but not yet checkpointed (tests/pause_hook); a model call in flight (the
scripted server holds turn 1); a tool step that wrote and committed a file but was not
checkpointed (the pause hook again); the test command running (a conftest that holds pytest);
after run_tests and after validate (boundaries); the final spec update written but not
checkpointed. To keep the suite fast, the kills share one run per database instead of one run
per kill point.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from dbos import DBOSClient

from specmill.config import Settings
from specmill.replay.request_log import completed_counts
from tests import scenarios
from tests.fixtures.cli import pause_at, specmill, start_logged
from tests.fixtures.git_repos import CALC_FILES, git, init_repo

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]

HOLD_TESTS = "import time\n\ntime.sleep(1.0)  # keeps pytest running long enough to be killed in it\n"
FILES = {**CALC_FILES, "tests/conftest.py": HOLD_TESTS}
DEADLINE_S = 90.0


def kill_when(proc: subprocess.Popen[bytes], log: Path, ready, what: str) -> None:  # type: ignore[no-untyped-def]
    """Poll until `ready()` holds, then SIGKILL the whole process group."""
    deadline = time.monotonic() + DEADLINE_S
    while not ready():
        assert proc.poll() is None, f"the process ended before {what}: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"never reached {what}: {log.read_text()[-3000:]}"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def checkpointed(client: DBOSClient, run_id: str, step: str):  # type: ignore[no-untyped-def]
    """The phase boundary after `step`: DBOS has recorded its result (its progress line comes
    earlier, from inside the step, so a kill on that line may land before the checkpoint)."""
    return lambda: any(
        s["function_name"] == step and s["error"] is None for s in client.list_workflow_steps(run_id, load_output=False)
    )


def paused(data_dir: Path):  # type: ignore[no-untyped-def]
    return lambda: (data_dir / "paused-at").exists()


def pytest_running(data_dir: Path):  # type: ignore[no-untyped-def]
    """A process whose command line runs pytest inside one of this test's worktrees."""

    def check() -> bool:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
            if b"pytest" in cmdline and cwd.startswith(str(data_dir)):
                return True
        return False

    return check


def status_section(text: str) -> str:
    """The Implementation Status section, without what differs between two runs by nature."""
    section = text[text.index("## Implementation Status") :]
    return re.sub(r"- (Run|Branch|Head commit): `[^`]*`", r"- \1: `...`", section)


def test_a_run_killed_at_every_kind_of_point_ends_like_an_uninterrupted_one(
    cli_env,
    basic_memory,
    make_repo,
    messages_server,
    tmp_path: Path,  # noqa: F811
) -> None:
    title = f"Multiply {uuid.uuid4().hex[:8]}"
    baseline_spec = basic_memory.write_spec(title, scenarios.spec_note(title), folder="crash-a").permalink
    crashed_spec = basic_memory.write_spec(title, scenarios.spec_note(title), folder="crash-b").permalink
    data_dir = Path(cli_env["SPECMILL_DATA_DIR"])

    baseline_server = messages_server(scenarios.succeeds_first_time())
    baseline_env = {**cli_env, "ANTHROPIC_BASE_URL": baseline_server.base_url}
    baseline_repo = make_repo(FILES)
    run_a = f"base-{uuid.uuid4().hex[:8]}"
    done = specmill(["run", baseline_spec, "--repo", str(baseline_repo), "--run-id", run_a, "--json"], baseline_env)
    assert done.returncode == 0, done.stderr
    baseline = json.loads(done.stdout)

    server = messages_server(
        scenarios.succeeds_first_time(delay_on_turn=1, delay_s=2.0), log_path=tmp_path / "log.jsonl"
    )
    env = {**cli_env, "ANTHROPIC_BASE_URL": server.base_url}
    repo = make_repo(FILES)
    run_b = f"kill-{uuid.uuid4().hex[:8]}"
    client = DBOSClient(
        system_database_url=cli_env.get("DBOS_SYSTEM_DATABASE_URL") or Settings(data_dir=data_dir).sqlite_url()
    )
    boundary = lambda step: (f"after {step}", {}, lambda log: checkpointed(client, run_b, step))  # noqa: E731
    kills = [
        boundary("load_playbook"),
        boundary("read_spec"),
        boundary("prepare_workspace"),
        boundary("analyze_patterns"),
        ("spec update in flight", pause_at("update_spec", env), lambda log: paused(data_dir)),
        (
            "model call in flight",
            {},
            lambda log: lambda: any(e["conversation"] == "implement-1" and e["turn"] == 1 for e in server.requests()),
        ),
        ("tool step writing files", pause_at("implement.tool#1", env), lambda log: paused(data_dir)),
        ("tests running", {}, lambda log: pytest_running(data_dir)),
        boundary("run_tests"),
        boundary("validate"),
        ("final spec update in flight", pause_at("update_spec", env), lambda log: paused(data_dir)),
    ]
    try:
        for number, (what, extra, ready) in enumerate(kills):
            (data_dir / "paused-at").unlink(missing_ok=True)
            args = ["run", crashed_spec, "--repo", str(repo), "--run-id", run_b] if number == 0 else ["resume", run_b]
            log = tmp_path / f"process-{number}.stderr"
            kill_when(start_logged(args, {**env, **extra}, log), log, ready(log), what)
    finally:
        client.destroy()

    resumed = specmill(["resume", run_b, "--json"], env)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["status"] == "succeeded" and result["iterations"] == 1

    expected = dict(FILES)
    expected["calc/__init__.py"] = scenarios.CALC_INIT + scenarios.GOOD
    expected["tests/test_multiply.py"] = scenarios.TEST
    tree = git(init_repo(tmp_path / "expected", expected), "rev-parse", "HEAD^{tree}")
    assert git(repo, "rev-parse", f"{result['branch']}^{{tree}}") == tree
    assert git(baseline_repo, "rev-parse", f"{baseline['branch']}^{{tree}}") == tree

    entries = server.wait_settled()
    assert max(completed_counts(entries).values()) == 1, "a completed model call was made twice"
    assert any(e["event"] == "aborted" for e in entries), "the model call in flight should show as aborted"
    crashed_note = basic_memory.store.read_note(crashed_spec, basic_memory.project).content
    baseline_note = basic_memory.store.read_note(baseline_spec, basic_memory.project).content
    assert crashed_note.count("## Implementation Status") == 1
    assert "status: implemented" in crashed_note and result["head_commit"] in crashed_note
    assert status_section(crashed_note) == status_section(baseline_note)
    assert result["tests"] == baseline["tests"] and result["usage"] == baseline["usage"]
