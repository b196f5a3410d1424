"""NoteIndex over Basic Memory's index (`search_notes`, `list_directory`), for sweeps.

It shares the spec store's client, so a process pays the ~5 s server start once, and every
argument is checked against `TOOL_ARGUMENTS` (the contract test pins these two tools with
the others).

Searches always name the project, ask for JSON and for `search_type="text"` (semantic search
falls back to keywords on hosts without sqlite extension loading, so only text search gives
the same results everywhere), and page until Basic Memory says there is no more.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from specmill.adapters.basic_memory.client import BasicMemoryClient, checked, tool_failed
from specmill.errors import SpecmillError
from specmill.ports.note_index import NoteRef

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


Page = TypeVar("Page", _SearchPage, _FolderPage)


class BasicMemoryNoteIndex:
    """NoteIndex over a BasicMemoryClient (the spec store's, to share its session)."""

    def __init__(self, client: BasicMemoryClient) -> None:
        self.client = client

    def search(
        self,
        project: str,
        *,
        note_types: list[str] | None = None,
        metadata_filters: dict[str, object] | None = None,
    ) -> list[NoteRef]:
        found: list[NoteRef] = []
        for page in range(1, MAX_PAGES + 1):
            arguments: dict[str, Any] = {
                "project": project,
                "output_format": "json",
                "search_type": "text",
                "compact": True,
                "page": page,
                "page_size": SEARCH_PAGE_SIZE,
            }
            if note_types:
                arguments["note_types"] = note_types
            if metadata_filters:
                arguments["metadata_filters"] = metadata_filters
            batch = self._page(_SearchPage, "search_notes", arguments, project)
            found += [
                NoteRef(
                    permalink=hit.permalink,
                    title=hit.title,
                    file_path=hit.file_path,
                    note_type=str((hit.metadata or {}).get("note_type") or ""),
                )
                for hit in batch.results
                if hit.type == "entity" and hit.permalink
            ]
            if not batch.has_more or not batch.results:
                return found
        raise SpecmillError(f"Basic Memory search_notes in project {project!r} did not stop after {MAX_PAGES} pages")

    def list_folder(self, project: str, folder: str) -> list[NoteRef]:
        found: list[NoteRef] = []
        for page in range(1, MAX_PAGES + 1):
            arguments: dict[str, Any] = {
                "project": project,
                "dir_name": "/" + folder.strip("/"),
                "depth": FOLDER_DEPTH,
                "output_format": "json",
                "page": page,
                "page_size": FOLDER_PAGE_SIZE,
            }
            batch = self._page(_FolderPage, "list_directory", arguments, project)
            found += [
                NoteRef(
                    permalink=node.permalink,
                    title=node.title or "",
                    file_path=node.file_path or "",
                    note_type=node.note_type or "",
                )
                for node in batch.nodes
                if node.type == "file" and node.permalink
            ]
            if not batch.has_more or not batch.nodes:
                return found
        raise SpecmillError(f"Basic Memory list_directory {folder!r} did not stop after {MAX_PAGES} pages")

    def _page(self, shape: type[Page], tool: str, arguments: dict[str, Any], project: str) -> Page:
        answer = self.client.call_tool(tool, arguments)
        data = checked(answer, tool=tool, project=project)
        try:
            return shape.model_validate(data)
        except ValidationError:
            raise tool_failed(answer, tool=tool, project=project) from None
