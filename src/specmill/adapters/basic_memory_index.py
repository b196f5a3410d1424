"""Listing notes through Basic Memory's index (`search_notes`, `list_directory`), for sweeps.

It rides on the spec store's MCP session, so a process pays the ~5 s server start once, and
on the store's `_call`, which checks every argument against `TOOL_ARGUMENTS` (the contract
test pins these two tools with the others). It lives beside `basic_memory.py` because that
file is at the 400-line cap.

Searches always name the project, ask for JSON and for `search_type="text"` (the same
results on every host), and page until Basic Memory says there is no more.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from specmill.adapters.basic_memory import BasicMemorySpecStore, _one_line, _ToolAnswer
from specmill.errors import BadInput, SpecmillError
from specmill.sweep.models import NoteRef

SEARCH_PAGE_SIZE = 500  # one round trip costs more than a long page (measured)
FOLDER_PAGE_SIZE = 200  # list_directory's maximum
FOLDER_DEPTH = 10  # list_directory's maximum
MAX_PAGES = 10_000


class _Hit(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = "entity"
    title: str = ""
    permalink: str | None = None
    file_path: str = ""
    metadata: dict[str, Any] | None = None


class _SearchPage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    results: list[_Hit]
    has_more: bool = False


class _Node(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    title: str | None = None
    permalink: str | None = None
    file_path: str | None = None
    note_type: str | None = None


class _FolderPage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    nodes: list[_Node]
    has_more: bool = False


class BasicMemoryNoteIndex:
    """NoteIndex over a BasicMemorySpecStore's session."""

    def __init__(self, store: BasicMemorySpecStore) -> None:
        self.store = store

    def search(
        self, project: str, *, note_types: list[str] | None = None, metadata_filters: dict[str, object] | None = None,
    ) -> list[NoteRef]:
        found: list[NoteRef] = []
        for page in range(1, MAX_PAGES + 1):
            arguments: dict[str, Any] = {
                "project": project, "output_format": "json", "search_type": "text", "compact": True,
                "page": page, "page_size": SEARCH_PAGE_SIZE,
            }
            if note_types:
                arguments["note_types"] = note_types
            if metadata_filters:
                arguments["metadata_filters"] = metadata_filters
            batch = self._page(_SearchPage, "search_notes", arguments, project)
            found += [
                NoteRef(permalink=hit.permalink, title=hit.title, file_path=hit.file_path,
                        note_type=str((hit.metadata or {}).get("note_type") or ""))
                for hit in batch.results if hit.type == "entity" and hit.permalink
            ]
            if not batch.has_more or not batch.results:
                return found
        raise SpecmillError(f"Basic Memory search_notes in project {project!r} did not stop after {MAX_PAGES} pages")

    def list_folder(self, project: str, folder: str) -> list[NoteRef]:
        found: list[NoteRef] = []
        for page in range(1, MAX_PAGES + 1):
            arguments: dict[str, Any] = {
                "project": project, "dir_name": "/" + folder.strip("/"), "depth": FOLDER_DEPTH,
                "output_format": "json", "page": page, "page_size": FOLDER_PAGE_SIZE,
            }
            batch = self._page(_FolderPage, "list_directory", arguments, project)
            found += [
                NoteRef(permalink=node.permalink, title=node.title or "", file_path=node.file_path or "",
                        note_type=node.note_type or "")
                for node in batch.nodes if node.type == "file" and node.permalink
            ]
            if not batch.has_more or not batch.nodes:
                return found
        raise SpecmillError(f"Basic Memory list_directory {folder!r} did not stop after {MAX_PAGES} pages")

    def _page(self, shape: type[_SearchPage] | type[_FolderPage], tool: str, arguments: dict[str, Any], project: str) -> Any:
        answer: _ToolAnswer = self.store._call(tool, arguments)
        if not answer.is_error and answer.data is not None:
            try:
                return shape.model_validate(answer.data)
            except ValidationError:
                pass
        if "project not found" in answer.text.lower() or "not found in configuration" in answer.text.lower():
            raise BadInput(
                f"Basic Memory project {project!r} not found: check the project name "
                "(--project or SPECMILL_PROJECT) against 'basic-memory project list'"
            )
        raise SpecmillError(f"Basic Memory {tool} in project {project!r} failed: {_one_line(answer.text)}")
