"""The sweep as DBOS workflows: one now (`specmill sweep`), and the same one on the schedule.

It imports `dbos` beside the run's workflow: the sweep is a process of its own, with its own ids,
and would crowd the run's workflow module, which reads top to bottom like one run. Its steps go
through the same `durable` wrapper. Everything it decides comes from recorded step outputs, so a
recovered sweep replays to the same decisions.

Exactly once: each candidate is enqueued under its version's run id with DBOS's
`workflow_id_reuse_policy="reject"`, an insert that only one caller wins. A second sweep
running at the same time (or a `specmill run` of the same version) loses that insert and
reports the version as taken, instead of enqueuing it again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID
from dbos import error as dbos_error

from specmill import names, queries, records, run_index, steps, workflow
from specmill.config import Settings
from specmill.container import Container
from specmill.durable import Retry, durable
from specmill.errors import BadInput
from specmill.models import RunRequest
from specmill.sweep import plan
from specmill.sweep.discover import discover
from specmill.sweep.models import (
    Candidate,
    Discovery,
    PreviousSweep,
    RunOutcome,
    Skipped,
    SweepConfig,
    SweepRequest,
    SweepResult,
)
from specmill.sweep.report import add_final_status, render_final_status, render_report, report_title

log = logging.getLogger("specmill.sweep")
SWEEP_WORKFLOW = names.SWEEP_WORKFLOW
SCHEDULED_SWEEP_WORKFLOW = names.SCHEDULED_SWEEP_WORKFLOW


@DBOS.workflow(name=SWEEP_WORKFLOW)
def sweep(request: SweepRequest) -> SweepResult:
    return _sweep(request, clock())


@DBOS.workflow(name=SCHEDULED_SWEEP_WORKFLOW)
def scheduled_sweep(scheduled_time: datetime, context: Any) -> SweepResult:
    """What the schedule starts: `context` is {"project": NAME}, as the runtime applied it."""
    project = context.get("project") if isinstance(context, dict) else None
    if not project:
        raise BadInput("the sweep schedule names no project: set SPECMILL_PROJECT and restart specmill serve")
    return _sweep(SweepRequest(project=project, trigger="schedule", scheduled_at=scheduled_time), scheduled_time)


def _sweep(request: SweepRequest, started: datetime) -> SweepResult:
    sweep_id = DBOS.workflow_id or "sweep"
    found = find_specs(project=request.project)
    to_enqueue, skipped = plan.decide(found, check_runs(run_ids=[c.run_id for c in found.candidates]))
    stale = plan.superseded(to_enqueue, list_queued_runs(), request.project) if to_enqueue else []

    enqueued: list[Candidate] = []
    for candidate in to_enqueue:
        try:
            _enqueue(candidate, request.project)
        except dbos_error.DBOSWorkflowIDInUseError as exc:
            reason = (
                f"run {candidate.run_id} of this version was started meanwhile "
                f"(by another sweep or run; {exc.workflow_status.lower()})"
            )
            skipped.append(
                Skipped(permalink=candidate.permalink, title=candidate.title, reason=reason, run_id=candidate.run_id)
            )
            continue
        enqueued.append(candidate)
    cancelled = supersede(run_ids=stale) if stale else []

    previous = find_previous_sweep(project=request.project, sweep_id=sweep_id)
    result = SweepResult(
        sweep_id=sweep_id,
        project=request.project,
        trigger=request.trigger,
        started_at=started,
        spec_notes=found.spec_notes,
        candidates=found.candidates,
        enqueued=enqueued,
        skipped=sorted(skipped, key=lambda s: s.permalink),
        superseded=cancelled,
        previous_sweep=previous.sweep_id if previous else None,
        previous_runs=previous.runs if previous else [],
    )
    result.report = report(result=result)
    if previous is not None:
        final_status(project=request.project, previous=previous, sweep_id=sweep_id)
    log.info(
        "[%s] %d spec notes, %d enqueued, %d skipped", sweep_id, found.spec_notes, len(enqueued), len(result.skipped)
    )
    return result


def _enqueue(candidate: Candidate, project: str) -> None:
    """Onto the run queue, in its repository's partition, under the version's id; then into the
    run index, so `GET /runs` lists the run like one started over HTTP."""
    request = RunRequest(spec=candidate.permalink, repo=candidate.repo, project=project, playbook=candidate.playbook)
    with (
        SetWorkflowID(candidate.run_id, workflow_id_reuse_policy="reject"),
        SetEnqueueOptions(queue_partition_key=names.partition_key(candidate.repo)),
    ):
        DBOS.enqueue_workflow(names.RUN_QUEUE, workflow.run_spec, request)
    index_run(run_id=candidate.run_id, request=request)


def _index_run(*, run_id: str, request: RunRequest) -> bool:
    record = records.RunRecord(run_id=run_id, request=request, created_us=records.now_us())
    return run_index.write(records.insert_run, record)


# --- steps ------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


def discover_specs(*, project: str) -> Discovery:
    return discover_with(steps.ports(), project)


def discover_with(container: Container, project: str) -> Discovery:
    settings = container.settings
    return discover(container.note_index, container.spec_store, SweepConfig.from_settings(settings), settings, project)


def run_outcomes(*, run_ids: list[str]) -> dict[str, RunOutcome]:
    if not run_ids:
        return {}
    return outcomes_of(DBOS.list_workflows(workflow_ids=run_ids, load_input=False, load_output=True))


def outcomes_of(statuses: list[Any]) -> dict[str, RunOutcome]:
    found: dict[str, RunOutcome] = {}
    for status in statuses:
        request = _request_of(status)
        found[status.workflow_id] = RunOutcome(
            run_id=status.workflow_id,
            state=plan.run_state(status.status, getattr(status.output, "status", None)),
            spec=request.spec if request else "",
            project=(request.project or "") if request else "",
        )
    return found


def queued_runs() -> list[RunOutcome]:
    statuses = DBOS.list_workflows(
        name=names.RUN_WORKFLOW,
        status=["ENQUEUED", "DELAYED"],
        queue_name=names.RUN_QUEUE,
        load_input=True,
        load_output=False,
    )
    return list(outcomes_of(statuses).values())


def cancel_queued(*, run_ids: list[str]) -> list[str]:
    """Cancel the runs that have still not started; one that started meanwhile is left to finish."""
    cancelled = []
    for run_id in run_ids:
        status = DBOS.get_workflow_status(run_id)
        if status is not None and status.status in ("ENQUEUED", "DELAYED"):
            DBOS.cancel_workflow(run_id)
            cancelled.append(run_id)
    return cancelled


def previous_sweep(*, project: str, sweep_id: str) -> PreviousSweep | None:
    """The newest finished sweep of `project` before this one, with its runs as they stand now."""
    sweeps = DBOS.list_workflows(
        name=[SWEEP_WORKFLOW, SCHEDULED_SWEEP_WORKFLOW],
        status="SUCCESS",
        sort_desc=True,
        limit=20,
        load_input=False,
        load_output=True,
    )
    for status in sweeps:
        result = status.output
        if (
            isinstance(result, SweepResult)
            and result.project == project
            and result.sweep_id != sweep_id
            and result.report
        ):
            runs = run_outcomes(run_ids=[c.run_id for c in result.enqueued])
            specs = {c.run_id: c.permalink for c in result.enqueued}
            ordered = [
                (runs.get(r) or RunOutcome(run_id=r, state="error")).model_copy(update={"spec": specs[r]})
                for r in specs
            ]
            return PreviousSweep(sweep_id=result.sweep_id, report=result.report, runs=ordered)
    return None


def write_report(*, result: SweepResult) -> str:
    c = steps.ports()
    folder = SweepConfig.from_settings(c.settings).report_folder
    note = c.spec_store.write_note(result.project, report_title(result), folder, render_report(result))
    return note.permalink


def write_final_status(*, project: str, previous: PreviousSweep, sweep_id: str) -> str:
    note = add_final_status(
        steps.ports().spec_store, project, previous.report, render_final_status(previous.runs, sweep_id)
    )
    return note.checksum or ""


def _request_of(status: Any) -> RunRequest | None:
    args = (getattr(status, "input", None) or {}).get("args") or ()
    return args[0] if args and isinstance(args[0], RunRequest) else None


# --- entry points -----------------------------------------------------------------------


def run_sweep(request: SweepRequest, sweep_id: str) -> SweepResult:
    """Sweep now, in this process, and wait (DBOS launched); an existing `sweep_id` is reported."""
    with SetWorkflowID(sweep_id):
        handle = DBOS.start_workflow(sweep, request)
    return handle.get_result()


def dry_run(settings: Settings, container: Container, request: SweepRequest) -> SweepResult:
    """What a sweep would enqueue, without DBOS launched and without a write anywhere: Basic
    Memory is only read, and the system database only queried."""
    found = discover_with(container, request.project)
    return _dry_result(request, found, _recorded_outcomes(settings, [c.run_id for c in found.candidates]))


def _recorded_outcomes(settings: Settings, run_ids: list[str]) -> dict[str, RunOutcome]:
    url = settings.database_url()
    if not run_ids or (url.startswith("sqlite") and not (settings.data_dir / "specmill.sqlite").exists()):
        return {}
    with queries.dbos_client(settings) as client:
        return outcomes_of(client.list_workflows(workflow_ids=run_ids, load_input=False, load_output=True))


clock = durable("sweep.clock", _now)
find_specs = durable("sweep.discover", discover_specs, retry=Retry.SERVICE, announce=True)
check_runs = durable("sweep.check_runs", run_outcomes)
list_queued_runs = durable("sweep.queued_runs", queued_runs)
supersede = durable("sweep.supersede", cancel_queued)
find_previous_sweep = durable("sweep.previous", previous_sweep)
report = durable("sweep.report", write_report, retry=Retry.SERVICE)
final_status = durable("sweep.final_status", write_final_status, retry=Retry.SERVICE)
index_run = durable("sweep.index_run", _index_run)


async def start_sweep(request: SweepRequest, sweep_id: str) -> None:
    """Start a sweep from a server's event loop; the process's DBOS runs it, the caller reads it later."""
    with SetWorkflowID(sweep_id):
        await DBOS.start_workflow_async(sweep, request)  # type: ignore[arg-type]


async def preview(container: Container, request: SweepRequest) -> SweepResult:
    """`dry_run` for a server with DBOS launched: Basic Memory only read, nothing written or enqueued."""
    found = await asyncio.to_thread(discover_with, container, request.project)
    ids = [c.run_id for c in found.candidates]
    existing = (
        outcomes_of(await DBOS.list_workflows_async(workflow_ids=ids, load_input=False, load_output=True))
        if ids
        else {}
    )
    return _dry_result(request, found, existing)


def _dry_result(request: SweepRequest, found: Discovery, existing: dict[str, RunOutcome]) -> SweepResult:
    """What a dry run reports: the sweep's plan over what discovery found and what already ran."""
    to_enqueue, skipped = plan.decide(found, existing)
    return SweepResult(
        sweep_id="dry-run",
        project=request.project,
        trigger=request.trigger,
        started_at=_now(),
        dry_run=True,
        spec_notes=found.spec_notes,
        candidates=found.candidates,
        enqueued=to_enqueue,
        skipped=skipped,
    )
