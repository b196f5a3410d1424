"""In-process SpecStore fake with Basic Memory's semantics, for fast unit tests.

Checksums are sha256 of the whole text, as Basic Memory's are, so compare-and-swap
behaves the same. `inject_conflict` simulates a person saving the note between
specmill's read and its write.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable

from specmill.errors import NoteConflict, SpecNotFound
from specmill.models import Note

Edit = Callable[[str], str]


def content_checksum(content: str) -> str:
    """Basic Memory's checksum: sha256 of the note's whole text."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class MemorySpecStore:
    """Notes keyed by (project, permalink); thread-safe; counts reads and writes."""

    def __init__(self) -> None:
        self._notes: dict[tuple[str, str], Note] = {}
        self._lock = threading.Lock()
        self._pending_conflicts: list[Edit] = []
        self.reads = 0
        self.writes = 0

    # -- setup and inspection ------------------------------------------------------------

    def write_note(self, project: str, title: str, folder: str, content: str) -> Note:
        """Create or overwrite a note; the permalink is `folder/slug(title)` like Basic Memory's."""
        permalink = "/".join(part for part in (folder.strip("/"), _slug(title)) if part)
        return self.put(project, permalink, content, title=title)

    def put(self, project: str, permalink: str, content: str, *, title: str | None = None) -> Note:
        note = Note(
            project=project,
            permalink=permalink,
            title=title or permalink.rsplit("/", 1)[-1],
            content=content,
            checksum=content_checksum(content),
        )
        with self._lock:
            self._notes[(project, permalink)] = note
        return note

    def content(self, project: str, permalink: str) -> str:
        with self._lock:
            return self._notes[(project, permalink)].content

    def edit_as_person(self, project: str, permalink: str, edit: Edit) -> Note:
        """Change a note outside specmill, as someone in their editor would."""
        with self._lock:
            return self._edit_locked(project, permalink, edit)

    def inject_conflict(self, edit: Edit | None = None) -> None:
        """Make the next `replace_note` lose its compare-and-swap.

        Just before that write lands, `edit` (default: append a line) is applied to the
        stored note, so the write sees a changed checksum and raises NoteConflict.
        Call it several times to make several consecutive writes lose.
        """
        with self._lock:
            self._pending_conflicts.append(edit or (lambda text: text + "\nEdited by a person meanwhile.\n"))

    # -- SpecStore port ------------------------------------------------------------------

    def read_note(self, identifier: str, project: str) -> Note:
        with self._lock:
            self.reads += 1
            note = self._resolve(identifier, project)
            if note is None:
                raise SpecNotFound(
                    f"spec note {identifier!r} not found in Basic Memory project {project!r}: "
                    "check the permalink, title or memory:// URL and the project name"
                )
            return note.model_copy()

    def replace_note(self, note: Note, new_content: str) -> Note:
        with self._lock:
            if self._pending_conflicts:
                self._edit_locked(note.project, note.permalink, self._pending_conflicts.pop(0))
            current = self._notes.get((note.project, note.permalink))
            if current is None or note.checksum is None or current.checksum != note.checksum:
                raise NoteConflict(
                    f"note {note.permalink!r} in project {note.project!r} changed since it was read "
                    "(NOTE_REVISION_CONFLICT); read it again and retry"
                )
            if new_content == current.content:
                return current.model_copy()
            self.writes += 1
            stored = current.model_copy(update={"content": new_content, "checksum": content_checksum(new_content)})
            self._notes[(note.project, note.permalink)] = stored
            return stored.model_copy()

    # -- internals -----------------------------------------------------------------------

    def _edit_locked(self, project: str, permalink: str, edit: Edit) -> Note:
        current = self._notes[(project, permalink)]
        text = edit(current.content)
        edited = current.model_copy(update={"content": text, "checksum": content_checksum(text)})
        self._notes[(project, permalink)] = edited
        return edited

    def _resolve(self, identifier: str, project: str) -> Note | None:
        key = identifier.strip()
        if key.startswith("memory://"):
            key = key.removeprefix("memory://")
            if key.startswith(f"{project}/") and (project, key) not in self._notes:
                key = key.removeprefix(f"{project}/")
        if (project, key) in self._notes:
            return self._notes[(project, key)]
        wanted = key.casefold()
        for (note_project, _), note in self._notes.items():
            if note_project == project and note.title.casefold() == wanted:
                return note
        return None
