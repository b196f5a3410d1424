"""render_status_section / merge_status / update_spec, against the in-process store."""

from __future__ import annotations

import pytest

from specmill.errors import NoteConflict
from specmill.models import CriterionVerdict, TestReport, Usage, Verdict
from specmill.phases.read_spec import parse_spec
from specmill.phases.update_spec import merge_status, render_status_section, update_spec
from specmill.ports.spec_store import MemorySpecStore, content_checksum

NOTE = """---
title: Todo API
status: draft
owner: ana
---

# Todo API

Intro written by a person.

## How to Evaluate
- [ ] GET /todos returns a list

## Notes
Some notes.
"""


def section(run_id: str = "run-1", status: str = "succeeded", reason: str = "") -> str:
    return render_status_section(
        run_id=run_id,
        status=status,
        branch="specmill/todo-api",
        head_commit="abc1234",
        tests=TestReport(command="pytest", exit_code=0, passed=3, failed=1, errors=0, skipped=2),
        verdict=Verdict(
            criteria=[
                CriterionVerdict(criterion="GET | list", met=True, evidence="line one\nline two"),
                CriterionVerdict(criterion="POST", met=False, evidence=""),
            ]
        ),
        iteration=2,
        max_iterations=5,
        reason=reason,
        usage=Usage(input_tokens=1200, output_tokens=300),
    )


def count_sections(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip() == "## Implementation Status")


def test_render_has_bullets_and_an_escaped_table() -> None:
    text = section(status="failed", reason="tests failed:\n1 failure")
    assert text.startswith("## Implementation Status\n")
    assert text.endswith("\n")
    for expected in (
        "- Run: `run-1`",
        "- Status: **failed**",
        "- Branch: `specmill/todo-api`",
        "- Head commit: `abc1234`",
        "- Iteration: 2 of 5",
        "- Tests: 3 passed, 1 failed, 0 errors, 2 skipped",
        "- Tokens: 1,200 in, 300 out",
        "- Reason: tests failed: 1 failure",
        "| Criterion | Met | Evidence |",
        "| GET \\| list | yes | line one<br>line two |",
        "| POST | no |   |",
    ):
        assert expected in text.splitlines(), expected
    assert [line for line in text.splitlines() if line.startswith("#")] == ["## Implementation Status"]


def test_render_without_tests_or_verdict() -> None:
    text = render_status_section(
        run_id="r",
        status="failed",
        branch="b",
        head_commit="c",
        tests=None,
        verdict=None,
        iteration=1,
        max_iterations=3,
    )
    assert "- Tests: not run" in text
    assert "| Criterion |" not in text
    bare = render_status_section(
        run_id="r",
        status="needs-attention",
        branch="",
        head_commit="",
        tests=None,
        verdict=None,
        iteration=0,
        max_iterations=0,
        reason="ServiceUnavailable: down",
    )
    assert "Branch" not in bare and "Head commit" not in bare and "Iteration" not in bare
    assert "- Reason: ServiceUnavailable: down" in bare


def test_merge_appends_section_and_sets_status_keeping_other_bytes() -> None:
    merged = merge_status(NOTE, section(), "succeeded")
    assert merged == NOTE.replace("status: draft", "status: succeeded") + "\n" + section()
    assert parse_spec_ok(merged)


def test_merge_replaces_section_in_the_middle() -> None:
    middle = NOTE.replace("## Notes", section("old").rstrip("\n") + "\n\n## Notes")
    merged = merge_status(middle, section("new"), "failed")
    assert count_sections(merged) == 1
    assert "`new`" in merged and "`old`" not in merged
    assert merged.endswith("## Notes\nSome notes.\n")
    assert "\n\n## Notes" in merged
    assert merge_status(merged, section("new"), "failed") == merged


def test_merge_adds_frontmatter_when_absent() -> None:
    merged = merge_status("# Plain\n\ntext\n", section(), "succeeded")
    assert merged == "---\nstatus: succeeded\n---\n\n# Plain\n\ntext\n\n" + section()
    assert merge_status(merged, section(), "succeeded") == merged


def test_merge_adds_status_key_when_frontmatter_lacks_it() -> None:
    merged = merge_status("---\npermalink: specs/x\n---\n\n# X\n", section(), "failed")
    assert merged.startswith("---\npermalink: specs/x\nstatus: failed\n---\n\n# X\n\n## Implementation Status\n")


def test_merge_collapses_duplicate_sections_and_ignores_fenced_ones() -> None:
    fenced = "```\n## Implementation Status\n```\n"
    doubled = NOTE + fenced + "\n" + section("a") + "\n" + section("b")
    merged = merge_status(doubled, section("c"), "succeeded")
    assert count_sections(merged) == 2  # ours plus the one inside the code fence
    assert fenced in merged
    assert "`a`" not in merged and "`b`" not in merged and "`c`" in merged


def test_merge_keeps_crlf_line_endings() -> None:
    crlf = NOTE.replace("\n", "\r\n")
    merged = merge_status(crlf, section(), "succeeded")
    assert "\n" not in merged.replace("\r\n", "")
    assert merge_status(merged, section(), "succeeded") == merged


def test_merge_rejects_a_section_without_the_heading() -> None:
    with pytest.raises(ValueError):
        merge_status(NOTE, "- just a list\n", "succeeded")


def test_update_spec_writes_once_and_skips_unchanged() -> None:
    store = MemorySpecStore()
    store.put("specs", "specs/todo-api", NOTE, title="Todo API")
    first = update_spec(store, "specs", "specs/todo-api", section(), "succeeded")
    assert first.checksum == content_checksum(first.content)
    assert store.writes == 1
    again = update_spec(store, "specs", "specs/todo-api", section(), "succeeded")
    assert store.writes == 1 and again.content == first.content


def test_repeated_updates_leave_exactly_one_section() -> None:
    store = MemorySpecStore()
    store.put("specs", "specs/todo-api", NOTE, title="Todo API")
    for number in range(4):
        update_spec(store, "specs", "specs/todo-api", section(f"run-{number}"), "failed")
    text = store.content("specs", "specs/todo-api")
    assert count_sections(text) == 1
    assert "`run-3`" in text and "status: failed" in text


def test_injected_conflict_is_retried_and_the_persons_edit_survives() -> None:
    store = MemorySpecStore()
    store.put("specs", "specs/todo-api", NOTE, title="Todo API")
    store.inject_conflict(lambda text: text.replace("Intro written by a person.", "Intro, edited meanwhile."))
    note = update_spec(store, "specs", "specs/todo-api", section(), "succeeded")
    assert store.writes == 1 and store.reads == 2
    assert "Intro, edited meanwhile." in note.content
    assert note.content == store.content("specs", "specs/todo-api")
    assert count_sections(note.content) == 1
    untouched = NOTE.replace("status: draft", "status: succeeded").replace(
        "Intro written by a person.", "Intro, edited meanwhile."
    )
    assert note.content.startswith(untouched)


def test_persistent_conflicts_give_up_with_note_conflict() -> None:
    store = MemorySpecStore()
    store.put("specs", "specs/todo-api", NOTE, title="Todo API")
    for _ in range(3):
        store.inject_conflict()
    with pytest.raises(NoteConflict, match="kept changing"):
        update_spec(store, "specs", "specs/todo-api", section(), "succeeded", max_attempts=3)
    assert store.writes == 0


def test_replace_with_stale_checksum_conflicts() -> None:
    store = MemorySpecStore()
    stale = store.put("specs", "specs/x", "# X\n")
    store.edit_as_person("specs", "specs/x", lambda text: text + "more\n")
    with pytest.raises(NoteConflict):
        store.replace_note(stale, "# Y\n")


def parse_spec_ok(content: str) -> bool:
    from specmill.models import Note

    spec = parse_spec(Note(project="specs", permalink="specs/todo-api", title="Todo API", content=content))
    return spec.frontmatter["status"] == "succeeded" and len(spec.criteria) == 1
