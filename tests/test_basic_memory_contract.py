"""Pins the Basic Memory tool schemas specmill relies on, so an upgrade that changes them fails here."""

from __future__ import annotations

from typing import Any

import pytest

from specmill.adapters.basic_memory.client import TOOL_ARGUMENTS
from tests.fixtures.basic_memory import BasicMemoryInstance

pytestmark = pytest.mark.basic_memory

# Tool -> (required parameters, parameters specmill sends), as of basic-memory 0.24.1.
PINNED: dict[str, tuple[set[str], set[str]]] = {
    "read_note": (
        {"identifier"},
        {"identifier", "project", "output_format", "include_frontmatter", "include_content"},
    ),
    "edit_note": (
        {"identifier", "operation", "content"},
        {
            "identifier",
            "project",
            "operation",
            "find_text",
            "content",
            "expected_replacements",
            "expected_checksum",
            "output_format",
        },
    ),
    "write_note": (
        {"title", "content", "directory"},
        {"title", "directory", "content", "project", "overwrite", "output_format"},
    ),
    # Sweeps list notes with these two (adapters/basic_memory/note_index.py).
    "search_notes": (
        set(),
        {"project", "output_format", "search_type", "compact", "page", "page_size", "note_types", "metadata_filters"},
    ),
    "list_directory": (set(), {"project", "dir_name", "depth", "output_format", "page", "page_size"}),
    # The project's folder, to read a note file the index has not caught up with (note_files.py).
    "list_memory_projects": (set(), {"output_format"}),
}


@pytest.fixture(scope="module")
def tools(basic_memory: BasicMemoryInstance) -> dict[str, dict[str, Any]]:
    return basic_memory.client.list_tools()


def test_adapter_sends_only_pinned_arguments() -> None:
    sent = {name: set(args) for name, args in TOOL_ARGUMENTS.items()}
    assert sent == {name: used for name, (_, used) in PINNED.items()}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_tool_parameters(tools: dict[str, dict[str, Any]], name: str) -> None:
    assert name in tools, f"Basic Memory no longer offers {name}"
    schema = tools[name]
    required, used = PINNED[name]
    assert set(schema.get("required", [])) == required
    missing = used - set(schema.get("properties", {}))
    assert not missing, f"{name} lost parameters specmill sends: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(PINNED))
def test_json_output_is_offered(tools: dict[str, dict[str, Any]], name: str) -> None:
    assert "json" in tools[name]["properties"]["output_format"]["enum"]


def test_edit_note_still_has_find_replace(tools: dict[str, dict[str, Any]]) -> None:
    assert "find_replace" in tools["edit_note"]["properties"]["operation"]["enum"]
