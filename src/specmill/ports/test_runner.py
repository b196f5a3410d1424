"""Test runner port: run a repository's own test command and report the counts."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from specmill.models import TestReport


class TestRunner(Protocol):
    __test__ = False

    def run(self, root: Path, command: str, selection: str | None = None, timeout_s: float = 600.0) -> TestReport:
        """Run `command` (plus `selection`, when given) in `root`; never raises for failing tests."""
        ...
