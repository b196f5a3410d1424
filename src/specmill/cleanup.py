"""Worktrees of finished runs: find them, say what they take, and remove them.

A run's worktree (`<data dir>/worktrees/<run id>`) is only needed while the run goes on, or to resume
it; its commits live on its branch in the repository. Once a run has ended, its worktree can go, and
`resume` or a fork recreates it from the recorded commit if needed. Branches stay unless asked.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import BaseModel, Field

from specmill.adapters.safe_git import run_git

ENDED = frozenset({"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})


class Leftover(BaseModel):
    run_id: str
    path: str
    bytes: int
    status: str = Field(description="The run's DBOS status, or `unknown` when DBOS has no such run.")
    age_h: float = Field(description="Hours since the worktree last changed.")
    repo: str | None = Field(default=None, description="The repository the worktree belongs to.")
    branch: str | None = None


class Cleanup(BaseModel):
    removed: list[Leftover] = Field(default_factory=list)
    kept: list[Leftover] = Field(default_factory=list)
    branches_deleted: list[str] = Field(default_factory=list)
    dry_run: bool = True

    @property
    def freed_bytes(self) -> int:
        return sum(item.bytes for item in self.removed)


def find_leftovers(data_dir: Path, statuses: Callable[[list[str]], Mapping[str, str]]) -> list[Leftover]:
    """Every run worktree under the data dir, with its size, age and the status of its run."""
    root = data_dir / "worktrees"
    if not root.is_dir():
        return []
    paths = sorted(p for p in root.iterdir() if p.is_dir())
    known = statuses([p.name for p in paths])
    now = time.time()
    found = []
    for path in paths:
        repo, branch = _owner(path)
        found.append(
            Leftover(
                run_id=path.name,
                path=str(path),
                bytes=_size(path),
                status=known.get(path.name, "unknown"),
                age_h=round((now - _changed(path)) / 3600, 2),
                repo=repo,
                branch=branch,
            )
        )
    return found


def collect(
    leftovers: list[Leftover], *, older_than_h: float = 0.0, branches: bool = False, dry_run: bool = True
) -> Cleanup:
    """Remove (or, in a dry run, list) the worktrees of ended runs older than `older_than_h`; a run that
    is still going, or one DBOS does not know, keeps its worktree."""
    outcome = Cleanup(dry_run=dry_run)
    for item in leftovers:
        if item.status not in ENDED or item.age_h < older_than_h:
            outcome.kept.append(item)
            continue
        outcome.removed.append(item)
        if dry_run:
            continue
        shutil.rmtree(item.path, ignore_errors=True)
        if item.repo:
            _git(item.repo, "worktree", "prune")
            if branches and item.branch and _git(item.repo, "branch", "-D", "--", item.branch):
                outcome.branches_deleted.append(item.branch)
    return outcome


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _owner(path: Path) -> tuple[str | None, str | None]:
    """The main repository and branch of a worktree, read from its `.git` pointer and git's own metadata."""
    pointer = path / ".git"
    try:
        line = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        return None, None
    if not line.startswith("gitdir: "):
        return None, None
    gitdir = Path(line.removeprefix("gitdir: "))
    try:
        common = (gitdir / "commondir").read_text(encoding="utf-8").strip()
        head = (gitdir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None, None
    repo = (gitdir / common).resolve().parent
    branch = head.removeprefix("ref: refs/heads/") if head.startswith("ref: refs/heads/") else None
    return str(repo), branch


def _size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path, followlinks=False):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def _changed(path: Path) -> float:
    try:
        return max(path.stat().st_mtime, (path / ".git").stat().st_mtime)
    except OSError:
        return path.stat().st_mtime


def _git(repo: str, *args: str) -> bool:
    try:
        return run_git(args, cwd=Path(repo), check=False).returncode == 0
    except OSError:
        return False
