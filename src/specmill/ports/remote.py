"""Remote port: publishing a run's branch to the repository's remote."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

from specmill.errors import BadInput, PushRejected


class PushOutcome(BaseModel):
    """What a push did. `pushed` is False when the remote already had the commit (a repeated step)."""

    remote: str
    url: str = Field(description="The remote's URL, without credentials.")
    branch: str
    commit: str
    pushed: bool


class Remote(Protocol):
    def url(self, repo: str, remote: str) -> str:
        """The URL of `remote` in `repo`; raises `BadInput` when there is no such remote."""
        ...

    def branch_tip(self, repo: str, remote: str, branch: str) -> str | None:
        """The commit the remote's `branch` points at, or None when it has no such branch."""
        ...

    def push(self, repo: str, remote: str, branch: str, commit: str, lease: str | None) -> PushOutcome:
        """Make the remote's `branch` point at `commit`, only if it still points at `lease` (None: it must not
        exist yet). A remote that already has `commit` there is left alone."""
        ...

    def delete_branch(self, repo: str, remote: str, branch: str) -> bool:
        """Delete the remote's `branch`; False when it had none."""
        ...

    def current_branch(self, repo: str) -> str:
        """The branch checked out in `repo` (what a pull request of a run based on HEAD merges into)."""
        ...

    def commits_between(self, repo: str, base: str, head: str) -> list[str]:
        """`<short sha> <subject>` of each commit in base..head, oldest first."""
        ...


class MemoryRemote:
    """Remotes in memory, for unit tests: {remote: {branch: commit}}."""

    def __init__(self) -> None:
        self.branches: dict[str, dict[str, str]] = {"origin": {}}

    def url(self, repo: str, remote: str) -> str:
        if remote not in self.branches:
            raise BadInput(f"the repository has no remote {remote!r}")
        return f"memory://{remote}"

    def branch_tip(self, repo: str, remote: str, branch: str) -> str | None:
        return self.branches.get(remote, {}).get(branch)

    def push(self, repo: str, remote: str, branch: str, commit: str, lease: str | None) -> PushOutcome:
        tip = self.branch_tip(repo, remote, branch)
        if tip != commit and tip != lease:
            raise PushRejected(f"{remote}/{branch} is at {tip}, not at {lease}: someone else pushed to it")
        self.branches[remote][branch] = commit
        url = self.url(repo, remote)
        return PushOutcome(remote=remote, url=url, branch=branch, commit=commit, pushed=tip != commit)

    def delete_branch(self, repo: str, remote: str, branch: str) -> bool:
        return self.branches.get(remote, {}).pop(branch, None) is not None

    def commits_between(self, repo: str, base: str, head: str) -> list[str]:
        return [] if base == head else [f"{head[:7]} (in memory)"]

    def current_branch(self, repo: str) -> str:
        return "main"
