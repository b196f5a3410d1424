"""GitWorktreeWorkspace against real git repositories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from specmill.adapters.git_worktree import GitWorktreeWorkspace
from specmill.errors import NotAGitRepository, UnknownRef
from specmill.models import WorkspaceState
from specmill.names import branch_name
from tests.fixtures.git_repos import git

SUBTRACT = "\n\ndef subtract(a: int, b: int) -> int:\n    return a - b\n"


@pytest.fixture
def workspace(tmp_path: Path) -> GitWorktreeWorkspace:
    return GitWorktreeWorkspace(tmp_path / "data")


@pytest.fixture
def state(workspace: GitWorktreeWorkspace, calc_repo: Path) -> WorkspaceState:
    return workspace.prepare("run-1", str(calc_repo), "specmill/calc-run1", None)


def _add_subtract(root: Path) -> None:
    module = root / "calc" / "__init__.py"
    module.write_text(module.read_text() + SUBTRACT)


def test_prepare_creates_branch_and_worktree_at_head(workspace, calc_repo, state) -> None:
    head = git(calc_repo, "rev-parse", "HEAD")
    assert state.base_commit == head and state.head_commit == head and state.base_ref == "HEAD"
    assert state.repo == str(calc_repo.resolve())
    assert Path(state.path) == (workspace.data_dir / "worktrees" / "run-1").resolve()
    assert (Path(state.path) / "calc" / "__init__.py").exists()
    assert git(calc_repo, "rev-parse", "specmill/calc-run1") == head
    assert git(calc_repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"  # the user's checkout is untouched


def test_prepare_is_idempotent_and_keeps_a_branch_that_moved_ahead(workspace, calc_repo, state) -> None:
    assert workspace.prepare("run-1", str(calc_repo), state.branch, None) == state
    root = workspace.checkout(state, state.base_commit)
    _add_subtract(root)
    head = workspace.commit_all(state, "add subtract")
    git(calc_repo, "commit", "--allow-empty", "-m", "user works on main meanwhile")

    again = workspace.prepare("run-1", str(calc_repo), state.branch, None)
    assert again.head_commit == head
    assert again.base_commit == state.base_commit  # still the fork point, although HEAD moved


def test_prepare_with_an_explicit_base_ref(workspace, calc_repo) -> None:
    first = git(calc_repo, "rev-parse", "HEAD")
    git(calc_repo, "tag", "v1")
    git(calc_repo, "commit", "--allow-empty", "-m", "later")
    state = workspace.prepare("run-2", str(calc_repo), "specmill/b", "v1")
    assert state.base_commit == first and state.base_ref == "v1"


def test_not_a_repository_and_not_its_root(workspace, calc_repo, tmp_path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(NotAGitRepository, match="is not a git repository: give the root of a git checkout"):
        workspace.prepare("r", str(plain), "specmill/x", None)
    with pytest.raises(NotAGitRepository, match="not a git repository"):
        workspace.prepare("r", str(tmp_path / "missing"), "specmill/x", None)
    with pytest.raises(NotAGitRepository, match="root of a git checkout"):
        workspace.prepare("r", str(calc_repo / "calc"), "specmill/x", None)


def test_unknown_ref_is_a_one_line_error_naming_the_ref(workspace, calc_repo) -> None:
    with pytest.raises(UnknownRef, match="'no-such-branch' is not a commit") as info:
        workspace.prepare("r", str(calc_repo), "specmill/x", "no-such-branch")
    assert "\n" not in str(info.value)
    with pytest.raises(UnknownRef):
        workspace.prepare("r", str(calc_repo), "specmill/x", "--all")


def test_commit_all_commits_as_specmill_without_user_config(workspace, state, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "empty-home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = workspace.checkout(state, state.base_commit)
    _add_subtract(root)
    (root / "notes.txt").write_text("new file\n")
    head = workspace.commit_all(state, "add subtract")
    assert head != state.base_commit
    assert git(root, "log", "-1", "--format=%an <%ae>|%cn|%s") == "specmill <specmill@localhost>|specmill|add subtract"
    assert git(root, "rev-parse", state.branch) == head
    assert workspace.commit_all(state, "nothing") == head  # nothing changed: HEAD comes back


def test_commit_all_leaves_python_caches_out(workspace, state) -> None:
    root = workspace.checkout(state, state.base_commit)
    (root / "calc" / "__pycache__").mkdir()
    (root / "calc" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (root / ".gitignore").unlink()
    head = workspace.commit_all(state, "drop gitignore")
    assert "__pycache__" not in git(root, "ls-tree", "-r", "--name-only", head)


def test_checkout_discards_what_a_crashed_step_left(workspace, state) -> None:
    root = workspace.checkout(state, state.base_commit)
    _add_subtract(root)
    head = workspace.commit_all(state, "add subtract")
    (root / "calc" / "__init__.py").write_text("half-writ")
    (root / "scratch").mkdir()
    (root / "scratch" / "tmp.py").write_text("x = 1\n")
    (root / "calc" / "__pycache__").mkdir()
    (root / "calc" / "__pycache__" / "ignored.pyc").write_bytes(b"\0")
    git_dir = Path(git(root, "rev-parse", "--absolute-git-dir"))
    (git_dir / "index.lock").write_text("")  # a git process killed mid-command

    assert workspace.checkout(state, head) == root
    assert (root / "calc" / "__init__.py").read_text().endswith(SUBTRACT)
    assert not (root / "scratch").exists() and not (root / "calc" / "__pycache__").exists()
    assert git(root, "status", "--porcelain") == ""


def test_checkout_moves_the_branch_back_to_an_earlier_commit(workspace, state) -> None:
    root = workspace.checkout(state, state.base_commit)
    _add_subtract(root)
    workspace.commit_all(state, "crashed step's commit, never recorded")
    workspace.checkout(state, state.base_commit)
    assert git(root, "rev-parse", state.branch) == state.base_commit
    assert git(root, "rev-parse", "--abbrev-ref", "HEAD") == state.branch
    assert "subtract" not in (root / "calc" / "__init__.py").read_text()


def test_missing_worktree_is_recreated_at_the_recorded_commit(workspace, calc_repo, state, tmp_path) -> None:
    root = workspace.checkout(state, state.base_commit)
    _add_subtract(root)
    head = workspace.commit_all(state, "add subtract")
    shutil.rmtree(workspace.data_dir)  # cleaned data dir

    fresh = GitWorktreeWorkspace(workspace.data_dir)  # a new process
    again = fresh.checkout(state, head)
    assert again == root
    assert (again / "calc" / "__init__.py").read_text().endswith(SUBTRACT)
    assert git(again, "status", "--porcelain") == ""

    shutil.rmtree(workspace.data_dir)
    git(calc_repo, "worktree", "prune")
    git(calc_repo, "branch", "-D", state.branch)  # branch gone too
    assert (fresh.checkout(state, state.base_commit) / "calc").is_dir()
    assert git(calc_repo, "rev-parse", state.branch) == state.base_commit


def test_diff_from_base_to_head(workspace, state) -> None:
    root = workspace.checkout(state, state.base_commit)
    _add_subtract(root)
    head = workspace.commit_all(state, "add subtract")
    diff = workspace.diff(state, head)
    assert "diff --git a/calc/__init__.py b/calc/__init__.py" in diff
    assert "+def subtract(a: int, b: int) -> int:" in diff
    assert workspace.diff(state, state.base_commit) == ""


def test_same_steps_give_the_same_tree_in_two_runs(workspace, calc_repo) -> None:
    trees = []
    for run in ("run-a", "run-b"):
        state = workspace.prepare(run, str(calc_repo), branch_name("calc", run), None)
        root = workspace.checkout(state, state.base_commit)
        _add_subtract(root)
        trees.append(workspace.tree_id(state, workspace.commit_all(state, f"{run}: add subtract")))
    assert trees[0] == trees[1]


def test_branch_name_is_a_short_valid_ref(calc_repo) -> None:
    named = branch_name("specs/Add Subtract!", "1f2e3d4c-5b6a-7988-aabb-ccddeeff0011")
    assert named.startswith("specmill/specs-add-subtract-1f2e3d4c-") and len(named.rsplit("-", 1)[1]) == 12
    assert branch_name("", "ab").startswith("specmill/spec-ab-")
    long = branch_name("x" * 300, "0123456789abcdef")
    assert len(long) <= len("specmill/") + 48 + 1 + 8 + 1 + 12 and "-01234567-" in long
    # Two run ids that share their first characters still get two branches.
    assert branch_name("calc", "job-2026-12-04-a") != branch_name("calc", "job-2026-12-04-b")
    for weird in ("a..b", "ends.lock", "-lead", "üñî/çødé", "a//b", "@{x}"):
        git(calc_repo, "check-ref-format", "--branch", branch_name(weird, "run-1"))


def test_run_ids_that_could_escape_the_data_dir_are_refused(workspace, calc_repo) -> None:
    from specmill.errors import BadInput

    with pytest.raises(BadInput, match="run id"):
        workspace.prepare("../evil", str(calc_repo), "specmill/x", None)


def test_a_moved_data_dir_gets_its_own_worktree(calc_repo, state, tmp_path) -> None:
    moved = GitWorktreeWorkspace(tmp_path / "elsewhere")
    root = moved.checkout(state, state.base_commit)  # the old worktree still holds the branch
    assert root == (tmp_path / "elsewhere" / "worktrees" / "run-1").resolve()
    assert git(root, "rev-parse", "--abbrev-ref", "HEAD") == state.branch
