"""A TestRunner fake that hands out queued reports, for phase and workflow tests."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from specmill.models import TestReport

ReportFactory = Callable[[Path, str, "str | None"], TestReport]


@dataclass(frozen=True)
class TestRunCall:
    """What the code under test asked for, so tests can assert on it."""

    __test__ = False

    root: Path
    command: str
    selection: str | None
    timeout_s: float


class ScriptedTestRunner:
    """Returns the queued reports in order; a callable entry computes its report from the call.

    When the queue is empty, `default` is returned if given; otherwise the call fails
    loudly, since a test that runs the suite more often than scripted is a test bug.
    """

    __test__ = False

    def __init__(self, reports: Iterable[TestReport | ReportFactory] = (), default: TestReport | None = None) -> None:
        self.queue: deque[TestReport | ReportFactory] = deque(reports)
        self.default = default
        self.calls: list[TestRunCall] = []

    def push(self, report: TestReport | ReportFactory) -> None:
        self.queue.append(report)

    def run(self, root: Path, command: str, selection: str | None = None, timeout_s: float = 600.0) -> TestReport:
        self.calls.append(TestRunCall(Path(root), command, selection, timeout_s))
        if self.queue:
            entry = self.queue.popleft()
        elif self.default is not None:
            entry = self.default
        else:
            raise AssertionError(f"ScriptedTestRunner has no report queued for call {len(self.calls)} ({command!r})")
        return entry(Path(root), command, selection) if callable(entry) else entry
