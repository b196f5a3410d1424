"""Workspace port on the real `git` CLI: one worktree and one branch per run.

Every file-touching step goes from an input commit to an output commit, so this
adapter only has to do three things well: put a worktree exactly at a commit
(recreating it when it vanished), commit everything, and diff two commits.

Tests run in the worktree and may rewrite anything there, its `.git` pointer file
included, so no command here lets git discover a repository from a worktree: every
call goes through `safe_git` with the git directory taken from the main repository.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from specmill.adapters.safe_git import (
    IDENTITY,
    PINNED_CONFIG,
    GitCommandFailed,
    UnknownWorktree,
    repo_dirs,
    restore_pointer,
    run_git,
    worktree_git_dir,
)
from specmill.errors import BadInput, NotAGitRepository, UnknownRef
from specmill.models import WorkspaceState

__all__ = ["IDENTITY", "PINNED_CONFIG", "GitCommandFailed", "GitWorktreeWorkspace"]

# Python leftovers that must never enter a run's tree, whatever the repository ignores.
EXCLUDES = "__pycache__/\n*.py[cod]\n.pytest_cache/\n"

_SAFE_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class GitWorktreeWorkspace:
    """Run worktrees live in `data_dir/worktrees/<run_id>`; commits live in the target repository."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)

    # -- port ---------------------------------------------------------------------------

    def prepare(self, run_id: str, repo: str, branch: str, base_ref: str | None) -> WorkspaceState:
        """Create (or reuse) the run's branch and worktree; safe to repeat after a crash."""
        root = self._repo_root(repo)
        ref = base_ref or "HEAD"
        base = self._resolve(root, ref)
        self._check_branch_name(root, branch)
        tip = self._branch_tip(root, branch)
        if tip is None:
            self._git(root, "branch", branch, base)
            tip = base
        else:
            # The branch survived an earlier attempt; `ref` may have moved since (HEAD gained
            # commits), but the fork point of the two is still the base the run started from.
            base = self._merge_base(root, base, tip) or base
        path = self._worktree_path(run_id)
        if not self._is_worktree(path, root):
            self._add_worktree(root, path, branch)
        return WorkspaceState(
            run_id=run_id,
            repo=str(root),
            path=str(path),
            branch=branch,
            base_ref=ref,
            base_commit=base,
            head_commit=tip,
        )

    def checkout(self, state: WorkspaceState, commit: str) -> Path:
        """Put the worktree exactly at `commit` with the branch on it; leftovers vanish."""
        root = Path(state.repo)
        sha = self._resolve(root, commit, missing="the run's commits are not in this repository (was it re-cloned?)")
        path = self._worktree_path(state.run_id)
        if not self._is_worktree(path, root):
            if self._branch_tip(root, state.branch) is None:
                self._git(root, "branch", state.branch, sha)
            self._add_worktree(root, path, state.branch)
        self._remove_stale_lock(root, path)
        self._git_in(root, path, "checkout", "--force", "-B", state.branch, sha)
        self._git_in(root, path, "reset", "--hard", "--quiet", sha)
        self._git_in(root, path, "clean", "-ffdxq")
        self.restore_git_pointer(state)
        return path

    def restore_git_pointer(self, state: WorkspaceState) -> bool:
        """Undo a change the tests made to the worktree's `.git` pointer; True when there was one."""
        path = self._worktree_path(state.run_id)
        try:
            admin = worktree_git_dir(repo_dirs(Path(state.repo))[1], path)
        except UnknownWorktree:
            return False
        return restore_pointer(path, admin)

    def commit_all(self, state: WorkspaceState, message: str) -> str:
        """Commit every change (ignored files excepted) as specmill; HEAD when nothing changed."""
        path = self._worktree_path(state.run_id)
        root = Path(state.repo)
        if not self._is_worktree(path, root):
            raise GitCommandFailed(f"the worktree of run {state.run_id} is missing at {path}; check out a commit first")
        self.restore_git_pointer(state)
        self._git_in(root, path, *self._excludes(), "add", "--all", "--", ".")
        staged = self._git_in(root, path, "diff", "--cached", "--quiet", check=False)
        if staged.returncode != 0:
            self._git_in(root, path, "commit", "--quiet", "--no-verify", "--allow-empty-message", "-m", message)
        return self._git_in(root, path, "rev-parse", "HEAD").stdout.strip()

    def diff(self, state: WorkspaceState, head_commit: str) -> str:
        """Unified diff base..head, computed in the main repository (works without the worktree)."""
        root = Path(state.repo)
        head = self._resolve(root, head_commit)
        return self._git(
            root, "diff", "--no-color", "--no-ext-diff", "--no-textconv", state.base_commit, head, "--"
        ).stdout

    # -- extras for tests and callers that compare results ------------------------------

    def tree_id(self, state: WorkspaceState, commit: str) -> str:
        """The tree of `commit`: equal trees mean equal files, whatever the commit metadata."""
        return self._git(
            Path(state.repo), "rev-parse", f"{self._resolve(Path(state.repo), commit)}^{{tree}}"
        ).stdout.strip()

    # -- helpers ------------------------------------------------------------------------

    def _git(self, root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A command on the user's repository (branches, commits, worktree records)."""
        git_dir = repo_dirs(root)[0]
        return run_git(args, git_dir=git_dir, work_tree=root, check=check)

    def _git_in(self, root: Path, path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A command in a run's worktree, with its git directory found from the main repository."""
        admin = worktree_git_dir(repo_dirs(root)[1], path)
        return run_git(args, git_dir=admin, work_tree=path, check=check)

    def _repo_root(self, repo: str) -> Path:
        path = Path(repo).expanduser()
        problem = NotAGitRepository(f"'{repo}' is not a git repository: give the root of a git checkout")
        if not path.is_dir():
            raise problem
        proc = run_git(["rev-parse", "--show-toplevel"], cwd=path, check=False)
        if proc.returncode != 0 or not proc.stdout.strip():
            raise problem
        top = Path(proc.stdout.strip()).resolve()
        if top != path.resolve():
            raise NotAGitRepository(
                f"'{repo}' is inside the git repository at '{top}', not its root: give the root of a git checkout"
            )
        return top

    def _resolve(
        self, root: Path, ref: str, missing: str = "give as base a branch, tag or commit that exists there"
    ) -> str:
        proc = None
        if ref and not ref.startswith("-"):
            proc = self._git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if proc is None or proc.returncode != 0:
            raise UnknownRef(f"'{ref}' is not a commit in {root}: {missing}")
        return proc.stdout.strip()

    def _check_branch_name(self, root: Path, branch: str) -> None:
        proc = self._git(root, "check-ref-format", "--branch", branch, check=False)
        if proc.returncode != 0 or branch.startswith("-"):
            raise BadInput(f"'{branch}' is not a valid git branch name")

    def _branch_tip(self, root: Path, branch: str) -> str | None:
        proc = self._git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def _merge_base(self, root: Path, a: str, b: str) -> str | None:
        proc = self._git(root, "merge-base", a, b, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def _worktree_path(self, run_id: str) -> Path:
        if not _SAFE_RUN_ID.match(run_id):
            raise BadInput(f"run id '{run_id}' may only contain letters, digits, '.', '_' and '-'")
        return (self.data_dir / "worktrees" / run_id).resolve()

    def _is_worktree(self, path: Path, root: Path) -> bool:
        """The main repository records a worktree at `path` and its files are there."""
        if not path.is_dir():
            return False
        try:
            admin = worktree_git_dir(repo_dirs(root)[1], path)
        except UnknownWorktree:
            return False
        return (admin / "HEAD").is_file()

    def _add_worktree(self, root: Path, path: Path, branch: str) -> None:
        """Register a fresh worktree; stale metadata of a deleted one is pruned first."""
        self._git(root, "worktree", "prune")
        if path.exists():
            shutil.rmtree(path)  # our own directory, left half-made by a crash
        path.parent.mkdir(parents=True, exist_ok=True)
        # --force: the branch may still be "checked out" by this run's worktree at an old data dir.
        self._git(root, "worktree", "add", "--force", "--quiet", str(path), branch)

    def _remove_stale_lock(self, root: Path, path: Path) -> None:
        """A git process killed mid-command leaves index.lock behind, which blocks every later command."""
        (worktree_git_dir(repo_dirs(root)[1], path) / "index.lock").unlink(missing_ok=True)

    def _excludes(self) -> tuple[str, ...]:
        """Replace the user's global excludes with specmill's, so trees do not depend on the machine."""
        file = self.data_dir / "git-excludes"
        if not file.exists() or file.read_text() != EXCLUDES:
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(EXCLUDES)
        return ("-c", f"core.excludesFile={file.resolve()}")
