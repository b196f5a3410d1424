"""SubprocessTestRunner with real pytest runs on temporary repositories."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from specmill.adapters.pytest_runner import SubprocessTestRunner

PYPROJECT = '[tool.pytest.ini_options]\npythonpath = ["."]\n'

HANG = """
import os, signal, sys, time

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"

def test_hangs_with_a_stubborn_child():
    pid = os.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", STUBBORN, "MARKER"])
    with open("child.pid", "w") as f:
        f.write(str(pid))
    time.sleep(600)
"""


@pytest.fixture
def runner() -> SubprocessTestRunner:
    return SubprocessTestRunner(kill_grace_s=0.3)


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    for rel, text in {"pyproject.toml": PYPROJECT, **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def running_with(marker: str) -> list[int]:
    """Live (not zombie) processes whose command line holds `marker`, seen from this namespace.

    Pids written by a sandboxed test belong to its own pid namespace, so tests look
    processes up by a marker instead."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline.split(b"\0") and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a reaper that may never come in a container."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


def test_passing_suite_on_the_calc_repo(runner, calc_repo) -> None:
    report = runner.run(calc_repo, "python -m pytest -q")
    assert report.ok, report.output_tail
    assert report.counts == {"passed": 1, "failed": 0, "errors": 0, "skipped": 0}
    assert report.exit_code == 0 and report.duration_s > 0
    assert not list(calc_repo.rglob("__pycache__")) and not (calc_repo / ".pytest_cache").exists()
    assert not list(calc_repo.rglob("*.xml"))  # the JUnit file lives outside the repository


def test_bare_pytest_command_works_too(runner, calc_repo) -> None:
    assert runner.run(calc_repo, "pytest -q").ok


def test_failures_errors_and_skips_are_counted_with_messages(runner, tmp_path) -> None:
    root = _project(
        tmp_path,
        {
            "tests/test_mixed.py": """
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

def test_ok():
    assert True

def test_wrong():
    assert 1 + 1 == 3, "arithmetic is off"

def test_uses_broken(broken):
    pass

@pytest.mark.skip(reason="not today")  # inside the sample repository: the runner must count it
def test_skipped():
    pass
"""
        },
    )
    report = runner.run(root, "python -m pytest")
    assert not report.ok and report.exit_code == 1
    assert report.counts == {"passed": 1, "failed": 1, "errors": 1, "skipped": 1}
    by_test = {f.test.split("::")[-1]: f.message for f in report.failures}
    assert "arithmetic is off" in by_test["test_wrong"]
    assert "fixture exploded" in by_test["test_uses_broken"]
    assert "tests.test_mixed::test_wrong" in [f.test for f in report.failures]


def test_selection_is_appended(runner, tmp_path) -> None:
    root = _project(tmp_path, {"tests/test_two.py": "def test_a():\n    pass\n\ndef test_b():\n    assert False\n"})
    report = runner.run(root, "python -m pytest -q", selection="tests/test_two.py::test_a")
    assert report.ok and report.passed == 1
    assert report.command == "python -m pytest -q tests/test_two.py::test_a"
    report = runner.run(root, "python -m pytest -q", selection="-k test_b")
    assert report.failed == 1


def test_no_tests_collected_is_a_failure(runner, tmp_path) -> None:
    root = _project(tmp_path, {"tests/test_none.py": "x = 1\n"})
    report = runner.run(root, "python -m pytest")
    assert report.exit_code == 5 and not report.ok and report.errors == 1
    assert "no tests were collected" in report.failures[0].message


def test_collection_error_is_reported(runner, tmp_path) -> None:
    root = _project(tmp_path, {"tests/test_broken.py": "import no_such_module_anywhere\n\ndef test_x():\n    pass\n"})
    report = runner.run(root, "python -m pytest")
    assert not report.ok and report.errors >= 1
    assert any("No module named 'no_such_module_anywhere'" in f.message for f in report.failures)


def test_bad_selection_without_junit_falls_back_to_the_exit_code(runner, tmp_path) -> None:
    root = _project(tmp_path, {"tests/test_a.py": "def test_a():\n    pass\n"})
    report = runner.run(root, "python -m pytest", selection="tests/missing_file.py")
    assert not report.ok and report.errors == 1 and report.exit_code == 4
    assert "exited with code 4" in report.failures[0].message and "missing_file" in report.failures[0].message


def test_a_hang_with_a_forked_child_is_killed_with_the_child(tmp_path) -> None:
    marker = f"stubborn-{uuid.uuid4().hex}"
    root = _project(tmp_path, {"tests/test_hang.py": HANG.replace("MARKER", marker)})
    started = time.monotonic()
    report = SubprocessTestRunner(kill_grace_s=0.3).run(root, "python -m pytest -q", timeout_s=4.0)
    elapsed = time.monotonic() - started
    assert report.timed_out and not report.ok and report.exit_code is None
    assert "did not finish within 4 s" in report.failures[0].message
    assert elapsed < 8.0
    assert (root / "child.pid").exists(), report.output_tail  # the stubborn child was started
    deadline = time.monotonic() + 2.0
    while running_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running_with(marker) == []


def test_huge_output_is_capped_to_its_tail(tmp_path) -> None:
    script = "import sys\nfor i in range(200_000):\n    print('line', i)\nprint('THE END')\n"
    (tmp_path / "loud.py").write_text(script)
    report = SubprocessTestRunner(output_cap=5_000).run(tmp_path, "python loud.py")
    assert report.ok
    assert report.output_tail.rstrip().endswith("THE END")
    assert len(report.output_tail) < 5_100 and "earlier bytes of output omitted" in report.output_tail


def test_non_pytest_commands_use_the_exit_code(runner, tmp_path) -> None:
    ok = runner.run(tmp_path, "python -c \"print('fine')\"")
    assert ok.ok and ok.counts == {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    bad = runner.run(tmp_path, "python3 -c \"import sys; print('boom'); sys.exit(3)\"")
    assert not bad.ok and bad.exit_code == 3 and bad.errors == 1
    assert "boom" in bad.failures[0].message
    exit5 = runner.run(tmp_path, 'python -c "raise SystemExit(5)"')
    assert exit5.errors == 1 and "no tests were collected" not in exit5.failures[0].message


def test_unusable_commands_are_reports_not_exceptions(runner, tmp_path) -> None:
    for command in ("", "python -c 'unterminated", "definitely-not-a-command-xyz --flag"):
        report = runner.run(tmp_path, command)
        assert not report.ok and report.errors == 1 and report.exit_code is None, command
