"""Every git command specmill runs, started so that nothing in a worktree can steer it.

A run's worktree is written by model code: its tests may rewrite the `.git` pointer file
to a git directory of their own, plant hooks, or set `core.hooksPath` or `core.fsmonitor`
(both run programs). So git is never asked to discover a repository from a worktree:
the git directory of a worktree is found from the main repository's own records
(`<common dir>/worktrees/*/gitdir`) and passed with `--git-dir` and `--work-tree`.
Hooks point at an empty place, fsmonitor is off, system and global config (and their
includes) are not read, and the environment is built from an allow-list, so a hook that
did run would still see no API key or token.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from specmill.errors import SpecmillError

IDENTITY = {
    "GIT_AUTHOR_NAME": "specmill",
    "GIT_AUTHOR_EMAIL": "specmill@localhost",
    "GIT_COMMITTER_NAME": "specmill",
    "GIT_COMMITTER_EMAIL": "specmill@localhost",
}

# Settings pinned on every call: nothing runs a program on git's behalf (hooks, fsmonitor,
# pagers, signing, credential helpers), and user or system config cannot change what lands
# in a tree (line endings, file modes).
PINNED_CONFIG = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.untrackedCache=false",
    "-c",
    "core.sshCommand=false",
    "-c",
    "credential.helper=",
    "-c",
    "protocol.allow=never",
    "-c",
    "core.autocrlf=false",
    "-c",
    "core.safecrlf=false",
    "-c",
    "core.fileMode=true",
    "-c",
    "commit.gpgSign=false",
    "-c",
    "tag.gpgSign=false",
    "-c",
    "core.pager=cat",
    "-c",
    "advice.detachedHead=false",
)

_ENV_ALLOW = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR")


class GitCommandFailed(SpecmillError):
    """A git command failed for a reason that is not the user's input."""


class UnknownWorktree(SpecmillError):
    """The main repository has no record of a worktree at this path."""


def git_env(identity: Mapping[str, str] = IDENTITY) -> dict[str, str]:
    """An allow-listed environment: no secrets, no GIT_* redirection, no system or global config."""
    env = {name: os.environ[name] for name in _ENV_ALLOW if name in os.environ}
    env.update(identity)
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_ATTR_NOSYSTEM="1",
        GIT_OPTIONAL_LOCKS="0",
        HOME=os.devnull,
        XDG_CONFIG_HOME=os.devnull,
    )
    env.setdefault("PATH", os.defpath)
    return env


def run_git(
    args: Sequence[str],
    *,
    git_dir: Path | None = None,
    work_tree: Path | None = None,
    cwd: Path | None = None,
    check: bool = True,
    text: bool = True,
    timeout: float | None = None,
    identity: Mapping[str, str] = IDENTITY,
) -> subprocess.CompletedProcess:
    """Run `git args` with hooks and fsmonitor off, in a scrubbed environment.

    With `git_dir` (and `work_tree`) nothing is discovered. Without them git discovers the
    repository from `cwd`, which is only for a path the user named (their own checkout),
    never for a worktree a run's tests could write to.
    """
    location: list[str] = []
    if git_dir is not None:
        location.append(f"--git-dir={git_dir}")
        location.append(f"--work-tree={work_tree}" if work_tree is not None else "--bare")
    cmd = ["git", *location, *PINNED_CONFIG, *args]
    proc = subprocess.run(
        cmd,
        cwd=work_tree or cwd or git_dir,
        env=git_env(identity),
        capture_output=True,
        text=text,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        place = work_tree or cwd or git_dir
        err = proc.stderr if text else proc.stderr.decode("utf-8", "replace")
        raise GitCommandFailed(f"git {' '.join(args)} failed in {place}: {err.strip()}")
    return proc


@functools.lru_cache(maxsize=256)
def repo_dirs(repo_root: Path) -> tuple[Path, Path]:
    """The git directory of the user's checkout and the common one that records worktrees (equal unless
    the checkout is itself a linked worktree)."""
    out = run_git(["rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir"], cwd=repo_root).stdout.split(
        "\n"
    )
    return Path(out[0].strip()).resolve(), Path(out[1].strip()).resolve()


def worktree_git_dir(common: Path, worktree: Path) -> Path:
    """The administrative directory of `worktree`, found from the main repository's records only."""
    target = (worktree / ".git").resolve(strict=False)
    folder = common / "worktrees"
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        try:
            recorded = Path((entry / "gitdir").read_text().strip())
        except OSError:
            continue
        if recorded.resolve(strict=False) == target:
            return entry
    raise UnknownWorktree(f"the repository at {common} has no worktree registered at {worktree}")


def restore_pointer(worktree: Path, admin_dir: Path) -> bool:
    """Put back the worktree's `.git` pointer file when the tests changed it; True when it was changed.

    specmill itself never reads the pointer, but a person who opens the worktree does.
    """
    pointer = worktree / ".git"
    wanted = f"gitdir: {admin_dir}\n"
    try:
        if not pointer.is_symlink() and pointer.is_file() and pointer.read_text() == wanted:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    if pointer.is_symlink() or pointer.is_file():
        pointer.unlink()
    elif pointer.is_dir():
        shutil.rmtree(pointer)
    pointer.write_text(wanted)
    return True
