"""BasicMemorySpecStore against the real basic-memory MCP server (one session for the run)."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from specmill.adapters.basic_memory import BasicMemorySpecStore, basic_memory_env
from specmill.config import Settings
from specmill.errors import BasicMemoryUnavailable, NoteConflict, SpecNotFound
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


def status_section(run_id: str, status: str = "succeeded") -> str:
    return render_status_section(
        run_id=run_id, status=status, branch="specmill/x", head_commit="abc1234",
        tests=None, verdict=None, iteration=1, max_iterations=3,
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
    with pytest.raises(SpecNotFound, match="project 'no-such-project' not found"):
        basic_memory.store.read_note("specs/no-such-spec", "no-such-project")


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
    store = BasicMemorySpecStore(command="specmill-no-such-basic-memory mcp", env=basic_memory_env(os.environ))
    started = time.monotonic()
    with pytest.raises(BasicMemoryUnavailable) as caught:
        store.read_note("x", "specs")
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert "specmill-no-such-basic-memory" in message and "SPECMILL_BASIC_MEMORY_COMMAND" in message
    assert "\n" not in message


@pytest.mark.parametrize("command", ["false", "sh -c 'echo cannot open database >&2; exit 3'"])
def test_server_that_exits_early_is_unavailable(command: str) -> None:
    store = BasicMemorySpecStore(command=command, env=basic_memory_env({"PATH": "/usr/bin:/bin"}), start_timeout_s=10)
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
    store = BasicMemorySpecStore(command=silent, env=basic_memory_env({"PATH": "/usr/bin:/bin"}), start_timeout_s=0.5)
    with pytest.raises(BasicMemoryUnavailable, match="did not finish starting within 0.5s"):
        store.read_note("x", "specs")


def test_from_settings_shares_one_store_per_process() -> None:
    settings = Settings(basic_memory_command="basic-memory mcp")
    shared = BasicMemorySpecStore.from_settings(settings)
    assert BasicMemorySpecStore.from_settings(settings) is shared
    shared.close()
    assert BasicMemorySpecStore.from_settings(settings) is not shared


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
