"""What a sweep does with its candidates, given the runs that already exist. Pure functions.

A version with a run of its own is never enqueued again, whatever became of that run: a
failed or cancelled version waits for an edit (a new version) or for someone to resume it.
"""

from __future__ import annotations

from specmill.sweep.models import Candidate, Discovery, RunOutcome, RunState, Skipped
from specmill.sweep.version import is_version_run_id

_ACTIVE = {"ENQUEUED": "queued", "DELAYED": "queued", "PENDING": "running"}


def run_state(dbos_status: str, result_status: str | None) -> RunState:
    """DBOS's status (and, for a finished run, its RunResult.status) in people's words."""
    if dbos_status in _ACTIVE:
        return _ACTIVE[dbos_status]  # type: ignore[return-value]
    if dbos_status == "SUCCESS":
        finished = result_status if result_status in ("succeeded", "failed", "budget_exhausted") else "succeeded"
        return finished  # type: ignore[return-value]
    if dbos_status == "CANCELLED":
        return "cancelled"
    return "error"  # ERROR, MAX_RECOVERY_ATTEMPTS_EXCEEDED


def decide(discovery: Discovery, existing: dict[str, RunOutcome]) -> tuple[list[Candidate], list[Skipped]]:
    """(candidates to enqueue, every skipped note): candidates whose version already has a run are skipped."""
    enqueue: list[Candidate] = []
    skipped = list(discovery.skipped)
    for candidate in discovery.candidates:
        outcome = existing.get(candidate.run_id)
        if outcome is None:
            enqueue.append(candidate)
        else:
            skipped.append(
                Skipped(
                    permalink=candidate.permalink,
                    title=candidate.title,
                    reason=existing_run_reason(outcome),
                    run_id=outcome.run_id,
                )
            )
    return enqueue, sorted(skipped, key=lambda s: s.permalink)


def existing_run_reason(outcome: RunOutcome) -> str:
    run = outcome.run_id
    return {
        "queued": f"this version is already queued as run {run}",
        "running": f"this version is being implemented by run {run}",
        "succeeded": f"this version was implemented by run {run}",
        "failed": f"run {run} of this version failed: edit the spec to try a new version, or 'specmill resume {run}'",
        "budget_exhausted": f"run {run} of this version ran out of budget: 'specmill resume {run} --budget-usd N'",
        "error": f"run {run} of this version stopped with an error: "
        f"fix the cause and 'specmill resume {run}', or edit the spec",
        "cancelled": f"run {run} of this version was cancelled: "
        f"'specmill resume {run}' to continue it, or edit the spec",
    }[outcome.state]


def superseded(enqueue: list[Candidate], queued: list[RunOutcome], project: str) -> list[str]:
    """Queued, not yet started runs of older versions of the specs about to be enqueued. They
    would read the spec as it is now when they start, and implement the new version under the
    old one's id; so they are cancelled, and the new version's run takes their place."""
    new = {(c.permalink, c.run_id) for c in enqueue}
    specs = {permalink for permalink, _ in new}
    return sorted(
        o.run_id
        for o in queued
        if o.state == "queued"
        and o.project == project
        and o.spec in specs
        and is_version_run_id(o.run_id)
        and (o.spec, o.run_id) not in new
    )
