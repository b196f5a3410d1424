"""Spec store port: where spec notes are read from and written back to."""

from __future__ import annotations

from typing import Protocol

from specmill.models import Note


class SpecStore(Protocol):
    def read_note(self, identifier: str, project: str) -> Note:
        """Return the whole note (frontmatter included) with its checksum.

        `identifier` is a permalink, a title or a memory:// URL.
        Raises `SpecNotFound` when there is no such note.
        """
        ...

    def replace_note(self, note: Note, new_content: str) -> Note:
        """Write `new_content` as the note's whole text if it still has `note.checksum`.

        Raises `NoteConflict` when someone changed the note in between (compare-and-swap).
        Returns the note as stored afterwards.
        """
        ...
