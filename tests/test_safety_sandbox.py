"""Model-written code runs contained: a scrubbed environment, no network, resource limits,
and nothing left running afterwards. Both kinds (bubblewrap, and the explicit opt-out) are
tried for real; a bubblewrap that cannot work is refused with a clear error, never skipped."""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from specmill.adapters import sandbox as sandbox_module
from specmill.adapters.pytest_runner import MIB, SubprocessTestRunner
from specmill.adapters.sandbox import Limits, detect_sandbox
from specmill.config import Settings
from specmill.errors import EnvironmentProblem
from tests.test_pytest_runner import running_with

PLANTED = {
    "ANTHROPIC_API_KEY": "sk-ant-api03-planted-" + "k" * 30,
    "DBOS_SYSTEM_DATABASE_URL": "postgresql://specmill:planted-db-password@127.0.0.1:5432/x",
    "SPECMILL_API_TOKENS": "planted-api-token-1",
    "GITHUB_TOKEN": "planted-github-token-2",
    "AWS_SECRET_ACCESS_KEY": "planted-aws-secret-3",
}

PROBE = """
import os, socket, sys
port, needle = int(sys.argv[1]), sys.argv[2]
print("ENV", sorted(os.environ))
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    print("CONNECT ok")
except OSError as exc:
    print("CONNECT failed", exc)
seen = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            if needle.encode() in open(f"/proc/{pid}/environ", "rb").read():
                seen.append(pid)
        except OSError:
            pass
print("SECRET in /proc" if seen else "SECRET not visible")
"""


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    return PLANTED


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP server on this machine's loopback: reachable unless the tests have their own network."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    yield server
    server.close()


def _script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "probe.py"
    path.write_text(text)
    return path


@pytest.mark.parametrize("kind", ["bwrap", "none"])
def test_tests_see_no_secret_and_no_network_or_the_record_says_so(kind, planted, listener, tmp_path) -> None:
    chosen = detect_sandbox(kind)
    _script(tmp_path, PROBE)
    runner = SubprocessTestRunner(sandbox=chosen)
    port = listener.getsockname()[1]
    report = runner.run(tmp_path, f"python probe.py {port} planted-db-password")
    out = report.output_tail
    assert report.ok, out
    assert report.isolation == runner.isolation and "limits: cpu" in report.isolation
    for name, value in planted.items():
        assert value not in out and f"'{name}'" not in out, name
    assert "'PATH'" in out and "'SANDBOX_RUN_ID'" in out
    if kind == "none":
        assert "CONNECT ok" in out  # nothing stops it, and the record says exactly that
        assert report.isolation.startswith("sandbox: NONE (SPECMILL_TEST_SANDBOX=none) — tests run as this user")
    else:
        assert "CONNECT failed" in out and "SECRET not visible" in out
        with pytest.raises(TimeoutError):
            listener.accept()  # no connection ever arrived


def test_without_bubblewrap_a_test_run_stops_and_names_the_setting(monkeypatch, tmp_path) -> None:
    sandbox_module._probe.cache_clear()
    try:
        monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap to be found
        runner = SubprocessTestRunner.from_settings(Settings())  # a process that runs no tests still starts
        with pytest.raises(EnvironmentProblem, match="bubblewrap is not installed") as missing:
            runner.run(tmp_path, "python -c pass")
        assert "SPECMILL_TEST_SANDBOX=none" in str(missing.value)
        sandbox_module._probe.cache_clear()
        fake = tmp_path / "bwrap"  # a container that forbids namespaces: bwrap exists but cannot work
        fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
        fake.chmod(0o755)
        with pytest.raises(EnvironmentProblem, match="cannot create namespaces here .bwrap: No permissions") as denied:
            detect_sandbox("bwrap")
        assert "SPECMILL_TEST_SANDBOX=none" in str(denied.value) and "Security model" in str(denied.value)
        assert detect_sandbox("none").kind == "none"  # only ever by explicit choice
    finally:
        sandbox_module._probe.cache_clear()


def test_settings_choose_the_sandbox_limits_and_extra_variables(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("MY_TOOL_HOME", "/opt/tool")
    monkeypatch.setenv("MY_TOOL_TOKEN", "not-passed-through-1")
    settings = Settings(
        test_cpu_s=30, test_memory_mb=1024, test_file_size_mb=16, test_output_mb=2, test_env_allow="MY_TOOL_HOME"
    )
    runner = SubprocessTestRunner.from_settings(settings)
    assert runner.max_output_bytes == 2 * MIB
    assert "cpu 30 s, memory 1024 MiB, file size 16 MiB" in runner.isolation
    report = runner.run(
        tmp_path, "python -c \"import os; print(sorted(k for k in os.environ if k.startswith('MY_')))\""
    )
    assert "['MY_TOOL_HOME']" in report.output_tail


def test_cpu_time_is_limited(tmp_path) -> None:
    runner = SubprocessTestRunner(sandbox=detect_sandbox("bwrap", Limits(cpu_s=1)))
    report = runner.run(tmp_path, 'python -c "while True: pass"', timeout_s=30)
    assert not report.ok and not report.timed_out
    assert report.failures[0].test == "<limits>" and "CPU-seconds" in report.failures[0].message
    assert report.duration_s < 15


def test_memory_is_limited(tmp_path) -> None:
    runner = SubprocessTestRunner(sandbox=detect_sandbox("bwrap", Limits(memory_mb=300)))
    report = runner.run(tmp_path, 'python -c "block = bytearray(600 * 1024 * 1024)"')
    assert not report.ok and report.exit_code == 1
    assert "MemoryError" in report.output_tail


def test_file_size_is_limited(tmp_path) -> None:
    runner = SubprocessTestRunner(sandbox=detect_sandbox("bwrap", Limits(file_size_mb=1)))
    killed = runner.run(tmp_path, 'sh -c "head -c 5000000 /dev/zero > big.bin"')
    assert not killed.ok and "file larger than 1 MiB (SIGXFSZ)" in killed.failures[0].message
    assert (tmp_path / "big.bin").stat().st_size <= MIB
    # Python ignores SIGXFSZ, so there the write fails instead, just as clearly
    refused = runner.run(tmp_path, "python -c \"open('big.bin', 'wb').write(bytes(5 * 1024 * 1024))\"")
    assert not refused.ok and "File too large" in refused.failures[0].message
    assert (tmp_path / "big.bin").stat().st_size <= MIB


def test_a_flood_of_output_is_stopped_and_only_its_tail_kept(tmp_path) -> None:
    runner = SubprocessTestRunner(max_output_bytes=2 * MIB)
    started = time.monotonic()
    report = runner.run(
        tmp_path, "python -c \"import sys\nwhile True: sys.stdout.write('flood ' * 10000)\"", timeout_s=60
    )
    assert time.monotonic() - started < 20
    assert not report.ok and not report.timed_out and report.exit_code is None
    assert report.failures[0].test == "<output>" and "more than 2 MiB of output" in report.failures[0].message
    assert "flood" in report.output_tail and len(report.output_tail) < 21_000


def test_a_flood_inside_pytest_capture_hits_the_file_size_limit(tmp_path) -> None:
    (tmp_path / "test_flood.py").write_text("def test_flood():\n    while True:\n        print('x' * 100000)\n")
    runner = SubprocessTestRunner(sandbox=detect_sandbox("bwrap", Limits(file_size_mb=8)))
    started = time.monotonic()
    report = runner.run(tmp_path, "python -m pytest -q", timeout_s=60)
    assert time.monotonic() - started < 30 and not report.timed_out
    assert not report.ok and report.failed == 1
    assert report.failures[0].test.endswith("test_flood") and "File too large" in report.failures[0].message


def test_a_child_that_leaves_the_process_group_is_still_stopped(tmp_path) -> None:
    marker = f"escapee-{uuid.uuid4().hex}"
    _script(
        tmp_path,
        (
            "import os, subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', sys.argv[1]],\n"
            "                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            "print('parent exits')\n"
        ),
    )
    for sandbox in {detect_sandbox("bwrap"), detect_sandbox("none")}:
        report = SubprocessTestRunner(sandbox=sandbox).run(tmp_path, f"python probe.py {marker}")
        assert report.ok and "parent exits" in report.output_tail, sandbox.kind
        deadline = time.monotonic() + 3
        while running_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running_with(marker) == [], sandbox.kind


def test_the_command_runs_with_this_interpreter_even_inside_the_sandbox(tmp_path) -> None:
    report = SubprocessTestRunner().run(tmp_path, 'python -c "import sys; print(sys.executable)"')
    assert report.ok and sys.executable in report.output_tail
    assert os.environ.get("SANDBOX_RUN_ID") is None  # the marker is the child's, never ours
