"""Run tests: the playbook's test command at a commit of the run's worktree."""

from __future__ import annotations

from specmill.models import TestReport, WorkspaceState
from specmill.ports import TestRunner, Workspace


def run_tests(
    workspace: Workspace, runner: TestRunner, state: WorkspaceState, commit: str, command: str, timeout_s: float
) -> TestReport:
    root = workspace.checkout(state, commit)
    try:
        return runner.run(root, command, None, timeout_s)
    finally:
        workspace.checkout(state, commit)
