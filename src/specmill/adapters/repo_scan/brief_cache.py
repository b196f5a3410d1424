"""Briefs already made: the same spec, budget and tree give the same brief, so it is kept and reused.

A run's brief is deterministic when it is sized by the local estimate, so asking again (another
run of the same spec, `specmill analyze` while tuning a spec) need not rank and render again.
The key covers the tree (`index.Plan.key`), the spec, the budget and the source of the code that
makes the brief, so any change to one of them is a miss. Entries are small and written atomically;
an unreadable entry is a miss, never an error.

The conventions of a project depend on its tree alone, not on the spec, so they are kept too, per
tree and project folder: a new spec on a known tree skips the detectors. So is the tree's outline
(`outline`, `outline_store`): what ranking and rendering read from the tree, so that such a brief
skips the scan as well.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from specmill.models import Convention, PatternBrief, Spec

KEEP_BRIEFS = 64
"""Entries kept; the oldest are deleted beyond this."""
KEEP_CONVENTIONS = 16
"""Conventions are kept per tree; a few trees are enough to cover the checkouts in use."""


def _code_fingerprint() -> str:
    digest = hashlib.sha1()
    package = Path(__file__).parent
    for source in sorted([*package.glob("*.py"), package.parent / "repo_map.py"]):
        with contextlib.suppress(OSError):
            digest.update(source.read_bytes())
    return digest.hexdigest()


def _write(folder: Path, key: str, text: str, keep: int) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, folder / f"{key}.json")
        entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in entries[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()


class BriefCache:
    def __init__(self, cache_dir: Path) -> None:
        self.folder = cache_dir / "briefs"
        self.conventions_folder = cache_dir / "conventions"
        self.outlines_folder = cache_dir / "outlines"
        self._code = _code_fingerprint()

    def key(self, tree_key: str, spec: Spec, budget: int) -> str:
        text = f"{self._code}\0{tree_key}\0{budget}\0{spec.model_dump_json()}"
        return hashlib.sha1(text.encode("utf-8", errors="surrogateescape")).hexdigest()

    def get(self, key: str) -> PatternBrief | None:
        try:
            return PatternBrief.model_validate_json((self.folder / f"{key}.json").read_bytes())
        except (OSError, ValueError):
            return None

    def put(self, key: str, brief: PatternBrief) -> None:
        _write(self.folder, key, brief.model_dump_json(), KEEP_BRIEFS)

    def outline_path(self, tree_key: str) -> Path:
        """Where the tree's outline is kept (see `outline`): by tree and code, like a brief."""
        name = hashlib.sha1(f"{self._code}\0{tree_key}".encode("utf-8", errors="surrogateescape")).hexdigest()
        return self.outlines_folder / f"{name}.marshal"

    def conventions_key(self, tree_key: str, subproject: str) -> str:
        text = f"{self._code}\0{tree_key}\0{subproject}"
        return hashlib.sha1(text.encode("utf-8", errors="surrogateescape")).hexdigest()

    def get_conventions(self, key: str) -> list[Convention] | None:
        try:
            data = json.loads((self.conventions_folder / f"{key}.json").read_bytes())
            return [Convention.model_validate(item) for item in data]
        except (OSError, ValueError, TypeError):
            return None

    def put_conventions(self, key: str, conventions: list[Convention]) -> None:
        text = json.dumps([c.model_dump(mode="json") for c in conventions], separators=(",", ":"))
        _write(self.conventions_folder, key, text, KEEP_CONVENTIONS)
