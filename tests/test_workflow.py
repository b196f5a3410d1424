"""The durable workflow on DBOS + SQLite, with in-process fakes of the spec store and the model
and the real git worktree and pytest runner."""

from __future__ import annotations

import pytest
from dbos import DBOS

from specmill import names, progress
from specmill.errors import SpecNotFound, SpecWithoutCriteria
from tests import scenarios
from tests.fixtures.git_repos import git


def test_a_run_implements_the_spec_on_its_branch_and_records_it(world) -> None:
    result, model = world(scenarios.succeeds_first_time())
    assert result.status == "succeeded"
    assert result.tests["passed"] == 2 and result.tests["failed"] == 0
    assert [c.met for c in result.criteria] == [True, True]
    assert result.branch == names.branch_name("specs/multiply", "wf-run-1")
    assert result.branch.startswith("specmill/specs-multiply-wfrun1-")
    assert "def multiply" in git(world.repo, "show", f"{result.head_commit}:calc/__init__.py")
    assert git(world.repo, "rev-parse", result.branch) == result.head_commit
    note = world.store.content("specs", "specs/multiply")
    assert note.count("## Implementation Status") == 1
    assert "status: implemented" in note and result.head_commit in note
    assert "## Why" in note  # the author's text stays
    assert result.usage.input_tokens == len(model.requests)


def test_steps_are_recorded_one_per_model_call_and_tool(world) -> None:
    result, model = world(scenarios.succeeds_first_time())
    names = [s["function_name"] for s in DBOS.list_workflow_steps(result.run_id)]
    assert names[:4] == ["load_playbook", "read_spec", "prepare_workspace", "analyze_patterns"]
    assert names.count("implement.model_call") == 5
    assert names.count("implement.tool") == 4
    tail = [n for n in names if not n.startswith(("implement.", "record_"))][-4:]
    assert tail == ["run_tests", "update_spec", "validate", "update_spec"]
    assert len(model.requests) == 6  # five implement turns and one verdict


def test_a_failing_first_attempt_is_fixed_in_the_second(world) -> None:
    result, _ = world(scenarios.fails_then_fixes())
    assert result.status == "succeeded"
    assert result.iterations == 2
    assert "return a * b" in git(world.repo, "show", f"{result.head_commit}:calc/__init__.py")


def test_a_criterion_never_met_fails_the_run_with_the_reason_in_the_spec(world) -> None:
    result, _ = world(scenarios.never_meets(2), max_iterations=2)
    assert result.status == "failed"
    assert result.iterations == 2
    note = world.store.content("specs", "specs/multiply")
    assert "status: needs-attention" in note
    assert note.count("## Implementation Status") == 1
    assert "no docs" in note


def test_tool_misuse_gets_readable_tool_errors_and_the_run_goes_on(world) -> None:
    result, model = world(scenarios.tool_misuse())
    assert result.status == "succeeded"
    results = [
        block
        for req in model.requests
        for msg in req.messages[-1:]
        if msg["role"] == "user"
        for block in msg["content"]
        if block.get("type") == "tool_result"
    ]
    errors = [b["content"] for b in results[:4]]
    assert all(b["is_error"] for b in results[:4])
    assert "outside" in errors[0]
    assert "unknown tool 'launch_missiles'" in errors[1]
    assert "old_str" in errors[2]
    assert "selection" in errors[3]


def test_a_missing_note_ends_the_run_with_a_clear_error_and_writes_nothing(world) -> None:
    with pytest.raises(SpecNotFound, match="nope"):
        world(scenarios.succeeds_first_time(), spec="specs/nope")
    assert world.store.writes == 0


def test_a_spec_without_criteria_ends_the_run_and_writes_nothing(world) -> None:
    world.store.write_note("specs", "Vague", "specs", "# Vague\n\n## What\nSomething nice.\n")
    with pytest.raises(SpecWithoutCriteria):
        world(scenarios.succeeds_first_time(), spec="specs/vague")
    assert world.store.writes == 0


def test_starting_a_finished_run_again_reports_it_without_running_anything(world) -> None:
    first, model = world(scenarios.succeeds_first_time(), run_id="again")
    second, model2 = world(scenarios.succeeds_first_time(), run_id="again")
    assert second == first
    assert model2.requests == []


def test_the_spec_counts_iterations_against_the_limit_the_loop_used(world) -> None:
    """The request's max_iterations (2) is the loop's limit, and the spec says so; the playbook's default
    (3) once went into the note as "Iteration 2 of 3"."""
    result, _ = world(scenarios.never_meets(2), max_iterations=2)
    assert result.iterations == 2
    note = world.store.content("specs", "specs/multiply")
    assert "- Iteration: 2 of 2" in note and "of 3" not in note


def test_run_finished_is_published_once_even_when_the_whole_run_is_replayed(world) -> None:
    finished: list[progress.ProgressEvent] = []
    unsubscribe = progress.subscribe(lambda event: finished.append(event) if event.kind == "run_finished" else None)
    try:
        result, model = world(scenarios.succeeds_first_time(), run_id="replayed")
        last = max(s["function_id"] for s in DBOS.list_workflow_steps("replayed"))
        DBOS.rewind_workflow("replayed", start_step=last + 1)  # every step replays from its record
        assert DBOS.retrieve_workflow("replayed").get_result() == result
    finally:
        unsubscribe()
    assert len(model.requests) == 6, "a replay made a model call again"
    assert [e.detail for e in finished] == ["succeeded"]
    stream = [e for e in DBOS.read_stream("replayed", names.EVENTS_STREAM) if e["kind"] == "run_finished"]
    assert len(stream) == 1
