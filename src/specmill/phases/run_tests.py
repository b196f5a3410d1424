"""Run tests: the playbook's test command at a commit of the run's worktree, configured as at the base
commit (see `judged_run`), so the change under judgement cannot steer its own verdict."""

from __future__ import annotations

from specmill.models import TestReport, WorkspaceState
from specmill.phases.judged_run import changed_paths, config_files, restore_test_setup, with_findings
from specmill.ports import TestRunner, Workspace


def run_tests(
    workspace: Workspace, runner: TestRunner, state: WorkspaceState, commit: str, command: str, timeout_s: float
) -> TestReport:
    base = config_files(workspace.checkout(state, state.base_commit))
    root = workspace.checkout(state, commit)
    try:
        restored, problems = restore_test_setup(root, base, changed_paths(workspace.diff(state, commit)))
        return with_findings(runner.run(root, command, None, timeout_s), restored, problems)
    finally:
        workspace.checkout(state, commit)
