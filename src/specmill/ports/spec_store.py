"""Spec store port: where spec notes are read from and written back to, and its fake.

`MemorySpecStore` is the in-process fake with Basic Memory's semantics, for fast tests. It
lives beside the port because only tests and benchmarks use it: checksums are sha256 of the
whole text, as Basic Memory's are, so compare-and-swap behaves the same; `inject_conflict`
simulates a person saving the note between specmill's read and its write. It is a
`NoteIndex` too, reading `type:` and other keys from each note's frontmatter, so a sweep runs
on it as on Basic Memory.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from typing import Any, Protocol

from specmill.errors import NoteConflict, SpecNotFound
from specmill.models import Note
from specmill.ports.note_index import NoteRef

Edit = Callable[[str], str]
_FRONTMATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|\Z)", re.DOTALL)


class SpecStore(Protocol):
    def read_note(self, identifier: str, project: str) -> Note:
        """Return the whole note (frontmatter included) with its checksum.

        `identifier` is a permalink, a title or a memory:// URL.
        Raises `SpecNotFound` when there is no such note, `ProjectNotFound` when there is no such project.
        """
        ...

    def replace_note(self, note: Note, new_content: str) -> Note:
        """Write `new_content` as the note's whole text if it still has `note.checksum`.

        Raises `NoteConflict` when someone changed the note in between (compare-and-swap).
        Returns the note as stored afterwards.
        """
        ...

    def write_note(self, project: str, title: str, folder: str, content: str) -> Note:
        """Create (or overwrite) the note `title` in `folder`; return it as stored, frontmatter included.

        For notes specmill owns (a sweep's report), never for a person's spec: use `replace_note` there.
        """
        ...


def content_checksum(content: str) -> str:
    """Basic Memory's checksum: sha256 of the note's whole text."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _frontmatter(content: str) -> dict[str, Any]:
    """The note's frontmatter keys, or none when it has no valid block (as Basic Memory indexes it)."""
    block = _FRONTMATTER.match(content)
    if not block:
        return {}
    import yaml  # here: reading a spec through this port's Protocol needs no YAML

    try:
        data = yaml.safe_load(block.group(1))
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _matches(value: object, wanted: object) -> bool:
    options = wanted.get("$in", []) if isinstance(wanted, dict) else [wanted]
    return value is not None and str(value) in {str(option) for option in options}


class MemorySpecStore:
    """Notes keyed by (project, permalink); thread-safe; counts reads and writes.

    A project is any name: one nobody wrote to is empty, never missing. A note's file path is
    its permalink plus `.md`.
    """

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

    # -- NoteIndex port ------------------------------------------------------------------

    def search(
        self,
        project: str,
        *,
        note_types: list[str] | None = None,
        metadata_filters: dict[str, object] | None = None,
    ) -> list[NoteRef]:
        """Like Basic Memory's: `note_types` read the lowercase `type:` only, values match exactly."""
        found = []
        for note in self._project_notes(project):
            frontmatter = _frontmatter(note.content)
            if note_types and str(frontmatter.get("type") or "note") not in note_types:
                continue
            if all(_matches(frontmatter.get(key), wanted) for key, wanted in (metadata_filters or {}).items()):
                found.append(self._ref(note, frontmatter))
        return found

    def list_folder(self, project: str, folder: str) -> list[NoteRef]:
        prefix = folder.strip("/") + "/"
        return [
            self._ref(note, _frontmatter(note.content))
            for note in self._project_notes(project)
            if note.permalink.startswith(prefix)
        ]

    # -- internals -----------------------------------------------------------------------

    def _project_notes(self, project: str) -> list[Note]:
        with self._lock:
            return sorted((n for (p, _), n in self._notes.items() if p == project), key=lambda n: n.permalink)

    @staticmethod
    def _ref(note: Note, frontmatter: dict[str, Any]) -> NoteRef:
        return NoteRef(
            permalink=note.permalink,
            title=note.title,
            file_path=f"{note.permalink}.md",
            note_type=str(frontmatter.get("type") or "note"),
        )

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
