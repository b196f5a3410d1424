"""The note files behind Basic Memory's index, read from the project's folder on this machine.

Basic Memory's files are the truth and its index follows them: after a file is edited on disk,
every tool (read_note and read_content included) answers from the index until its watcher
catches up, which measured ~1 s with a server running and ~9-12 s for a server that starts
after the edit (basic-memory 0.24.1). A spec read in that window would run from text nobody
has any more. So the spec store reads the file itself when Basic Memory's project folder is on
this machine, and prefers it when it differs and changed after the index's revision: an index
that caught up answers exactly the file's text, its `updated_at` is the file's mtime, and its
checksum is the sha256 of those bytes (`content_checksum`). The other way round happens too:
Basic Memory writes a file a moment after its own edit is accepted, so for that moment the file
is older than the index's revision, and the index is right.

A server on another machine names folders this machine does not have; then nothing is read here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from specmill.adapters.basic_memory.client import BasicMemoryClient, checked


class _Project(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    path: str | None = None


class _ProjectList(BaseModel):
    model_config = ConfigDict(extra="ignore")

    projects: list[_Project]


@dataclass(frozen=True)
class NoteFile:
    text: str
    changed: datetime


def newer_than(file: NoteFile, updated_at: str | None) -> bool:
    """Whether the file changed after the index's revision (its `updated_at`, ISO; UTC when naive)."""
    try:
        indexed = datetime.fromisoformat(updated_at or "")
    except ValueError:
        return False
    return file.changed > (indexed if indexed.tzinfo else indexed.replace(tzinfo=timezone.utc))


class NoteFiles:
    """Reads a project's note files by the path Basic Memory indexed them under; thread-safe."""

    def __init__(self, client: BasicMemoryClient) -> None:
        self.client = client
        self._folders: dict[str, Path | None] = {}
        self._lock = threading.Lock()

    def folder(self, project: str) -> Path | None:
        """The project's folder when it exists on this machine (asked once per project)."""
        with self._lock:
            if project not in self._folders:
                self._folders[project] = self._find_folder(project)
            return self._folders[project]

    def read(self, project: str, file_path: str) -> NoteFile | None:
        """The file's text as it is on disk now, and when it last changed; None when it cannot be read here."""
        folder = self.folder(project)
        if folder is None or not file_path:
            return None
        path = (folder / file_path).resolve()
        if not path.is_relative_to(folder):
            return None
        try:
            changed = path.stat().st_mtime  # before the read: an edit in between makes the file look older
            return NoteFile(path.read_bytes().decode("utf-8"), datetime.fromtimestamp(changed, timezone.utc))
        except (OSError, UnicodeDecodeError):
            return None

    def _find_folder(self, project: str) -> Path | None:
        answer = self.client.call_tool("list_memory_projects", {"output_format": "json"})
        try:
            listed = _ProjectList.model_validate(checked(answer, tool="list_memory_projects", project=project))
        except ValidationError:
            return None
        for entry in listed.projects:
            if entry.name == project and entry.path:
                folder = Path(entry.path).expanduser()
                return folder.resolve() if folder.is_dir() else None
        return None
