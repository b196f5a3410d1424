"""Run tests: the run's test command at a commit of the run's worktree, in the repository's environment,
configured as at the base commit (see `judged_run`), so the change under judgement cannot steer its own
verdict."""

from __future__ import annotations

from specmill.models import RepoEnvironment, TestReport, WorkspaceState
from specmill.phases.judged_run import changed_paths, config_files, restore_test_setup, with_findings
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
    base = config_files(workspace.checkout(state, state.base_commit))
    root = workspace.checkout(state, commit)
    try:
        restored, problems = restore_test_setup(root, base, changed_paths(workspace.diff(state, commit)))
        report = runner.run(root, command, None, timeout_s, environment=environment)
        return with_findings(report, restored, problems)
    finally:
        workspace.checkout(state, commit)
