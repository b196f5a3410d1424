"""Run tests: the run's test command at a commit of the run's worktree, in the repository's environment."""

from __future__ import annotations

from specmill.models import RepoEnvironment, TestReport, WorkspaceState
from specmill.ports import TestRunner, Workspace


def run_tests(
    workspace: Workspace,
    runner: TestRunner,
    state: WorkspaceState,
    commit: str,
    command: str,
    timeout_s: float,
    environment: RepoEnvironment | None = None,
) -> TestReport:
    root = workspace.checkout(state, commit)
    try:
        return runner.run(root, command, None, timeout_s, environment=environment)
    finally:
        workspace.checkout(state, commit)
