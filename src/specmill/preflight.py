"""Cheap checks of a run request, before anything durable starts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from specmill.adapters.safe_git import run_git
from specmill.config import Settings
from specmill.errors import BadInput, NoRepo, NotAGitRepository, UnknownRef
from specmill.models import RunRequest
from specmill.playbooks import load_playbook, resolve_local
from specmill.spec_choices import named_repos, playbook_of, repos_base, spec_repo

MODEL_KEYS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


def check_model_key(environ: Mapping[str, str] | None = None) -> None:
    """The Messages API needs a key; without one, say so before anything is read or written."""
    environ = os.environ if environ is None else environ
    if not any(environ.get(name, "").strip() for name in MODEL_KEYS):
        raise BadInput(
            "no model key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN); "
            "`specmill run --offline` replays the example spec's recorded session without one"
        )


def with_spec_choices(
    request: RunRequest, frontmatter: Mapping[str, Any], settings: Settings, *, local: bool = True
) -> RunRequest:
    """The spec's own `repo:` and `playbook:` (`spec_choices.py`) fill in what the command left out;
    a flag wins. A repository the note names must be a directory: checked here, before anything is written.
    `local` (the CLI) turns a playbook name into the path of its file; a server keeps the name, which the
    run loads from the server's own playbook folders."""
    update: dict[str, Any] = {}
    if not request.repo:
        repo = spec_repo(frontmatter, named_repos(settings), repos_base(settings))
        if repo is None:
            raise NoRepo("no repository: pass --repo PATH, or add 'repo: PATH' to the spec's frontmatter")
        update["repo"] = repo
    if request.playbook is None:
        name = playbook_of(frontmatter)
        update["playbook"] = resolve_local(name, settings.playbooks_dir) if local else name
    return request.model_copy(update=update)


def check_request(request: RunRequest, settings: Settings) -> RunRequest:
    """Return the request with the repository path made absolute; raise BadInput with the fix."""
    repo = Path(request.repo).expanduser()
    if not repo.is_dir():
        raise NotAGitRepository(f"repo '{request.repo}' is not a directory: give the root of a git checkout")
    top = _git(repo, "rev-parse", "--show-toplevel")
    if top is None:
        raise NotAGitRepository(f"repo '{request.repo}' is not a git repository: give the root of a git checkout")
    ref = request.base or "HEAD"
    if _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") is None:
        hint = "commit something first" if ref == "HEAD" else "give as base a branch, tag or commit that exists"
        raise UnknownRef(f"unknown ref '{ref}' in '{request.repo}': {hint}")
    load_playbook(request.playbook, settings.playbooks_dir)
    check_project(request, settings)
    if request.max_iterations is not None and request.max_iterations < 1:
        raise BadInput(f"max_iterations must be at least 1, got {request.max_iterations}")
    return request.model_copy(update={"repo": str(Path(top).resolve())})


def check_project(request: RunRequest, settings: Settings) -> None:
    if not (request.project or settings.project):
        raise BadInput("no Basic Memory project given: name the spec's project, or set SPECMILL_PROJECT")


def _git(repo: Path, *args: str) -> str | None:
    proc = run_git(args, cwd=repo, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None
