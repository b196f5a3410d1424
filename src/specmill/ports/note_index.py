"""Note index port: what a sweep asks of Basic Memory's index besides reading notes."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field


class NoteRef(BaseModel):
    """A note as Basic Memory's index lists it: enough to find it again, nothing of its text."""

    permalink: str
    title: str = ""
    file_path: str = Field(default="", description="Path inside the project folder, as Basic Memory indexed it.")
    note_type: str = Field(default="", description="Basic Memory's reading of the frontmatter `type:`.")


class NoteIndex(Protocol):
    def search(
        self,
        project: str,
        *,
        note_types: list[str] | None = None,
        metadata_filters: dict[str, object] | None = None,
    ) -> list[NoteRef]:
        """Every note matching the filters, all pages.

        `note_types` match the frontmatter `type:`; `metadata_filters` map a frontmatter key to a
        value or to `{"$in": [values]}`. Raises `ProjectNotFound` when there is no such project.
        """
        ...

    def list_folder(self, project: str, folder: str) -> list[NoteRef]:
        """Every note in `folder` and its sub-folders, all pages. Raises `ProjectNotFound` likewise."""
        ...
