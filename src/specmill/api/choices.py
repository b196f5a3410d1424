"""What a run started over HTTP or MCP takes from its spec note, in one read, before anything is recorded.

The note's version names the run when no Idempotency-Key does (as `specmill run` and sweeps name
theirs), and the note's own `repo:` and `playbook:` (`spec_choices.py`) fill in what the caller left
out; a field the caller gives wins. So the recorded request is the one that runs, and one spec version
with one effective request is one run. A request with a key, a repo and a playbook reads nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from specmill import preflight
from specmill.api.errors import ApiError
from specmill.config import Settings
from specmill.errors import NoRepo, SpecmillError, UnknownPlaybook
from specmill.markdown import parse_frontmatter, split_frontmatter
from specmill.models import Note, RunRequest
from specmill.phases.read_spec import parse_spec
from specmill.playbooks import load_named
from specmill.ports.spec_store import SpecStore
from specmill.sweep.version import read_version


@dataclass(frozen=True)
class Chosen:
    request: RunRequest
    version: str | None
    """The run id of the note's current version; None when the note was not read or cannot be."""


async def choose(
    request: RunRequest, store: SpecStore, settings: Settings, *, keyed: bool, require_spec: bool = False
) -> Chosen:
    """The request with the note's choices applied, and the note's version.

    `keyed`: an Idempotency-Key names the run, so the version is not needed. A note that cannot be
    read fails its run later, with the reason, unless the request needs it now: no repo was given
    (422 here), or `require_spec` (MCP's start_run: a spec without success criteria is refused too)."""
    complete = bool(request.repo) and request.playbook is not None
    if complete and keyed and not require_spec:
        return Chosen(request, None)
    if not request.repo:
        preflight.check_project(request, settings)  # the note must be read, so it must have a project
    project = request.project or settings.project or ""
    try:
        note, version = await asyncio.to_thread(read_version, store, request.spec, project)
        frontmatter = _frontmatter(note, require_spec)
    except SpecmillError:
        if request.repo and not require_spec:
            return Chosen(request, None)  # the run reads the note again and says why
        raise
    if complete:
        return Chosen(request, version)
    try:
        chosen = await asyncio.to_thread(preflight.with_spec_choices, request, frontmatter, settings, local=False)
        if chosen.playbook != request.playbook:
            await asyncio.to_thread(load_named, chosen.playbook, settings.playbooks_dir)
    except NoRepo:
        raise ApiError(
            422,
            "no_repo",
            f"no repository for spec '{request.spec[:200]}': pass repo, or add 'repo: PATH' to the spec's frontmatter",
        ) from None
    except UnknownPlaybook as exc:
        raise UnknownPlaybook(f"the spec's frontmatter: {exc}") from None
    return Chosen(chosen, version)


def _frontmatter(note: Note, require_spec: bool) -> dict[str, Any]:
    if require_spec:
        return parse_spec(note).frontmatter
    return parse_frontmatter(split_frontmatter(note.content)[0], note.title or note.permalink)
