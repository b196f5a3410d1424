"""Remote port on the real `git` CLI, run in the main repository with the user's own credentials.

The push uses the user's git configuration (credential helper, SSH agent): it runs on the host, never
in the sandbox, and the model never sees it. Hooks are off, so nothing a run wrote can run here.
"""

from __future__ import annotations

import os
import re
import subprocess

from specmill.errors import BadInput, PushRejected, SpecmillError
from specmill.ports.remote import PushOutcome

_NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k.startswith("GIT_SSH")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def without_credentials(url: str) -> str:
    return _CREDENTIALS.sub("", url)


class GitRemote:
    def __init__(self, timeout_s: float = 300.0) -> None:
        self.timeout_s = timeout_s

    def url(self, repo: str, remote: str) -> str:
        proc = self._git(repo, "remote", "get-url", "--", remote, check=False)
        if proc.returncode != 0:
            raise BadInput(f"the repository has no git remote {remote!r} to publish to (`git remote -v` lists them)")
        return without_credentials(proc.stdout.strip())

    def branch_tip(self, repo: str, remote: str, branch: str) -> str | None:
        out = self._git(repo, "ls-remote", "--", remote, f"refs/heads/{branch}").stdout.split()
        return out[0] if out else None

    def push(self, repo: str, remote: str, branch: str, commit: str, lease: str | None) -> PushOutcome:
        url = self.url(repo, remote)
        if self.branch_tip(repo, remote, branch) == commit:
            return PushOutcome(remote=remote, url=url, branch=branch, commit=commit, pushed=False)
        ref = f"refs/heads/{branch}"
        proc = self._git(
            repo,
            "push",
            "--porcelain",
            f"--force-with-lease={ref}:{lease or ''}",
            "--",
            remote,
            f"{commit}:{ref}",
            check=False,
        )
        if proc.returncode != 0:
            detail = without_credentials((proc.stdout + proc.stderr).strip())[-1000:]
            raise PushRejected(f"git push to {remote} ({url}) was refused: {detail}")
        return PushOutcome(remote=remote, url=url, branch=branch, commit=commit, pushed=True)

    def delete_branch(self, repo: str, remote: str, branch: str) -> bool:
        if self.branch_tip(repo, remote, branch) is None:
            return False
        self._git(repo, "push", "--porcelain", "--", remote, f":refs/heads/{branch}")
        return True

    def current_branch(self, repo: str) -> str:
        proc = self._git(repo, "symbolic-ref", "--short", "-q", "HEAD", check=False)
        return proc.stdout.strip() or "main"

    def commits_between(self, repo: str, base: str, head: str) -> list[str]:
        out = self._git(repo, "log", "--reverse", "--format=%h %s", f"{base}..{head}", "--").stdout
        return [line for line in out.splitlines() if line.strip()]

    def _git(self, repo: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["git", *_NO_HOOKS, "-C", repo, *args],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=self.timeout_s,
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            detail = without_credentials(proc.stderr.strip())[-1000:]
            raise SpecmillError(f"git {args[0]} failed ({proc.returncode}): {detail}")
        return proc
