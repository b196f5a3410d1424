"""A run's progress as people watching it see it: its event stream merged with its step records.

A short step writes nothing to the run's event stream (that would double what the step costs):
its end is read back from the record DBOS writes when it checkpoints the step. `Timeline` merges
the two into one sequence that is the same for every reader, whenever it reads, so a position in
it can serve as an event id to resume from:
- every stream entry names the step that wrote it (`step_id`, DBOS's function id);
- steps run one after another, so an entry of step k is written after the records of steps < k;
- the end of a short step j is placed before the first entry of a later step, or after the
  entries read so far once the record is there. Its entries (a failed attempt, say) were written
  before its record, so they are always read first.

The reader must fetch records before it reads the entries they are merged with, and fetch again
before placing an entry of a step whose predecessors it has not seen recorded (`needs_records`).
Runs written before the stream carried step ids are shown as their stream alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from specmill import names, progress
from specmill.models import Usage

_STEP_KINDS = ("step_started", "step_finished", "step_failed")


class Timeline:
    def __init__(self, run_id: str, summarize: Callable[[Any], str] = progress.summary) -> None:
        self.run_id, self._summarize = run_id, summarize
        self.records_read = 0
        """How many of the run's step records were read: where the next read starts."""
        self._highest_recorded = -1
        self._pending: dict[int, Mapping[str, Any]] = {}
        self._announced_ends: set[int] = set()
        self._without_ids = False

    def add_records(self, records: list[Mapping[str, Any]]) -> None:
        """The run's next step records (DBOS `StepInfo`s in function id order, from `records_read` on)."""
        for record in records:
            self.records_read += 1
            step_id = int(record["function_id"])
            self._highest_recorded = max(self._highest_recorded, step_id)
            if _short_step_end(record):
                self._pending[step_id] = record

    def needs_records(self, entry: Any) -> bool:
        """Whether the records must be read again before `entry` is placed."""
        step_id = entry.get("step_id") if isinstance(entry, dict) else None
        return isinstance(step_id, int) and step_id > self._highest_recorded + 1 and not self._without_ids

    def place(self, entry: Any) -> list[Any]:
        """What to show for the next stream entry: the ends of earlier short steps, then the entry."""
        step_id = entry.get("step_id") if isinstance(entry, dict) else None
        if not isinstance(step_id, int):
            if isinstance(entry, dict) and entry.get("kind") in _STEP_KINDS:
                self._without_ids = True  # written before entries named their step
            return [entry]
        if entry.get("kind") == "step_finished":
            self._announced_ends.add(step_id)
        return [*self._ends(before=step_id), entry]

    def flush(self) -> list[Any]:
        """The ends of the short steps recorded so far, after every entry read."""
        return self._ends(before=None)

    def _ends(self, before: int | None) -> list[Any]:
        if self._without_ids:
            self._pending.clear()
            return []
        due = sorted(i for i in self._pending if before is None or i < before)
        return [self._end(self._pending.pop(i)) for i in due if i not in self._announced_ends]

    def _end(self, record: Mapping[str, Any]) -> dict[str, Any]:
        name, output = str(record["function_name"]), record.get("output")
        started, completed = record.get("started_at_epoch_ms"), int(record["completed_at_epoch_ms"])
        usage = getattr(output, "usage", None)
        event = progress.ProgressEvent(
            run_id=self.run_id,
            kind="step_finished",
            step=name,
            phase=names.phase_of(name),
            detail=self._summarize(output),
            elapsed_s=(completed - started) / 1000 if started else 0.0,
            usage=usage if isinstance(usage, Usage) else Usage(),
            at=completed / 1000,
            step_id=int(record["function_id"]),
        )
        return event.model_dump(mode="json")


def _short_step_end(record: Mapping[str, Any]) -> bool:
    """A step of specmill's that succeeded (DBOS's own operations and child workflows are not shown)."""
    name = str(record.get("function_name") or "")
    return (
        bool(name)
        and not name.startswith("DBOS.")
        and record.get("error") is None
        and record.get("child_workflow_id") is None
        and record.get("completed_at_epoch_ms") is not None
    )
