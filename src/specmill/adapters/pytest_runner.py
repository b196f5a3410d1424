"""TestRunner port on a subprocess: the repository's own test command, bounded in time and output.

Interpreter: a command starting with `python`/`python3` runs under `sys.executable`,
the interpreter specmill itself runs under, so the repository is tested with a
known Python (and its installed pytest) rather than whatever `python` is on PATH.
A bare `pytest` that is not on PATH falls back to `sys.executable -m pytest`.

Robustness: the command runs in its own session, and on timeout the whole process
group is killed (SIGTERM, then SIGKILL), so a test that forks a child that never
exits cannot hang a run. Output goes to a temporary file (never a pipe that can
fill up) and only its tail is kept.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from specmill.models import TestCaseFailure, TestReport

OUTPUT_CAP = 20_000
KILL_GRACE_S = 1.0
MAX_FAILURES = 50
MESSAGE_LINES = 12
MESSAGE_CHARS = 2_000
NO_TESTS_COLLECTED = 5


class SubprocessTestRunner:
    """Runs `command` (+ `selection`) in `root`; failing tests are data, never exceptions."""

    __test__ = False

    def __init__(self, output_cap: int = OUTPUT_CAP, kill_grace_s: float = KILL_GRACE_S) -> None:
        self.output_cap = output_cap
        self.kill_grace_s = kill_grace_s

    def run(self, root: Path, command: str, selection: str | None = None, timeout_s: float = 600.0) -> TestReport:
        shown = f"{command} {selection}" if selection else command
        try:
            argv = shlex.split(command) + (shlex.split(selection) if selection else [])
        except ValueError as exc:
            return _error_report(shown, f"the test command cannot be parsed: {exc}")
        if not argv:
            return _error_report(shown, "the test command is empty")
        argv = _with_interpreter(argv)
        with tempfile.TemporaryDirectory(prefix="specmill-tests-") as scratch:
            junit = Path(scratch) / "junit.xml"
            pytest = _is_pytest(argv)
            if pytest:
                argv += [f"--junitxml={junit}", "-p", "no:cacheprovider"]
            with open(Path(scratch) / "output.log", "w+b") as output:
                started = time.monotonic()
                try:
                    exit_code, timed_out = self._execute(argv, root, output, timeout_s)
                except OSError as exc:
                    return _error_report(shown, f"the test command could not start: {exc}")
                duration = time.monotonic() - started
                tail = _tail(output, self.output_cap)
            report = TestReport(command=shown, exit_code=exit_code, duration_s=round(duration, 3), output_tail=tail)
            if timed_out:
                return report.model_copy(update={
                    "timed_out": True,
                    "failures": [TestCaseFailure(
                        test="<timeout>",
                        message=(
                            f"the test command did not finish within {timeout_s:g} s; "
                            "it was killed with every process it started"
                        ),
                    )],
                })
            return _finish(report, _parse_junit(junit), pytest)

    def _execute(self, argv: list[str], root: Path, output: BinaryIO, timeout_s: float) -> tuple[int | None, bool]:
        """Run to completion or timeout; either way nothing the command started is left running."""
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            argv, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            return proc.wait(timeout=timeout_s), False
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=self.kill_grace_s)
            except subprocess.TimeoutExpired:
                pass
            return None, True
        finally:  # also after a normal exit: background children the tests left behind
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()


def _with_interpreter(argv: list[str]) -> list[str]:
    if argv[0] in ("python", "python3"):
        return [sys.executable, *argv[1:]]
    if argv[0] == "pytest" and shutil.which("pytest") is None:
        return [sys.executable, "-m", "pytest", *argv[1:]]
    return argv


def _is_pytest(argv: list[str]) -> bool:
    if Path(argv[0]).name in ("pytest", "py.test"):
        return True
    return any(a == "-m" and b == "pytest" for a, b in zip(argv, argv[1:]))


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(output: BinaryIO, cap: int) -> str:
    """The last `cap` bytes of the output, with a note of how much came before."""
    size = output.seek(0, os.SEEK_END)
    output.seek(max(0, size - cap))
    text = output.read().decode("utf-8", "replace")
    if size > cap:
        text = f"[... {size - cap} earlier bytes of output omitted ...]\n" + text
    return text


def _error_report(command: str, message: str) -> TestReport:
    return TestReport(command=command, exit_code=None, errors=1, failures=[TestCaseFailure(test="<command>", message=message)])


def _short(text: str) -> str:
    lines = text.strip().splitlines()
    kept = "\n".join(lines[:MESSAGE_LINES])
    if len(lines) > MESSAGE_LINES:
        kept += f"\n[... {len(lines) - MESSAGE_LINES} more lines]"
    return kept[:MESSAGE_CHARS]


def _last_lines(text: str, count: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


@dataclass
class JUnitResult:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failures: list[TestCaseFailure] = field(default_factory=list)


def _parse_junit(path: Path) -> JUnitResult | None:
    """Counts and failure messages from a JUnit XML file; None when it is missing or unreadable."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return None
    result = JUnitResult()
    for case in root.iter("testcase"):
        name, classname = case.get("name", "?"), case.get("classname", "")
        test = f"{classname}::{name}" if classname else name
        passed = True
        for child in case:
            if child.tag == "skipped":
                result.skipped += 1
            elif child.tag in ("failure", "error"):
                if child.tag == "failure":
                    result.failed += 1
                else:
                    result.errors += 1
                if len(result.failures) < MAX_FAILURES:
                    result.failures.append(TestCaseFailure(test=test, message=_failure_message(child)))
            else:
                continue
            passed = False
        result.passed += passed
    return result


def _failure_message(element: ET.Element) -> str:
    """The summary pytest gives, plus the `E ` lines of the traceback it does not already say.

    The summary alone can be as vague as "collection failure"; the `E ` lines name the cause.
    """
    summary = (element.get("message") or "").strip()
    text = element.text or ""
    cause = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    extra = [line for line in cause if line and line not in summary]
    parts = [summary, *extra] if summary or extra else [text or element.tag]
    return _short("\n".join(p for p in parts if p))


def _finish(report: TestReport, parsed: JUnitResult | None, pytest: bool) -> TestReport:
    """Merge parsed counts with the exit code, so a bad exit is never reported as a pass."""
    result = parsed or JUnitResult()
    if report.exit_code == NO_TESTS_COLLECTED and pytest and not result.failed and not result.errors:
        result.errors = 1
        result.failures.append(TestCaseFailure(
            test="<collection>",
            message="no tests were collected (pytest exit code 5): check the test command, the selection and the test file names",
        ))
    elif report.exit_code != 0 and not result.failed and not result.errors:
        result.errors = 1
        last = _last_lines(report.output_tail)[-MESSAGE_CHARS:] or "(no output)"
        message = f"the test command exited with code {report.exit_code}; its last output lines:\n{last}"
        result.failures.append(TestCaseFailure(test="<command>", message=message))
    return report.model_copy(update={
        "passed": result.passed, "failed": result.failed, "errors": result.errors,
        "skipped": result.skipped, "failures": result.failures,
    })
