"""A spec's version, and the run id derived from it: the sweep's key to exactly-once.

The version is a hash of what the author wrote. What specmill writes into the note itself
(the `## Implementation Status` section and the frontmatter `status:`) is left out, and so is
what Basic Memory rewrites on its own (`permalink:`, and blank lines an update adds before
the status section); otherwise every run would make its spec look edited.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from specmill.errors import BadInput, SpecmillError
from specmill.markdown import parse_frontmatter, split_frontmatter, split_lines, status_spans
from specmill.models import Note, Spec
from specmill.ports.spec_store import SpecStore

# Keys compared casefolded: a person's `Status: ready` sits beside specmill's `status:` line.
IGNORED_KEYS = frozenset({"status", "permalink"})
_VERSION_RUN_ID = re.compile(r"^v[0-9a-f]{12}-")
MAX_RUN_ID = 100  # the API's run id pattern allows 100 characters


def spec_version(content: str, name: str = "spec") -> str:
    """sha256 of the note's meaning; raises BadInput when the frontmatter is not YAML."""
    block, body = split_frontmatter(content.replace("\r\n", "\n"))
    lines = split_lines(body)
    dropped = {index for start, end in status_spans(lines) for index in range(start, end)}
    return _digest(parse_frontmatter(block, name), [line for index, line in enumerate(lines) if index not in dropped])


def spec_version_of(spec: Spec) -> str:
    """The same version, from a parsed spec (its body already lacks specmill's section)."""
    return _digest(spec.frontmatter, spec.body.splitlines())


def run_id_for(project: str, permalink: str, content: str) -> str:
    """`v<12 hex>-<permalink slug>`: the hex first, because branch names keep only the id's first
    characters, and two versions of one spec must not share a branch."""
    return _run_id(project, permalink, spec_version(content, permalink))


def version_run_id(store: SpecStore, spec: str, project: str) -> str | None:
    """The id of the spec's current version, as sweeps, `specmill run` and `POST /runs` (through
    `read_version`) name a run, so no entry point implements one version twice; None when the note
    cannot be read (the run then says why)."""
    try:
        return read_version(store, spec, project)[1]
    except SpecmillError:
        return None


def read_version(store: SpecStore, spec: str, project: str) -> tuple[Note, str | None]:
    """One read of the note: the note, and the id of its current version (None when its frontmatter is
    not YAML). A note that cannot be read raises, as `SpecStore.read_note` does."""
    note = store.read_note(spec, project)
    try:
        return note, run_id_for(note.project, note.permalink, note.content)
    except BadInput:
        return note, None


def run_id_for_spec(spec: Spec) -> str:
    return _run_id(spec.project, spec.permalink, spec_version_of(spec))


def _run_id(project: str, permalink: str, version: str) -> str:
    digest = hashlib.sha256(f"{project}\n{permalink}\n{version}".encode("utf-8")).hexdigest()
    slug = re.sub(r"[^a-z0-9]+", "-", permalink.lower()).strip("-") or "spec"
    return f"v{digest[:12]}-{slug}"[:MAX_RUN_ID].rstrip("-")


def _digest(frontmatter: dict[str, Any], lines: list[str]) -> str:
    """Blank lines collapse and trailing spaces go: an update adds a blank line before its section."""
    kept: list[str] = []
    for line in lines:
        line = line.rstrip()
        if line or (kept and kept[-1]):
            kept.append(line)
    meaning = {k: v for k, v in frontmatter.items() if k.casefold() not in IGNORED_KEYS}
    canonical = json.dumps(
        {"frontmatter": meaning, "body": "\n".join(kept).strip("\n")}, sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def is_version_run_id(run_id: str) -> bool:
    """Whether `run_id` names a spec version (as sweeps and `specmill run` name runs by default)."""
    return bool(_VERSION_RUN_ID.match(run_id))
