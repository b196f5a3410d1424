"""Environments port: the repository's own environment for a run's worktree; and its fake."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from specmill.models import RepoEnvironment


class Environments(Protocol):
    def prepare(
        self,
        worktree: Path,
        *,
        setup_command: str | None = None,
        environment: str | None = None,
        test_command: str | None = None,
    ) -> RepoEnvironment:
        """The environment in which `worktree`'s tests run, provisioned or reused. `setup_command` and
        `environment` (`auto` / `none`) are the playbook's overrides; `test_command` the playbook's, when
        it names one (else the repository's own is detected). Raises `EnvironmentSetupFailed`."""
        ...


class FixedEnvironments:
    """The Environments fake: returns the environment it was given (by default none, so tests run
    under specmill's own interpreter) and remembers the worktrees it was asked about."""

    def __init__(self, environment: RepoEnvironment | None = None) -> None:
        self.environment = environment or RepoEnvironment(kind="none", reason="a fixed environment")
        self.calls: list[Path] = []

    def prepare(
        self,
        worktree: Path,
        *,
        setup_command: str | None = None,
        environment: str | None = None,
        test_command: str | None = None,
    ) -> RepoEnvironment:
        self.calls.append(worktree)
        return self.environment.model_copy(deep=True)
