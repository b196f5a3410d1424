"""The merged progress of a run (its event stream and the records of its short steps) is the same
sequence for every reader, however often and whenever it reads, so positions in it resume exactly."""

from __future__ import annotations

from typing import Any

from specmill.models import TestReport
from specmill.timeline import Timeline


def _entry(kind: str, step: str, step_id: int | None, detail: str = "") -> tuple[str, dict[str, Any]]:
    return "entry", {"kind": kind, "step": step, "step_id": step_id, "detail": detail}


def _record(step_id: int, name: str, output: Any = None, error: Exception | None = None) -> tuple[str, dict[str, Any]]:
    return "record", {
        "function_id": step_id,
        "function_name": name,
        "output": output,
        "error": error,
        "child_workflow_id": None,
        "started_at_epoch_ms": 1_000 * step_id,
        "completed_at_epoch_ms": 1_000 * step_id + 250,
    }


# What a run writes, in the order it writes it: a long step writes its start, its end, then DBOS its record.
HISTORY = [
    _record(1, "load_playbook"),
    _record(2, "read_spec"),
    _entry("step_started", "run_tests", 3),
    _entry("step_finished", "run_tests", 3, "2 passed"),
    _record(3, "run_tests", TestReport(command="pytest", passed=2, exit_code=0, duration_s=0.1, output="")),
    _entry("step_failed", "update_spec", 4, "NoteConflict"),
    _record(4, "update_spec"),
    _record(5, "DBOS.sleep"),
    _record(6, "implement.tool", TestReport(command="pytest", passed=1, exit_code=0, duration_s=0.1, output="")),
    _entry("step_failed", "validate", 7, "ModelError: no"),
    _record(7, "validate", error=RuntimeError("no")),
    _entry("run_finished", "", 8, "failed"),
    _record(8, "update_spec"),
]


def read(history: list[tuple[str, dict[str, Any]]], looks: list[int]) -> list[dict[str, Any]]:
    """A reader that looks at the run when `looks[n]` writes are done, as `queries._timeline` does:
    records first, then the entries, with a late entry read right after it was written."""
    timeline, shown, read_entries = Timeline("r"), [], 0
    for n, now in enumerate([*looks, len(history)]):

        def records(at: int) -> list[dict[str, Any]]:
            return [r for kind, r in history[:at] if kind == "record"][timeline.records_read :]

        timeline.add_records(records(now))
        later = looks[n + 1] if n + 1 < len(looks) else len(history)  # the stream is read a little later
        entries = [(i, e) for i, (kind, e) in enumerate(history[:later]) if kind == "entry"][read_entries:]
        for written_at, entry in entries:
            read_entries += 1
            if timeline.needs_records(entry):
                timeline.add_records(records(written_at))
            shown += timeline.place(entry)
        shown += timeline.flush()
    return [{"kind": e["kind"], "step": e["step"], "detail": e["detail"]} for e in shown]


def test_short_steps_end_from_their_records_between_the_events_of_long_steps() -> None:
    assert read(HISTORY, []) == [
        {"kind": "step_finished", "step": "load_playbook", "detail": ""},
        {"kind": "step_finished", "step": "read_spec", "detail": ""},
        {"kind": "step_started", "step": "run_tests", "detail": ""},
        {"kind": "step_finished", "step": "run_tests", "detail": "2 passed"},
        {"kind": "step_failed", "step": "update_spec", "detail": "NoteConflict"},
        {"kind": "step_finished", "step": "update_spec", "detail": ""},
        {"kind": "step_finished", "step": "implement.tool", "detail": "1 passed, 0 failed, 0 errors, 0 skipped"},
        {"kind": "step_failed", "step": "validate", "detail": "ModelError: no"},
        {"kind": "run_finished", "step": "", "detail": "failed"},
        {"kind": "step_finished", "step": "update_spec", "detail": ""},
    ]


def test_every_reader_sees_the_same_sequence_whenever_it_reads() -> None:
    whole = read(HISTORY, [])
    for looks in ([0], [1], [2], [3, 4], [5, 6, 7], [1, 3, 5, 7, 9, 11], list(range(len(HISTORY)))):
        assert read(HISTORY, looks) == whole, looks


def test_a_stream_written_before_entries_named_their_step_is_shown_alone() -> None:
    old = [
        _record(1, "load_playbook"),
        _entry("step_finished", "load_playbook", None),
        _record(2, "read_spec"),
        _entry("step_finished", "read_spec", None),
    ]
    assert read(old, []) == [
        {"kind": "step_finished", "step": "load_playbook", "detail": ""},
        {"kind": "step_finished", "step": "read_spec", "detail": ""},
    ]
