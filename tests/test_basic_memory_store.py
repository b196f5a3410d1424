"""BasicMemorySpecStore and BasicMemoryNoteIndex against the real basic-memory MCP server (one session for the run)."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from specmill.adapters.basic_memory import BasicMemoryClient, BasicMemorySpecStore, McpTransport, basic_memory_env
from specmill.adapters.basic_memory.client import ToolAnswer, checked
from specmill.config import Settings
from specmill.errors import (
    BadInput,
    BasicMemoryUnavailable,
    NoteConflict,
    ProjectNotFound,
    SpecmillError,
    SpecNotFound,
)
from specmill.models import Note
from specmill.phases.read_spec import read_spec
from specmill.phases.update_spec import merge_status, render_status_section, update_spec
from tests.fixtures.basic_memory import BasicMemoryInstance

pytestmark = pytest.mark.basic_memory

SPEC = """---
status: draft
owner: ana
---

# {title}

Written by a person.

## How to Evaluate
- [ ] GET /todos returns a list
- [ ] POST /todos creates a todo

## Notes
Keep this text.
"""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def store_at(command: str, env: dict[str, str], start_timeout_s: float = 60.0) -> BasicMemorySpecStore:
    """A store with its own transport, for the tests of starting (and failing to start) a server."""
    transport = McpTransport(command=command, env=env, start_timeout_s=start_timeout_s)
    return BasicMemorySpecStore(BasicMemoryClient(transport))


def status_section(run_id: str, status: str = "succeeded") -> str:
    return render_status_section(
        run_id=run_id,
        status=status,
        branch="specmill/x",
        head_commit="abc1234",
        tests=None,
        verdict=None,
        iteration=1,
        max_iterations=3,
    )


def test_read_by_permalink_title_and_memory_url(basic_memory: BasicMemoryInstance) -> None:
    written = basic_memory.write_spec("Read Me Spec", SPEC.format(title="Read Me Spec"))
    assert written.permalink == "specs/read-me-spec"
    assert written.content.startswith("---\n") and "owner: ana" in written.content
    assert written.checksum == sha256(written.content)
    for identifier in ("specs/read-me-spec", "Read Me Spec", "memory://specs/read-me-spec"):
        note = basic_memory.store.read_note(identifier, basic_memory.project)
        assert note == written, identifier
    spec = read_spec(basic_memory.store, "specs/read-me-spec", basic_memory.project)
    assert [c.text for c in spec.criteria] == ["GET /todos returns a list", "POST /todos creates a todo"]
    assert spec.frontmatter["status"] == "draft"


def test_missing_note_is_spec_not_found(basic_memory: BasicMemoryInstance) -> None:
    with pytest.raises(SpecNotFound) as caught:
        basic_memory.store.read_note("specs/no-such-spec", basic_memory.project)
    message = str(caught.value)
    assert "'specs/no-such-spec'" in message and "'specs'" in message and "\n" not in message


def test_a_missing_project_is_one_error_from_the_store_and_the_index(basic_memory: BasicMemoryInstance) -> None:
    """Every tool answers a missing project alike, so the store and the index raise alike: one
    `ProjectNotFound` (a `BadInput`, exit code 2), one line naming the project and the fix."""
    project = "no-such-project"
    calls = {
        "read_note": lambda: basic_memory.store.read_note("specs/no-such-spec", project),
        "write_note": lambda: basic_memory.store.write_note(project, "Nowhere", "specs", "# Nowhere\n"),
        "edit_note": lambda: basic_memory.store.replace_note(
            Note(project=project, permalink="specs/x", title="x", content="old", checksum=sha256("old")), "new"
        ),
        "search_notes": lambda: basic_memory.index.search(project, note_types=["spec"]),
        "list_directory": lambda: basic_memory.index.list_folder(project, "specs"),
    }
    messages = set()
    for tool, call in calls.items():
        with pytest.raises(ProjectNotFound) as caught:
            call()
        assert type(caught.value) is ProjectNotFound and isinstance(caught.value, BadInput), tool
        messages.add(str(caught.value))
    assert messages == {
        "Basic Memory project 'no-such-project' not found: check the project name "
        "(--project or SPECMILL_PROJECT) against 'basic-memory project list'"
    }


@pytest.mark.parametrize(
    ("answer", "subject", "error", "words"),
    [
        (ToolAnswer(is_error=True, text="Project not found: 'p'"), "n", ProjectNotFound, "project 'p' not found"),
        (
            ToolAnswer(is_error=True, text="Project 'p' not found in configuration"),
            None,
            ProjectNotFound,
            "project 'p'",
        ),
        (
            ToolAnswer(is_error=False, text="{}", data={"error": "NOTE_NOT_FOUND"}),
            "n",
            SpecNotFound,
            "spec note 'n' not",
        ),
        (ToolAnswer(is_error=True, text="Project p has never been indexed"), "n", SpecNotFound, "no indexed notes"),
        (ToolAnswer(is_error=True, text="Project p has never been indexed"), None, BadInput, "project index p"),
        (ToolAnswer(is_error=True, text="Ambiguous identifier 'n'"), "n", SpecNotFound, "ambiguous"),
        (
            ToolAnswer(is_error=True, text="{}", data={"error": "NOTE_REVISION_CONFLICT"}),
            "n",
            NoteConflict,
            "(NOTE_REVISION_CONFLICT)",
        ),
        (
            ToolAnswer(is_error=True, text="{}", data={"error": "EDIT_OUTCOME_UNKNOWN"}),
            "n",
            NoteConflict,
            "read it again",
        ),
        (ToolAnswer(is_error=True, text="boom\nat line 2"), "n", SpecmillError, "t 'n' failed: boom at line 2"),
        (ToolAnswer(is_error=False, text="# No Search Criteria"), None, SpecmillError, "t in project 'p' failed: # No"),
    ],
)
def test_one_reading_of_every_failed_answer(
    answer: ToolAnswer,
    subject: str | None,
    error: type[Exception],
    words: str,
) -> None:
    with pytest.raises(error) as caught:
        checked(answer, tool="t", project="p", subject=subject)
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert checked(ToolAnswer(is_error=False, text="{}", data={"ok": 1}), tool="t", project="p") == {"ok": 1}


def test_replace_note_is_a_whole_text_compare_and_swap(basic_memory: BasicMemoryInstance) -> None:
    note = basic_memory.write_spec("Replace Spec", SPEC.format(title="Replace Spec"))
    new_content = note.content.replace("owner: ana\n", "").replace("Keep this text.", "Changed.") + "\nTail\n"
    replaced = basic_memory.store.replace_note(note, new_content)
    assert replaced.content == new_content
    assert replaced.checksum == sha256(new_content)
    assert basic_memory.store.read_note(note.permalink, basic_memory.project) == replaced

    with pytest.raises(NoteConflict, match="changed since it was read"):
        basic_memory.store.replace_note(note, note.content + "\nstale write\n")
    assert basic_memory.store.read_note(note.permalink, basic_memory.project).content == new_content


def test_dropping_the_permalink_returns_the_note_as_stored(basic_memory: BasicMemoryInstance) -> None:
    note = basic_memory.write_spec("Normalised Spec", "# Normalised Spec\n\nBody.\n")
    replaced = basic_memory.store.replace_note(note, "---\nstatus: failed\n---\n\n# Normalised Spec\n\nBody.\n")
    assert "permalink: specs/normalised-spec" in replaced.content
    assert "status: failed" in replaced.content
    assert replaced.checksum == sha256(replaced.content)
    assert basic_memory.store.read_note(note.permalink, basic_memory.project) == replaced


class _PersonEditsFirst:
    """Wraps the real store: a person saves the note just before specmill's first write."""

    def __init__(self, store: BasicMemorySpecStore) -> None:
        self.store = store
        self.conflicts = 0

    def read_note(self, identifier: str, project: str) -> Note:
        return self.store.read_note(identifier, project)

    def write_note(self, project: str, title: str, folder: str, content: str) -> Note:
        return self.store.write_note(project, title, folder, content)

    def replace_note(self, note: Note, new_content: str) -> Note:
        if self.conflicts == 0:
            self.conflicts += 1
            edited = note.content.replace("Written by a person.", "Edited by a person meanwhile.")
            self.store.replace_note(note, edited)
        return self.store.replace_note(note, new_content)


def test_update_spec_end_to_end(basic_memory: BasicMemoryInstance) -> None:
    note = basic_memory.write_spec("Update Spec", SPEC.format(title="Update Spec"))
    store = _PersonEditsFirst(basic_memory.store)
    first = update_spec(store, basic_memory.project, note.permalink, status_section("run-1", "failed"), "failed")
    assert store.conflicts == 1
    assert "Edited by a person meanwhile." in first.content

    for run in ("run-2", "run-3"):
        update_spec(basic_memory.store, basic_memory.project, note.permalink, status_section(run), "succeeded")
    stored = basic_memory.store.read_note(note.permalink, basic_memory.project)
    assert stored.content.count("## Implementation Status") == 1
    assert "`run-3`" in stored.content and "`run-1`" not in stored.content
    assert "\nstatus: succeeded\n" in stored.content and "owner: ana" in stored.content
    assert "## Notes\nKeep this text.\n" in stored.content
    assert stored.content == merge_status(stored.content, status_section("run-3"), "succeeded")
    assert read_spec(basic_memory.store, note.permalink, basic_memory.project).frontmatter["status"] == "succeeded"


def test_missing_command_is_unavailable_quickly() -> None:
    store = store_at("specmill-no-such-basic-memory mcp", basic_memory_env(os.environ))
    started = time.monotonic()
    with pytest.raises(BasicMemoryUnavailable) as caught:
        store.read_note("x", "specs")
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert "specmill-no-such-basic-memory" in message and "SPECMILL_BASIC_MEMORY_COMMAND" in message
    assert "\n" not in message


@pytest.mark.parametrize("command", ["false", "sh -c 'echo cannot open database >&2; exit 3'"])
def test_server_that_exits_early_is_unavailable(command: str) -> None:
    store = store_at(command, basic_memory_env({"PATH": "/usr/bin:/bin"}), start_timeout_s=10)
    started = time.monotonic()
    with pytest.raises(BasicMemoryUnavailable) as caught:
        store.read_note("x", "specs")
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "SPECMILL_BASIC_MEMORY_COMMAND" in message and "\n" not in message
    if "echo" in command:
        assert "cannot open database" in message
    store.close()


def test_server_that_never_answers_times_out() -> None:
    silent = "sh -c 'cat >/dev/null'"  # reads the handshake, never answers, exits when stdin closes
    store = store_at(silent, basic_memory_env({"PATH": "/usr/bin:/bin"}), start_timeout_s=0.5)
    with pytest.raises(BasicMemoryUnavailable, match="did not finish starting within 0.5s"):
        store.read_note("x", "specs")


def test_from_settings_shares_one_session_per_process() -> None:
    settings = Settings(basic_memory_command="basic-memory mcp")
    shared = BasicMemorySpecStore.from_settings(settings)
    assert BasicMemorySpecStore.from_settings(settings).client is shared.client
    assert BasicMemoryClient.from_settings(settings) is shared.client
    shared.close()
    assert BasicMemorySpecStore.from_settings(settings).client is not shared.client


def test_update_check_switches() -> None:
    env = basic_memory_env({"PATH": "/bin", "BASIC_MEMORY_AUTO_UPDATE": "true"})
    assert env == {"PATH": "/bin", "BASIC_MEMORY_AUTO_UPDATE": "false", "FASTMCP_CHECK_FOR_UPDATES": "off"}


def test_concurrent_updates_from_threads_converge(basic_memory: BasicMemoryInstance) -> None:
    from concurrent.futures import ThreadPoolExecutor

    note = basic_memory.write_spec("Concurrent Spec", SPEC.format(title="Concurrent Spec"))

    def update(run: str) -> Note:
        return update_spec(
            basic_memory.store, basic_memory.project, note.permalink, status_section(run), "succeeded", max_attempts=10
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(update, [f"run-{n}" for n in range(4)]))
    stored = basic_memory.store.read_note(note.permalink, basic_memory.project)
    assert stored.content.count("## Implementation Status") == 1
    assert stored.checksum == sha256(stored.content)
