"""TestRunner port on a subprocess: the repository's own test command, bounded in time and output.

Interpreter: a command starting with `python`/`python3` runs under `sys.executable`,
the interpreter specmill itself runs under, so the repository is tested with a
known Python (and its installed pytest) rather than whatever `python` is on PATH.
A bare `pytest` that is not on PATH falls back to `sys.executable -m pytest`.

Robustness: the command runs in its own session, and on timeout the whole process
group is killed (SIGTERM, then SIGKILL), so a test that forks a child that never
exits cannot hang a run; a sweep then kills any process that left the group but
still carries the run's marker (see `sandbox.kill_stragglers`). Output goes to a
temporary file (never a pipe that can fill up), is watched while the command runs
so that a flood of output stops it, and only its tail is kept.

Containment (network, environment, resource limits) is the `Sandbox`'s job; this
runner starts everything through it and writes its description into every report.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from specmill.adapters.sandbox import Limits, Sandbox, detect_sandbox, kill_stragglers
from specmill.config import Settings
from specmill.models import RepoEnvironment, TestCaseFailure, TestReport

OUTPUT_CAP = 20_000
KILL_GRACE_S = 1.0
MAX_FAILURES = 50
MESSAGE_LINES = 12
MESSAGE_CHARS = 2_000
NO_TESTS_COLLECTED = 5
MIB = 1024 * 1024
MAX_OUTPUT_BYTES = 64 * MIB
POLL_S = 0.05


class SubprocessTestRunner:
    """Runs `command` (+ `selection`) in `root`; failing tests are data, never exceptions."""

    __test__ = False

    def __init__(
        self,
        output_cap: int = OUTPUT_CAP,
        kill_grace_s: float = KILL_GRACE_S,
        *,
        sandbox: Sandbox | None = None,
        max_output_bytes: int = MAX_OUTPUT_BYTES,
    ) -> None:
        """Without a `sandbox`, bubblewrap with default limits, tried at the first test run."""
        self.output_cap = output_cap
        self.kill_grace_s = kill_grace_s
        self._sandbox = sandbox
        self._choose: Callable[[], Sandbox] = detect_sandbox
        self.max_output_bytes = max_output_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> SubprocessTestRunner:
        limits = Limits(
            cpu_s=settings.test_cpu_s,
            memory_mb=settings.test_memory_mb,
            file_size_mb=settings.test_file_size_mb,
            processes=settings.test_max_processes,
        )
        runner = cls(max_output_bytes=settings.test_output_mb * MIB)
        allow = settings.test_env_allow_list()
        runner._choose = functools.partial(detect_sandbox, settings.test_sandbox, limits, allow)
        return runner

    @property
    def sandbox(self) -> Sandbox:
        """Chosen at the first test run, so a process that runs no tests starts without it; a sandbox that
        cannot work here raises `EnvironmentProblem` (naming the setting), which stops the run."""
        if self._sandbox is None:
            self._sandbox = self._choose()
        return self._sandbox

    @property
    def isolation(self) -> str:
        return f"{self.sandbox.describe()}; output cap {self.max_output_bytes / MIB:g} MiB"

    def run(
        self,
        root: Path,
        command: str,
        selection: str | None = None,
        timeout_s: float = 600.0,
        environment: RepoEnvironment | None = None,
    ) -> TestReport:
        shown = f"{command} {selection}" if selection else command
        sandbox = self.sandbox  # first, so that a sandbox that cannot work stops the run before anything runs
        try:
            argv = shlex.split(command) + (shlex.split(selection) if selection else [])
        except ValueError as exc:
            return _error_report(shown, f"the test command cannot be parsed: {exc}", self.isolation)
        if not argv:
            return _error_report(shown, "the test command is empty", self.isolation)
        argv = _with_interpreter(argv, environment)
        with tempfile.TemporaryDirectory(prefix="specmill-tests-") as folder:
            scratch = Path(folder)
            junit = scratch / "junit.xml"
            pytest = _is_pytest(argv)
            if pytest:
                argv += [f"--junitxml={junit}", "-p", "no:cacheprovider"]
            marker = uuid.uuid4().hex
            env = self.sandbox.environment(os.environ, scratch, marker)
            if environment is not None:
                env.update(environment.variables)
                env["PATH"] = os.pathsep.join([*environment.path_prefix, env.get("PATH", os.defpath)])
            if "/" not in argv[0] and shutil.which(argv[0], path=env.get("PATH")) is None:
                return _error_report(
                    shown, f"the test command could not start: {argv[0]!r} is not on PATH", self.isolation
                )
            with open(scratch / "output.log", "w+b") as output:
                started = time.monotonic()
                try:
                    returncode, stopped = self._execute(
                        self.sandbox.command(argv, root, scratch, environment.read_only if environment else ()),
                        root,
                        env,
                        output,
                        timeout_s,
                        marker,
                    )
                except OSError as exc:
                    return _error_report(shown, f"the test command could not start: {exc}", self.isolation)
                duration = time.monotonic() - started
                tail = _tail(output, self.output_cap)
            exit_code = None if stopped else sandbox.exit_code(returncode, scratch)
            if sandbox.limit_hit(scratch) == "processes":
                stopped = "processes"
            report = TestReport(
                command=shown,
                exit_code=exit_code,
                duration_s=round(duration, 3),
                output_tail=tail,
                isolation=self.isolation,
            )
            stops = {
                "timeout": (
                    "<timeout>",
                    f"the test command did not finish within {timeout_s:g} s; "
                    "it was killed with every process it started",
                ),
                "processes": (
                    "<limits>",
                    f"the test command started more than {sandbox.limits.processes} processes at once; "
                    "every one of them was killed",
                ),
                "output": (
                    "<output>",
                    f"the test command printed more than {self.max_output_bytes / MIB:g} MiB of output; it was "
                    "stopped with every process it started (the end of its output is kept)",
                ),
            }
            if stopped in stops:
                test, message = stops[stopped]
                update = {"timed_out": True} if stopped == "timeout" else {"errors": 1}
                failures = [TestCaseFailure(test=test, message=message)]
                return report.model_copy(update={**update, "failures": failures})
            return _finish(report, _parse_junit(junit), pytest, self.sandbox.limits)

    def _execute(
        self,
        argv: list[str],
        root: Path,
        env: dict[str, str],
        output: BinaryIO,
        timeout_s: float,
        marker: str,
    ) -> tuple[int | None, str]:
        """Run to completion, timeout or output flood ("" / "timeout" / "output"); either way
        nothing the command started is left running."""
        proc = subprocess.Popen(
            argv,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=self.sandbox.preexec,
        )
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    return proc.wait(timeout=POLL_S), ""
                except subprocess.TimeoutExpired:
                    pass
                if os.fstat(output.fileno()).st_size > self.max_output_bytes:
                    return None, "output"  # no grace: it is still flooding
                if time.monotonic() >= deadline:
                    _signal_group(proc.pid, signal.SIGTERM)
                    try:
                        proc.wait(timeout=self.kill_grace_s)
                    except subprocess.TimeoutExpired:
                        pass
                    return None, "timeout"
        finally:  # also after a normal exit: background children the tests left behind
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            kill_stragglers(marker)


def _with_interpreter(argv: list[str], environment: RepoEnvironment | None = None) -> list[str]:
    """`python` is the environment's interpreter, or (without one) the interpreter specmill runs under."""
    if argv[0] in ("python", "python3"):
        return [environment.python if environment and environment.python else sys.executable, *argv[1:]]
    if environment is not None:
        return argv
    if argv[0] == "pytest":  # the one of this interpreter: a shim elsewhere on PATH is not in the sandbox
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


def _error_report(command: str, message: str, isolation: str = "") -> TestReport:
    return TestReport(
        command=command,
        exit_code=None,
        errors=1,
        isolation=isolation,
        failures=[TestCaseFailure(test="<command>", message=message)],
    )


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


def _killed_by(exit_code: int | None, limits: Limits) -> str:
    """Why a command died of a signal, in terms of the limit that sent it. A shell reports a
    child's death by signal N as exit code 128 + N, so those codes count for the limits' signals."""
    limit_signals = (signal.SIGXCPU, signal.SIGXFSZ, signal.SIGKILL)
    if exit_code is None or exit_code == 0 or (exit_code > 0 and exit_code - 128 not in limit_signals):
        return ""
    sig = -exit_code if exit_code < 0 else exit_code - 128
    if sig == signal.SIGXCPU:
        return f"it used more than its {limits.cpu_s} CPU-seconds (SIGXCPU)"
    if sig == signal.SIGXFSZ:
        return f"it wrote a file larger than {limits.file_size_mb} MiB (SIGXFSZ)"
    if sig == signal.SIGKILL:
        return f"it was killed (SIGKILL), for example past its CPU limit or out of its {limits.memory_mb} MiB of memory"
    return (
        f"it was killed by {signal.Signals(sig).name}" if sig in signal.Signals._value2member_map_ else f"signal {sig}"
    )


def _finish(report: TestReport, parsed: JUnitResult | None, pytest: bool, limits: Limits | None = None) -> TestReport:
    """Merge parsed counts with the exit code, so a bad exit is never reported as a pass."""
    result = parsed or JUnitResult()
    killed = _killed_by(report.exit_code, limits or Limits())
    if killed and not result.failed and not result.errors:
        result.errors = 1
        last = _last_lines(report.output_tail)[-MESSAGE_CHARS:] or "(no output)"
        result.failures.append(
            TestCaseFailure(
                test="<limits>", message=f"the test command stopped: {killed}; its last output lines:\n{last}"
            )
        )
    elif report.exit_code == NO_TESTS_COLLECTED and pytest and not result.failed and not result.errors:
        result.errors = 1
        result.failures.append(
            TestCaseFailure(
                test="<collection>",
                message="no tests were collected (pytest exit code 5): check the test command, the selection "
                "and the test file names",
            )
        )
    elif report.exit_code != 0 and not result.failed and not result.errors:
        result.errors = 1
        last = _last_lines(report.output_tail)[-MESSAGE_CHARS:] or "(no output)"
        message = f"the test command exited with code {report.exit_code}; its last output lines:\n{last}"
        result.failures.append(TestCaseFailure(test="<command>", message=message))
    return report.model_copy(
        update={
            "passed": result.passed,
            "failed": result.failed,
            "errors": result.errors,
            "skipped": result.skipped,
            "failures": result.failures,
        }
    )
