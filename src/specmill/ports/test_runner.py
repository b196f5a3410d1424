"""Test runner port: run a repository's own test command and report the counts."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from specmill.models import RepoEnvironment, TestReport


class TestRunner(Protocol):
    __test__ = False

    def run(
        self,
        root: Path,
        command: str,
        selection: str | None = None,
        timeout_s: float = 600.0,
        environment: RepoEnvironment | None = None,
    ) -> TestReport:
        """Run `command` (plus `selection`, when given) in `root`, inside `environment` when one is given
        (its bin first on PATH, its variables set, `python` its interpreter); never raises for failing tests."""
        ...
