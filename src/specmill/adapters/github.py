"""Code host port on GitHub's REST API (github.com, GitHub Enterprise, or a stand-in in tests), over httpx.

The token comes from `GITHUB_TOKEN`; it is sent to the API base only, never to the model or the sandbox.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from specmill.errors import CodeHostError, CodeHostUnavailable, PublishNotConfigured
from specmill.models import PullRequestRef
from specmill.ports.code_host import NewPullRequest

if TYPE_CHECKING:  # imported when a pull request is opened, not when a worker starts
    import httpx

API_VERSION = "2022-11-28"
_REMOTE = re.compile(r"(?:[:/])(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+?)(?:\.git)?/?$")
_SLUG = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def repository_of(remote_url: str, configured: str | None = None) -> str:
    """`owner/name` from the setting when given, else from a GitHub remote URL (https, ssh or scp-like)."""
    if configured:
        if not _SLUG.match(configured):
            raise PublishNotConfigured(f"SPECMILL_GITHUB_REPO must look like owner/name, not {configured!r}")
        return configured
    match = _REMOTE.search(remote_url.strip())
    if not match or "github" not in remote_url:
        raise PublishNotConfigured(
            f"cannot tell the GitHub repository from the remote URL {remote_url!r}: set SPECMILL_GITHUB_REPO=owner/name"
        )
    return f"{match['owner']}/{match['name']}"


class GitHubCodeHost:
    """One repository's pull requests. Errors: 5xx, 429 and network failures are `CodeHostUnavailable`
    (the step retries them); other 4xx are `CodeHostError` with GitHub's message."""

    def __init__(self, api_url: str, repository: str, token: str, timeout_s: float = 30.0) -> None:
        if not token:
            raise PublishNotConfigured("opening a pull request needs GITHUB_TOKEN")
        self.repository = repository
        self.owner = repository.split("/", 1)[0]
        import httpx

        self.client = httpx.Client(
            base_url=api_url.rstrip("/"),
            timeout=timeout_s,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {token}",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "specmill",
            },
        )

    def find_open_pull(self, head: str) -> PullRequestRef | None:
        pulls = self._call(
            "GET", f"/repos/{self.repository}/pulls", params={"head": f"{self.owner}:{head}", "state": "open"}
        )
        for pull in pulls:
            if pull.get("head", {}).get("ref") == head:
                return _ref(pull)
        return None

    def open_pull(self, pull: NewPullRequest) -> PullRequestRef:
        return _ref(self._call("POST", f"/repos/{self.repository}/pulls", json=pull.model_dump()))

    def comment(self, number: int, body: str) -> str:
        answer = self._call("POST", f"/repos/{self.repository}/issues/{number}/comments", json={"body": body})
        return str(answer.get("html_url", ""))

    def close_pull(self, number: int) -> None:
        self._call("PATCH", f"/repos/{self.repository}/pulls/{number}", json={"state": "closed"})

    def close(self) -> None:
        self.client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CodeHostUnavailable(f"GitHub API {method} {path}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise CodeHostUnavailable(f"GitHub API {method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise CodeHostError(f"GitHub API {method} {path}: HTTP {response.status_code}: {_message(response)}")
        return response.json() if response.content else {}


def _ref(pull: dict[str, Any]) -> PullRequestRef:
    return PullRequestRef(url=str(pull["html_url"]), number=int(pull["number"]), draft=bool(pull.get("draft")))


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))[:500]
    except ValueError:
        return response.text[:500]


class GitHubCodeHosts:
    """Builds the code host of a run's remote from the settings (token, API base, optional owner/name)."""

    def __init__(self, api_url: str, token: str, repository: str | None = None) -> None:
        self.api_url, self.token, self.repository = api_url, token, repository

    @classmethod
    def from_settings(cls, settings: Any) -> GitHubCodeHosts:
        return cls(settings.github_api_url, settings.github_token, settings.github_repo)

    def for_remote(self, remote_url: str) -> tuple[str, GitHubCodeHost]:
        repository = repository_of(remote_url, self.repository)
        return repository, GitHubCodeHost(self.api_url, repository, self.token)
