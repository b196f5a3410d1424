"""SpecStore over the real Basic Memory MCP server.

Verified against basic-memory 0.24.1: `read_note(output_format="json",
include_frontmatter=True)` returns the whole file and `checksum` = its sha256, which
`expected_checksum` takes; a missing note is `error: "NOTE_NOT_FOUND"`, not a tool error.
`edit_note(operation="find_replace", find_text=<whole old text>, expected_checksum=...)`
replaces the whole file byte for byte (`write_note(overwrite=True)` would merge
frontmatter keys instead); a stale checksum answers `NOTE_REVISION_CONFLICT`.

A note file edited on disk after the index's revision is read from the file until the index
catches up (`note_files`); its checksum is then the one the index will hold, so a write before
that conflicts and is retried.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from specmill.adapters.basic_memory.client import BasicMemoryClient, checked, note_not_found, tool_failed
from specmill.adapters.basic_memory.note_files import NoteFiles, newer_than
from specmill.config import Settings
from specmill.errors import NoteConflict, SpecmillError
from specmill.models import Note
from specmill.ports.spec_store import content_checksum


class _NotePayload(BaseModel):
    """read_note's JSON answer; every field optional because NOTE_NOT_FOUND nulls them."""

    model_config = ConfigDict(extra="ignore")

    title: str | None = None
    permalink: str | None = None
    content: str | None = None
    checksum: str | None = None
    file_path: str | None = None


class BasicMemorySpecStore:
    """SpecStore over Basic Memory's note tools; thread-safe, as its client is."""

    def __init__(self, client: BasicMemoryClient) -> None:
        self.client = client
        self.files = NoteFiles(client)

    @classmethod
    def from_settings(cls, settings: Settings) -> BasicMemorySpecStore:
        """A store over the process-wide client for these settings: one session per process."""
        return cls(BasicMemoryClient.from_settings(settings))

    def close(self) -> None:
        """Stop the client's session (and the server it started); a later call starts anew."""
        self.client.close()

    def read_note(self, identifier: str, project: str) -> Note:
        answer = self.client.call_tool(
            "read_note",
            {"identifier": identifier, "project": project, "output_format": "json", "include_frontmatter": True},
        )
        payload = _NotePayload.model_validate(checked(answer, tool="read_note", project=project, subject=identifier))
        if payload.content is None or payload.permalink is None:
            raise note_not_found(identifier, project)
        content, checksum = payload.content, payload.checksum
        on_disk = self.files.read(project, payload.file_path or "")
        if (
            on_disk is not None
            and on_disk.text != content
            and newer_than(on_disk, self._updated_at(payload.permalink, project))
        ):
            # The file was edited after the index's revision, which has not caught up yet (note_files.py).
            content, checksum = on_disk.text, content_checksum(on_disk.text)
        return Note(
            project=project,
            permalink=payload.permalink,
            title=payload.title or payload.permalink,
            content=content,
            checksum=checksum,
        )

    def _updated_at(self, identifier: str, project: str) -> str | None:
        """When the index accepted the note's current revision (read_note without the body)."""
        answer = self.client.call_tool(
            "read_note",
            {"identifier": identifier, "project": project, "output_format": "json", "include_content": False},
        )
        value = (answer.data or {}).get("updated_at")
        return str(value) if value else None

    def replace_note(self, note: Note, new_content: str) -> Note:
        """Whole-text compare-and-swap: find_replace of the entire old text, guarded by checksum."""
        if note.checksum is None:
            raise NoteConflict(f"note {note.permalink!r} was read without a checksum; read it again and retry")
        if new_content == note.content:
            return note
        if not note.content.strip():
            raise SpecmillError(f"note {note.permalink!r} in project {note.project!r} is empty; cannot replace it")
        answer = self.client.call_tool(
            "edit_note",
            {
                "identifier": note.permalink,
                "project": note.project,
                "operation": "find_replace",
                "find_text": note.content,
                "content": new_content,
                "expected_replacements": 1,
                "expected_checksum": note.checksum,
                "output_format": "json",
            },
        )
        data = checked(answer, tool="edit_note", project=note.project, subject=note.permalink)
        checksum = data.get("checksum")
        permalink = data.get("permalink") or note.permalink
        if checksum == content_checksum(new_content):
            return note.model_copy(update={"content": new_content, "checksum": checksum, "permalink": permalink})
        # The server normalised the text (for example it re-added a dropped permalink).
        return self.read_note(permalink, note.project)

    def write_note(self, project: str, title: str, folder: str, content: str) -> Note:
        """Create (or overwrite) a note and return it as stored, frontmatter included."""
        arguments: dict[str, Any] = {"title": title, "directory": folder, "content": content, "project": project}
        answer = self.client.call_tool("write_note", {**arguments, "overwrite": True, "output_format": "json"})
        permalink = checked(answer, tool="write_note", project=project, subject=title).get("permalink")
        if not permalink:
            raise tool_failed(answer, tool="write_note", project=project, subject=title)
        return self.read_note(str(permalink), project)

    def list_tools(self) -> dict[str, dict[str, Any]]:
        """Tool name -> JSON input schema, as the running server advertises them (the health check's probe)."""
        return self.client.list_tools()
