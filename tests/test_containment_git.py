"""git never trusts the worktree: a git directory, hook, hooksPath or fsmonitor planted by model-written
code never runs on the host, and git runs with no secret in its environment."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from specmill.adapters.git_worktree import GitWorktreeWorkspace
from specmill.adapters.safe_git import repo_dirs, run_git, worktree_git_dir
from specmill.models import WorkspaceState
from specmill.ports.spec_store import MemorySpecStore
from tests import scenarios
from tests.fixtures.git_repos import git
from tests.safety_support import EDITOR, sqlite_dump, start, step_outputs, text, tool

SECRETS = {
    "ANTHROPIC_API_KEY": "sk-ant-api03-planted-git-" + "g" * 30,
    "SPECMILL_API_TOKENS": "planted-git-api-token",
}
HOOKS = ("post-checkout", "post-commit", "pre-commit", "reference-transaction", "post-index-change")


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


def _executable(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _evil_git_dir(source: Path, target: Path, marker: Path) -> Path:
    """A full git directory of the repository, with hooks, a hooksPath and an fsmonitor that report to `marker`."""
    shutil.copytree(source / ".git", target)
    dump = f'#!/bin/sh\necho "$0 ran" >> {marker}\nenv >> {marker}\n'
    for hook in HOOKS:
        _executable(target / "hooks" / hook, dump)
        _executable(target.parent / "elsewhere-hooks" / hook, dump)
    _executable(target.parent / "fsmonitor.sh", dump)
    with (target / "config").open("a") as config:
        config.write(
            f"[core]\n\thooksPath = {target.parent / 'elsewhere-hooks'}\n\tfsmonitor = {target.parent}/fsmonitor.sh\n"
        )
    return target


@pytest.fixture
def run_state(tmp_path: Path, calc_repo: Path) -> tuple[GitWorktreeWorkspace, WorkspaceState]:
    workspace = GitWorktreeWorkspace(tmp_path / "data")
    state = workspace.prepare("git-attack", str(calc_repo), "specmill/git-attack", None)
    workspace.checkout(state, state.base_commit)
    return workspace, state


@pytest.mark.parametrize("how", ["pointer", "directory", "hooks-path-only"])
def test_a_planted_git_dir_or_hook_never_runs_on_the_host(how, run_state, calc_repo, tmp_path, secrets) -> None:
    workspace, state = run_state
    root = Path(state.path)
    admin = worktree_git_dir(repo_dirs(calc_repo)[1], root)
    marker = tmp_path / "outside" / "hook-ran.txt"
    marker.parent.mkdir()
    evil = _evil_git_dir(calc_repo, tmp_path / "outside" / "evil.git", marker)
    pointer = root / ".git"
    if how == "pointer":  # the tests point the worktree at a git directory of their own
        pointer.write_text(f"gitdir: {evil}\n")
    elif how == "directory":  # or replace the pointer by a whole git directory
        pointer.unlink()
        shutil.copytree(evil, pointer)
    else:  # or only set core.hooksPath / core.fsmonitor where a discovering git would read them
        pointer.write_text(f"gitdir: {evil}\n")
        shutil.rmtree(evil / "hooks")

    (root / "calc" / "extra.py").write_text("VALUE = 1\n")
    head = workspace.commit_all(state, "the model's change")
    workspace.checkout(state, head)
    workspace.checkout(state, state.base_commit)
    assert workspace.diff(state, head).count("+VALUE = 1") == 1

    assert not marker.exists(), marker.read_text()
    assert pointer.is_file() and pointer.read_text() == f"gitdir: {admin}\n"  # put back
    assert git(calc_repo, "cat-file", "-t", head) == "commit"  # the commit landed in the real repository
    assert run_git(["cat-file", "-e", head], git_dir=evil, check=False).returncode != 0
    assert "evil.git" not in git(calc_repo, "ls-tree", "-r", "--name-only", head)


def test_git_runs_without_secrets_system_or_global_config(secrets, tmp_path, monkeypatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[alias]\n\tdump = !echo global-config-was-read\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "redirected"))
    repo = tmp_path / "repo"
    repo.mkdir()
    run_git(["init", "-q"], cwd=repo)
    shown = run_git(["-c", "alias.env=!env", "env"], cwd=repo).stdout
    for name, value in secrets.items():
        assert value not in shown and f"{name}=" not in shown
    assert "GIT_CONFIG_NOSYSTEM=1" in shown and "GIT_DIR=" not in shown
    assert run_git(["dump"], cwd=repo, check=False).returncode != 0  # ~/.gitconfig was never read
    assert run_git(["config", "core.hooksPath"], cwd=repo).stdout.strip() == "/dev/null"


PLANT = '''import os, pathlib, subprocess


def test_plant():
    """Written by the model: make the worktree's .git point to a repository with hooks of its own."""
    evil = pathlib.Path(".evil")
    subprocess.run(["git", "init", "-q", str(evil)], check=True)
    hooks = evil / ".git" / "hooks"
    for name in ("post-checkout", "post-commit", "reference-transaction", "pre-commit"):
        (hooks / name).write_text("#!/bin/sh\\nenv > MARKER\\n")
        (hooks / name).chmod(0o755)
    pathlib.Path(".git").write_text(f"gitdir: {(evil / '.git').resolve()}\\n")
'''


def test_a_hook_planted_by_model_written_tests_never_fires(calc_repo, launch_runtime, tmp_path, secrets) -> None:
    marker = tmp_path / "pwned-by-hook.txt"
    store = MemorySpecStore()
    store.write_note("specs", scenarios.SPEC_TITLE, "specs", scenarios.SPEC)
    turns = [
        {
            "content": [
                tool(
                    EDITOR, command="create", path="tests/test_plant.py", file_text=PLANT.replace("MARKER", str(marker))
                )
            ]
        },
        {"content": [tool("run_tests", selection="tests/test_plant.py")]},
        {"content": [text("Planted.")]},
    ]
    script = {
        "conversations": [
            scenarios.conversation("implement-1", 1, turns),
            scenarios.conversation("verdict-1", 1, [scenarios.verdict(False, False)], forced="record_verdict"),
        ]
    }
    result, _, container = start(
        launch_runtime, tmp_path / "data", calc_repo, store, script, run_id="hook-plant", max_iterations=1
    )
    assert result.status == "failed"  # the verdict says no; the run ends with a clear status
    planted = [o.test_report for o in step_outputs("hook-plant", "implement.tool") if getattr(o, "test_report", None)]
    assert planted and planted[0].failed == 1  # the attack ran inside the sandbox, where .git is read-only
    assert "Read-only file system" in planted[0].failures[0].message
    assert not marker.exists()
    worktree = tmp_path / "data" / "worktrees" / "hook-plant"
    admin = worktree_git_dir(repo_dirs(calc_repo)[1], worktree)
    assert (worktree / ".git").read_text() == f"gitdir: {admin}\n"
    branch = git(calc_repo, "log", "-p", result.branch)
    dump, _ = sqlite_dump(container.settings.data_dir / "specmill.sqlite")
    for value in secrets.values():
        assert value not in branch and value not in dump and value not in store.content("specs", "specs/multiply")
