"""What a spec note chooses for its own runs: `repo:` and `playbook:` in its frontmatter.

`specmill run` and sweeps read both; a flag of `specmill run` wins over the note.

- `repo:` is one of the names of `SPECMILL_SWEEP_REPOS`, or a path. A relative path is resolved
  against `repos_dir` (the setting), else against the current directory of the process that
  reads the note: the shell's for `specmill run`, the server's or worker's for a sweep.
- `playbook:` is a playbook's name (a file stem in the playbook folders), never a path: a note
  is written by whoever can edit the knowledge base, not by whoever runs specmill.

Keys are matched in any capitalisation (`Repo:`); the exact lowercase key wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from specmill.config import Settings
from specmill.errors import BadInput, NotAGitRepository
from specmill.playbooks import PLAYBOOK_NAME

MISSING: Any = object()


def value_of(frontmatter: Mapping[str, Any], key: str) -> Any:
    """The value of `key` in any capitalisation; the exact lowercase key wins; MISSING when absent."""
    if key in frontmatter:
        return frontmatter[key]
    for name, value in frontmatter.items():
        if name.casefold() == key:
            return value
    return MISSING


def is_blank(value: Any) -> bool:
    return value is MISSING or value is None or (isinstance(value, str) and not value.strip())


def named_repos(settings: Settings) -> dict[str, str]:
    """Name -> repository path, from `SPECMILL_SWEEP_REPOS` (`name=path,...`)."""
    repos: dict[str, str] = {}
    for pair in settings.sweep_repos.split(","):
        name, sep, path = pair.partition("=")
        if sep and name.strip() and path.strip():
            repos[name.strip()] = str(Path(path.strip()).expanduser())
    return repos


def repos_base(settings: Settings) -> str:
    """The folder relative `repo:` paths are resolved against, made absolute now."""
    return str((settings.repos_dir or Path.cwd()).expanduser().resolve())


def repo_of(frontmatter: Mapping[str, Any], repos: Mapping[str, str], base: str) -> str | None:
    """The repository path the note names, None when it names none; BadInput when `repo:` is not usable."""
    raw = value_of(frontmatter, "repo")
    if is_blank(raw):
        return None
    if not isinstance(raw, str):
        raise BadInput(f"repo {raw!r} is not a name or a path: write one, such as 'repo: api' or 'repo: ~/code/api'")
    name = raw.strip()
    if name in repos:
        return repos[name]
    path = Path(name).expanduser()
    return str(path if path.is_absolute() else Path(base) / path)


def playbook_of(frontmatter: Mapping[str, Any]) -> str | None:
    """The playbook the note names, None when it names none; BadInput when `playbook:` is not a name."""
    raw = value_of(frontmatter, "playbook")
    if is_blank(raw):
        return None
    if not isinstance(raw, str) or not PLAYBOOK_NAME.fullmatch(raw.strip()):
        shown = str(raw)[:100]
        raise BadInput(
            f"playbook {shown!r} in the spec's frontmatter is not a playbook name: "
            "name one (a file stem in workflows/ or SPECMILL_PLAYBOOKS_DIR), such as 'playbook: python-developer'"
        )
    return raw.strip()


def spec_repo(frontmatter: Mapping[str, Any], repos: Mapping[str, str], base: str) -> str | None:
    """The repository the note names, which must be a directory; None when it names none."""
    path = repo_of(frontmatter, repos, base)
    if path is not None and not Path(path).is_dir():
        raw = str(value_of(frontmatter, "repo")).strip()
        names = ", ".join(sorted(repos)) or "none configured"
        raise NotAGitRepository(
            f"the spec's 'repo: {raw}' is {path}, which is not a directory: write a path (relative ones start "
            f"at {base}) or a name of SPECMILL_SWEEP_REPOS ({names})"
        )
    return path
