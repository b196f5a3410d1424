"""Code host port: the pull requests of a repository on GitHub (or a host that speaks its REST API)."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

from specmill.models import PullRequestRef


class NewPullRequest(BaseModel):
    """A pull request to open: the run's branch into its base."""

    title: str
    body: str
    head: str = Field(description="The branch with the change.")
    base: str = Field(description="The branch it is meant to merge into.")
    draft: bool = False


class CodeHost(Protocol):
    def find_open_pull(self, head: str) -> PullRequestRef | None:
        """The open pull request whose head is branch `head`, if there is one."""
        ...

    def open_pull(self, pull: NewPullRequest) -> PullRequestRef:
        """Open a pull request; the caller has made sure none is open for its head."""
        ...

    def comment(self, number: int, body: str) -> str:
        """Add a comment to pull request `number`; returns the comment's URL."""
        ...

    def close_pull(self, number: int) -> None:
        """Close pull request `number` without merging it."""
        ...


class MemoryCodeHost:
    """A code host in memory, for unit tests: pull requests numbered from 1, comments kept in order."""

    def __init__(self) -> None:
        self.pulls: dict[int, tuple[NewPullRequest, str]] = {}
        self.comments: list[tuple[int, str]] = []

    def find_open_pull(self, head: str) -> PullRequestRef | None:
        for number, (pull, state) in self.pulls.items():
            if pull.head == head and state == "open":
                return PullRequestRef(url=f"memory://pull/{number}", number=number, draft=pull.draft)
        return None

    def open_pull(self, pull: NewPullRequest) -> PullRequestRef:
        number = len(self.pulls) + 1
        self.pulls[number] = (pull, "open")
        return PullRequestRef(url=f"memory://pull/{number}", number=number, draft=pull.draft)

    def comment(self, number: int, body: str) -> str:
        self.comments.append((number, body))
        return f"memory://pull/{number}#comment-{len(self.comments)}"

    def close_pull(self, number: int) -> None:
        pull, _ = self.pulls[number]
        self.pulls[number] = (pull, "closed")


class CodeHosts(Protocol):
    def for_remote(self, remote_url: str) -> tuple[str, CodeHost]:
        """The repository (`owner/name`) behind `remote_url`, and its code host; raises `PublishNotConfigured`."""
        ...


class MemoryCodeHosts:
    """Every remote maps to one in-memory repository `memory/repo`."""

    def __init__(self, host: MemoryCodeHost | None = None) -> None:
        self.host = host or MemoryCodeHost()

    def for_remote(self, remote_url: str) -> tuple[str, CodeHost]:
        return "memory/repo", self.host
