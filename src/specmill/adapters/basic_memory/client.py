"""The Basic Memory tools specmill calls, over one transport, and what their answers mean.

Every tool and argument specmill sends is declared in `TOOL_ARGUMENTS`, which
tests/test_basic_memory_contract.py pins against the running server's schemas, so an upgrade
that renames one fails loudly there instead of quietly here.

Answers are asked for as JSON (`output_format="json"`), and `checked` is the one reading of
what went wrong, shared by the spec store and the note index. Verified against basic-memory
0.24.1: every tool answers a missing project as a tool error "Project not found: 'NAME'";
a missing note is *not* a tool error but `error: "NOTE_NOT_FOUND"` in the JSON; reading by a
title that two folders share fails as "Ambiguous identifier"; `edit_note` answers a stale
`expected_checksum` with `NOTE_REVISION_CONFLICT` (and a missing note with it too).
"""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar

from pydantic import BaseModel

from specmill.adapters.basic_memory.transport import McpTransport, one_line
from specmill.config import Settings
from specmill.errors import BadInput, NoteConflict, ProjectNotFound, SpecmillError, SpecNotFound

# Every tool and argument specmill sends; tests/test_basic_memory_contract.py pins them.
TOOL_ARGUMENTS: dict[str, frozenset[str]] = {
    "read_note": frozenset({"identifier", "project", "output_format", "include_frontmatter", "include_content"}),
    "edit_note": frozenset(
        {
            "identifier",
            "project",
            "operation",
            "find_text",
            "content",
            "expected_replacements",
            "expected_checksum",
            "output_format",
        }
    ),
    "write_note": frozenset({"title", "directory", "content", "project", "overwrite", "output_format"}),
    "search_notes": frozenset(
        {"project", "output_format", "search_type", "compact", "page", "page_size", "note_types", "metadata_filters"}
    ),
    "list_directory": frozenset({"project", "dir_name", "depth", "output_format", "page", "page_size"}),
    "list_memory_projects": frozenset({"output_format"}),
}
# EDIT_OUTCOME_UNKNOWN too: re-reading is exactly the right recovery when a write may have landed.
CONFLICT_ERRORS = frozenset({"NOTE_REVISION_CONFLICT", "EDIT_OUTCOME_UNKNOWN"})


class ToolAnswer(BaseModel):
    """One tool call reduced to what we branch on: the error flag, the text, and its JSON object if any."""

    is_error: bool
    text: str
    data: dict[str, Any] | None = None


class BasicMemoryClient:
    """Basic Memory's tools as plain synchronous calls; thread-safe, one session per transport."""

    _shared: ClassVar[dict[tuple[str | None, str, float], BasicMemoryClient]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, transport: McpTransport) -> None:
        self.transport = transport

    @classmethod
    def from_settings(cls, settings: Settings) -> BasicMemoryClient:
        """The process-wide client for these settings: the 5 s MCP start is paid once."""
        key = (settings.basic_memory_url, settings.basic_memory_command, settings.basic_memory_start_timeout_s)
        with cls._shared_lock:
            if key not in cls._shared:
                transport = McpTransport(command=key[1], url=key[0], start_timeout_s=key[2])
                cls._shared[key] = cls(transport)
            return cls._shared[key]

    def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolAnswer:
        """Call one declared tool; the answer's JSON comes from the structured content, else from the text."""
        assert set(arguments) <= TOOL_ARGUMENTS[name], f"undeclared {name} arguments; update TOOL_ARGUMENTS"
        timeout = self.transport.call_timeout_s
        result = self.transport.run(
            name, lambda client: client.call_tool(name, arguments, read_timeout_seconds=timeout)
        )
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        structured = result.structured_content
        data = structured.get("result") if isinstance(structured, dict) else None
        if not isinstance(data, dict):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
        return ToolAnswer(is_error=bool(result.is_error), text=text, data=data if isinstance(data, dict) else None)

    def list_tools(self) -> dict[str, dict[str, Any]]:
        """Tool name -> JSON input schema, as the running server advertises them."""
        listing = self.transport.run("list_tools", lambda client: client.list_tools())
        return {tool.name: dict(tool.input_schema) for tool in listing.tools}

    def close(self) -> None:
        """Stop the session; a later call starts anew, and `from_settings` hands out a new client."""
        self.transport.close()
        with self._shared_lock:
            for key, client in list(self._shared.items()):
                if client is self:
                    del self._shared[key]


def checked(answer: ToolAnswer, *, tool: str, project: str, subject: str | None = None) -> dict[str, Any]:
    """The answer's JSON object, or the exception that says what went wrong, alike for every tool.

    `subject` is the note the call is about (an identifier, a permalink or a title), when there
    is one; it goes into the message.
    """
    code = str((answer.data or {}).get("error") or "")
    if code == "NOTE_NOT_FOUND":
        raise note_not_found(subject or "", project)
    if not answer.is_error and answer.data is not None:
        return answer.data
    lowered = answer.text.lower()
    if "project not found" in lowered or "not found in configuration" in lowered:
        raise ProjectNotFound(
            f"Basic Memory project {project!r} not found: check the project name "
            "(--project or SPECMILL_PROJECT) against 'basic-memory project list'"
        )
    if "never been indexed" in lowered:
        fix = f"run 'basic-memory project index {project}' if its folder holds notes"
        if subject is None:
            raise BadInput(f"Basic Memory project {project!r} has no indexed notes: {fix}")
        raise SpecNotFound(
            f"spec note {subject!r} not found: Basic Memory project {project!r} has no indexed notes ({fix})"
        )
    if subject is not None and "ambiguous" in lowered:
        raise SpecNotFound(
            f"spec identifier {subject!r} is ambiguous in Basic Memory project {project!r}: use the note's permalink"
        )
    if code in CONFLICT_ERRORS or "changed concurrently" in lowered or "revision conflict" in lowered:
        raise NoteConflict(
            f"note {subject!r} in project {project!r} changed since it was read "
            f"({code or 'conflict'}); read it again and retry"
        )
    raise tool_failed(answer, tool=tool, project=project, subject=subject)


def note_not_found(identifier: str, project: str) -> SpecNotFound:
    """The missing-note error, which NOTE_NOT_FOUND and an answer without the note's text both mean."""
    return SpecNotFound(
        f"spec note {identifier!r} not found in Basic Memory project {project!r}: "
        "check the permalink, title or memory:// URL and the project name"
    )


def tool_failed(answer: ToolAnswer, *, tool: str, project: str, subject: str | None = None) -> SpecmillError:
    """An answer nothing above explains: say which call, and what the server said."""
    what = repr(subject) if subject is not None else f"in project {project!r}"
    return SpecmillError(f"Basic Memory {tool} {what} failed: {one_line(answer.text)}")
