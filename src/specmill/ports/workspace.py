"""Workspace port: a run's own git worktree, moved from commit to commit."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from specmill.models import WorkspaceState


class Workspace(Protocol):
    def prepare(self, run_id: str, repo: str, branch: str, base_ref: str | None) -> WorkspaceState:
        """Resolve `base_ref` (HEAD when None) and create the run's worktree and branch there.

        Safe to call again: an existing worktree for the run is reused.
        Raises `NotAGitRepository` or `UnknownRef` for bad input.
        """
        ...

    def checkout(self, state: WorkspaceState, commit: str) -> Path:
        """Return the worktree path, clean and exactly at `commit`.

        Recreates a missing worktree and discards anything a crashed step left behind.
        """
        ...

    def commit_all(self, state: WorkspaceState, message: str) -> str:
        """Commit every change in the worktree to the run's branch; return the head commit
        (unchanged when there was nothing to commit)."""
        ...

    def diff(self, state: WorkspaceState, head_commit: str) -> str:
        """Unified diff from the base commit to `head_commit`."""
        ...
