"""The sandbox holds whatever the model writes: no host HOME, no data dir, no /run, nothing writable
outside the worktree, a cap on processes, nothing left running, and no way to the database (file,
TCP or unix socket), so a test cannot forge a checkpoint. Real bubblewrap throughout, never skipped."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from dbos import DBOS
from sqlalchemy.engine import make_url

from specmill.adapters import sandbox as sandbox_module
from specmill.adapters.pytest_runner import SubprocessTestRunner
from specmill.adapters.sandbox import Limits, detect_sandbox
from specmill.errors import EnvironmentProblem
from specmill.ports.spec_store import MemorySpecStore
from tests import scenarios
from tests.fixtures.git_repos import git
from tests.safety_support import EDITOR, postgres_dump, sqlite_dump, start, step_outputs, text, tool
from tests.test_pytest_runner import running_with

SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nplanted-home-secret-5c1d\n"

PROBE = r"""
import json, os, pathlib, socket, sys
args = json.loads(sys.argv[1])
seen = {"home": os.environ.get("HOME", ""), "tmp": sorted(os.listdir("/tmp"))}
seen["visible"] = {p: os.path.exists(p) for p in args["hidden"]}
written = {}
for target in args["unwritable"]:
    try:
        pathlib.Path(target).write_text("escaped")
        written[target] = "WROTE"
    except OSError as exc:
        written[target] = type(exc).__name__
seen["written"] = written
try:
    socket.create_connection(("127.0.0.1", args["port"]), timeout=2).close()
    seen["tcp"] = "connected"
except OSError as exc:
    seen["tcp"] = type(exc).__name__
pathlib.Path("own-file.txt").write_text("inside the worktree is fine")
print("SEEN " + json.dumps(seen))
"""


def _seen(output: str) -> dict:
    line = next(line for line in output.splitlines() if line.startswith("SEEN "))
    return json.loads(line[5:])


def test_the_host_file_system_is_out_of_sight(tmp_path, monkeypatch) -> None:
    home = tmp_path / "server-home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(SSH_KEY)
    monkeypatch.setenv("HOME", str(home))
    data = tmp_path / "data"
    (data / "worktrees" / "run-1").mkdir(parents=True)
    (data / "specmill.sqlite").write_text("checkpoints")
    root = data / "worktrees" / "run-1"
    (root / "probe.py").write_text(PROBE)
    outside = tmp_path / "outside.txt"
    hidden = [str(home / ".ssh" / "id_ed25519"), str(data / "specmill.sqlite"), "/run", "/var/run", "/home"]
    (tmp_path / "sibling.txt").write_text("beside the data dir")
    hidden += ["/var/run/postgresql", "/var/lib", "/etc/shadow", str(tmp_path / "sibling.txt")]
    unwritable = [str(outside), "/usr/escaped.txt", "/etc/escaped.txt", str(Path(sys.prefix) / "escaped.txt")]
    args = json.dumps({"hidden": hidden, "unwritable": unwritable, "port": 5432})

    report = SubprocessTestRunner().run(root, f"python probe.py '{args}'")

    assert report.ok, report.output_tail
    seen = _seen(report.output_tail)
    assert seen["visible"] == {path: False for path in hidden}
    assert [seen["written"][path] for path in unwritable[1:]] == ["OSError"] * 3  # read-only inside
    assert all(not Path(path).exists() for path in unwritable)  # and nothing reached the host, /tmp included
    assert seen["home"].startswith("/tmp/specmill-tests-") and seen["home"].endswith("/home")
    assert seen["tcp"] != "connected"  # PostgreSQL on this machine's loopback is out of reach
    assert (root / "own-file.txt").read_text() == "inside the worktree is fine"
    assert report.isolation.startswith("sandbox: bubblewrap (no network")


def test_a_fork_bomb_hits_the_process_cap_and_nothing_outlives_the_run(tmp_path) -> None:
    marker = f"bomb-{uuid.uuid4().hex}"
    (tmp_path / "bomb.py").write_text(
        "import os, subprocess, sys, time\n"
        "for _ in range(100):\n"
        "    sleeper = [sys.executable, '-c', 'import time; time.sleep(600)', sys.argv[1]]\n"
        "    subprocess.Popen(['env', '-i', 'setsid', *sleeper])\n"
        "time.sleep(600)\n"
    )
    runner = SubprocessTestRunner(sandbox=detect_sandbox("bwrap", Limits(processes=20)))
    report = runner.run(tmp_path, f"python bomb.py {marker}", timeout_s=120)
    assert not report.ok and not report.timed_out
    assert report.failures[0].test == "<limits>" and "more than 20 processes" in report.failures[0].message
    deadline = time.monotonic() + 3
    while running_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running_with(marker) == []
    assert "processes 20" in report.isolation


def test_a_daemon_that_drops_its_environment_dies_with_the_run(tmp_path) -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    command = f"setsid -f env -i /bin/sh -c 'sleep 600; echo {marker}' {marker}"
    report = SubprocessTestRunner().run(tmp_path, f'sh -c "{command}; echo started"')
    assert report.ok and "started" in report.output_tail
    deadline = time.monotonic() + 3
    while running_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running_with(marker) == []


FORGE = '''import os, pathlib, socket


def test_forge_a_checkpoint():
    """Written by the model: overwrite a recorded step output, through the SQLite file or PostgreSQL."""
    reached = []
    sqlite = pathlib.Path("SQLITE")
    if sqlite.exists():
        reached.append("sqlite file visible")
    for folder in ("/run/postgresql", "/var/run/postgresql", "/tmp"):
        if os.path.exists(folder + "/.s.PGSQL.5432"):
            reached.append("socket " + folder)
    try:
        socket.create_connection(("HOST", PORT), timeout=2).close()
        reached.append("tcp")
    except OSError:
        pass
    home_key = pathlib.Path("HOME_KEY")  # the server user's SSH key, and its tokens
    if home_key.exists():
        reached.append(home_key.read_text())
    reached += [f"{name}={value}" for name, value in os.environ.items() if "planted" in value]
    assert not reached, reached
'''


def test_a_test_cannot_reach_the_database_to_forge_a_checkpoint(
    database, calc_repo, launch_runtime, tmp_path, monkeypatch
) -> None:
    home = tmp_path / "server-home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(SSH_KEY)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SPECMILL_API_TOKENS", "planted-forge-token-9d2")
    data = tmp_path / "data"
    url = make_url(database or "postgresql://127.0.0.1:5432/x")
    forge = FORGE.replace("SQLITE", str(data / "specmill.sqlite")).replace("HOST", url.host or "127.0.0.1")
    forge = forge.replace("PORT", str(url.port or 5432)).replace("HOME_KEY", str(home / ".ssh" / "id_ed25519"))
    if database is not None:  # the server's unix socket is there on the host, so the test is meaningful
        assert Path("/var/run/postgresql/.s.PGSQL.5432").exists() or Path("/run/postgresql/.s.PGSQL.5432").exists()
        psycopg.connect(database).close()
    store = MemorySpecStore()
    store.write_note("specs", scenarios.SPEC_TITLE, "specs", scenarios.SPEC)
    turns = [
        {"content": [tool(EDITOR, command="create", path="tests/test_forge.py", file_text=forge)]},
        {"content": [tool("run_tests", selection="tests/test_forge.py")]},
        {"content": [text("Tried.")]},
    ]
    script = {
        "conversations": [
            scenarios.conversation("implement-1", 1, turns),
            scenarios.conversation("verdict-1", 1, [scenarios.verdict(False, False)], forced="record_verdict"),
        ]
    }
    result, _, _ = start(
        launch_runtime, data, calc_repo, store, script, run_id="forge", database_url=database, max_iterations=1
    )
    assert result.status == "failed" and result.reason  # the verdict said no: a clear end
    attempt = [o.test_report for o in step_outputs("forge", "implement.tool") if getattr(o, "test_report", None)][0]
    assert attempt.ok and attempt.passed == 1, attempt.output_tail  # nothing was reachable from inside
    final = step_outputs("forge", "run_tests")[0]
    assert final.passed >= 2 and "sandbox: bubblewrap" in final.isolation
    assert len(DBOS.list_workflow_steps("forge")) > 5  # every recorded output still reads back as it was written
    dump, _ = sqlite_dump(data / "specmill.sqlite") if database is None else postgres_dump(database)
    branch = git(calc_repo, "log", "-p", result.branch)
    note = store.content("specs", "specs/multiply")
    for planted in ("planted-home-secret-5c1d", "planted-forge-token-9d2"):
        assert planted not in dump and planted not in branch and planted not in note


def test_where_bubblewrap_cannot_work_the_run_stops_naming_the_setting(
    calc_repo, launch_runtime, tmp_path, monkeypatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    fake = tools / "bwrap"  # as in a container whose seccomp profile refuses new namespaces
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    sandbox_module._probe.cache_clear()
    store = MemorySpecStore()
    store.write_note("specs", scenarios.SPEC_TITLE, "specs", scenarios.SPEC)
    turns = [{"content": [tool("run_tests", selection="tests/test_calc.py")]}, {"content": [text("Done.")]}]
    script = {"conversations": [scenarios.conversation("implement-1", 1, turns)]}
    try:
        with pytest.raises(EnvironmentProblem) as stopped:
            start(launch_runtime, tmp_path / "data", calc_repo, store, script, run_id="no-bwrap", max_iterations=1)
    finally:
        sandbox_module._probe.cache_clear()
    assert "SPECMILL_TEST_SANDBOX=none" in str(stopped.value) and "cannot create namespaces" in str(stopped.value)
    assert DBOS.get_workflow_status("no-bwrap").status == "ERROR"
    assert not any(getattr(o, "test_report", None) for o in step_outputs("no-bwrap", "implement.tool"))
