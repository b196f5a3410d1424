"""DBOS runtime: configuration, launch, shutdown, queues, schedules and operations on runs.

Config is built in code (DBOS 3.x reads no yaml at run time). Every process gets an explicit
executor id and application version: otherwise DBOS names every process "local" and versions
the code by hash, so an edit would orphan pending runs.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import sqlite3
import sys
import threading
from typing import Any

from dbos import DBOS, DBOSConfig, SetEnqueueOptions, SetWorkflowID, StepInfo
from dbos import error as dbos_error

from specmill import (
    checkpoints,
    durable,
    executors,
    graceful_stop,
    names,
    progress,
    queries,
    records,
    run_index,
    steps,
    workflow,
)
from specmill.config import Settings
from specmill.container import Container
from specmill.errors import BadInput, EnvironmentProblem, RunNotFound
from specmill.models import Budget, RunRequest, RunResult

log = logging.getLogger("specmill.runtime")
_dbos: DBOS | None = None
_heartbeat: executors.Heartbeat | None = None


def dbos_config(settings: Settings, executor_id: str | None = None) -> DBOSConfig:
    config: DBOSConfig = {
        "name": "specmill",
        "system_database_url": settings.database_url(),
        "application_version": settings.app_version,
        "executor_id": executor_id or settings.executor_id,
        "log_level": os.environ.get("SPECMILL_DBOS_LOG_LEVEL", "WARNING"),
        "notification_listener_polling_interval_sec": 0.1,
    }
    conductor_key = os.environ.get("DBOS_CONDUCTOR_KEY")
    if conductor_key:
        config["conductor_key"] = conductor_key
    return config


def check_sqlite_support(url: str) -> None:
    """DBOS's SQLite schema uses unixepoch('subsec') on Python >= 3.12, which needs SQLite >= 3.42."""
    if not url.startswith("sqlite"):
        return
    version = tuple(int(p) for p in sqlite3.sqlite_version.split("."))
    if sys.version_info >= (3, 12) and version < (3, 42):
        raise EnvironmentProblem(
            f"Python {sys.version_info[0]}.{sys.version_info[1]} with SQLite {sqlite3.sqlite_version} cannot hold "
            "DBOS's SQLite system database (it needs SQLite >= 3.42 on Python >= 3.12): run specmill on Python 3.11, "
            "or set DBOS_SYSTEM_DATABASE_URL to a PostgreSQL database"
        )


def launch(
    settings: Settings,
    container: Container,
    executor_id: str | None = None,
    queues: list[str] | None = None,
    role: str = "worker",
) -> None:
    """Start DBOS in this process; pending runs of this executor id and version recover now.
    `queues` names the only queues this process works, the shared ones by default (DBOS would work
    every registered one, commands' own too): a command passes its own queue only, so it never
    starts queued work it would then abandon.
    The process heartbeats under its executor id, so others can tell whether it still owns its runs."""
    global _dbos, _heartbeat
    importlib.import_module("specmill.sweep.workflow")  # DBOS registers workflows at import, before launch
    url = settings.database_url()
    check_sqlite_support(url)
    checkpoints.guard_unpickling()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    steps.use(container)
    progress.add_sink(durable.write_to_stream)
    graceful_stop.reset()
    run_index.open_index(settings)
    _heartbeat = executors.Heartbeat(executor_id or settings.executor_id, role, settings.executor_heartbeat_s)
    _heartbeat.start()
    _dbos = DBOS(config=dbos_config(settings, executor_id))
    DBOS.listen_queues(list(names.SHARED_QUEUES) if queues is None else queues)
    DBOS.launch()
    log.info("DBOS launched on %s as executor %s", records.masked(url), executor_id or settings.executor_id)


def shutdown() -> None:
    global _dbos
    DBOS.destroy(workflow_completion_timeout_sec=0)
    _dbos = None
    release_executor()
    run_index.close_index()
    steps.use(None)


def release_executor() -> None:
    """Say this process no longer executes anything: its pending runs may be taken over at once."""
    global _heartbeat
    if _heartbeat is not None:
        _heartbeat.stop()
        _heartbeat = None


# --- operations on runs, in this process -------------------------------------------------


def start_run(request: RunRequest, run_id: str, queue: str | None = None) -> RunResult:
    """Start the run `run_id`, or continue / report it when it already exists, and wait for it."""
    if DBOS.get_workflow_status(run_id) is None:
        with SetWorkflowID(run_id):
            handle = DBOS.start_workflow(workflow.run_spec, request)
        return handle.get_result()
    return continue_run(run_id, queue=queue)


def continue_run(run_id: str, budget: Budget | None = None, queue: str | None = None) -> RunResult:
    """Re-run a failed, cancelled, budget-exhausted or orphaned pending run from the step that stopped
    it (completed steps are not run again) on `queue`, which only this process works, and wait for it.
    The caller has made sure a pending run's owner cannot continue it (`executors.check_takeover`);
    a run waiting on the run queue is left there, for whichever process works it.
    A new cap goes into the run's DBOS attributes, where its model steps read it."""
    status = DBOS.get_workflow_status(run_id)
    if status is None:
        raise RunNotFound(f"no run '{run_id}' in this system database: check the id and DBOS_SYSTEM_DATABASE_URL")
    caps = _caps(budget)
    if caps:
        DBOS.update_workflow_attributes(run_id, caps, merge=True)
    if _needs_rewind(status):
        DBOS.rewind_workflow(run_id, start_step=first_failed_step(DBOS.list_workflow_steps(run_id)), queue_name=queue)
    elif status.status in ("CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED") or (queue and _orphaned(status)):
        DBOS.resume_workflow(run_id, queue_name=queue)
    return DBOS.retrieve_workflow(run_id).get_result()


def fork_here(run_id: str, start_step: int, new_run_id: str, app_version: str, queue: str | None = None) -> RunResult:
    """Fork `run_id` from `start_step` into `new_run_id`, run the fork on `queue` and wait for it.
    The fork goes into the run index first (its first step, which would, is reused from `run_id`)."""
    args = (getattr(DBOS.get_workflow_status(run_id), "input", None) or {}).get("args") or ()
    if args and isinstance(args[0], RunRequest):
        record = records.RunRecord(
            run_id=new_run_id, request=args[0], created_us=records.now_us(), forked_from=run_id, fork_step=start_step
        )
        run_index.write(records.insert_run, record)
    with SetWorkflowID(new_run_id):
        handle = DBOS.fork_workflow(run_id, start_step, application_version=app_version, queue_name=queue)
    return handle.get_result()


def follow_elsewhere(run_id: str) -> None:
    """Relay the progress of a run that another process executes to this process's listeners."""

    async def events() -> None:
        async for _, value in queries.run_events(run_id, 0):
            progress.emit(progress.ProgressEvent.model_validate(value))

    def relay() -> None:
        try:
            asyncio.run(events())
        except Exception as exc:  # watching is best effort; the result is read from DBOS anyway
            log.debug("[%s] stopped following: %s", run_id, exc)

    threading.Thread(target=relay, name=f"follow-{run_id}", daemon=True).start()


def command_queue(executor_id: str) -> str:
    """The queue of one command's process: what it resumes or forks runs there and nowhere else
    (DBOS's internal queue, where resumes go by default, is worked by every process)."""
    name = f"{names.COMMAND_QUEUE_PREFIX}{executor_id}"
    DBOS.register_queue(name, polling_interval_sec=0.1, on_conflict="always_update")
    return name


def drop_command_queue(name: str) -> None:
    DBOS.delete_queue(name)


def _orphaned(status: Any) -> bool:
    """Pending on an executor that cannot continue it (the caller checked), or waiting on a queue
    no process works any more (the own queue of a command that ended)."""
    queued_elsewhere = status.status == "ENQUEUED" and status.queue_name not in names.SHARED_QUEUES
    return status.status == "PENDING" or queued_elsewhere


def _needs_rewind(status: Any) -> bool:
    """DBOS's resume skips a run in ERROR, and one that finished as budget_exhausted has nothing to
    resume: both continue by a rewind to the step that stopped them."""
    exhausted = status.status == "SUCCESS" and getattr(status.output, "status", "") == "budget_exhausted"
    return status.status == "ERROR" or exhausted


def _caps(budget: Budget | None) -> dict[str, Any]:
    return {f"budget_{k}": v for k, v in (budget.model_dump() if budget else {}).items() if v is not None}


def first_failed_step(recorded: list[StepInfo]) -> int:
    """The failed step's id; past the last step when the workflow body itself failed."""
    for step in recorded:
        if step["error"] is not None:
            return step["function_id"]
    return max((s["function_id"] for s in recorded), default=0) + 1


# --- queues and schedules ------------------------------------------------------------------


def register_run_queue(settings: Settings) -> None:
    """DBOS 3.x keeps queues in the system database; they are registered after launch. The queue
    is partitioned by repository, so two runs never edit one repository's worktrees at once."""
    DBOS.register_queue(
        names.RUN_QUEUE,
        worker_concurrency=settings.queue_concurrency,
        global_concurrency=settings.queue_global_concurrency,
        partition_concurrency=settings.queue_repo_concurrency,
        polling_interval_sec=settings.queue_polling_interval_s,
        on_conflict="always_update",
    )


def apply_sweep_schedule(settings: Settings) -> None:
    """The sweep's schedule as this process's settings say, replacing what an earlier start
    applied; no SPECMILL_PROJECT or an empty SPECMILL_SWEEP_CRON removes it. Scheduled sweeps
    go onto a queue of their own, one at a time across all processes."""
    from specmill.sweep import workflow as sweep_workflow

    if not (settings.sweep_cron.strip() and settings.project):
        DBOS.delete_schedule(names.SWEEP_SCHEDULE)
        return
    DBOS.register_queue(
        names.SWEEP_QUEUE,
        global_concurrency=1,
        polling_interval_sec=settings.queue_polling_interval_s,
        on_conflict="always_update",
    )
    try:
        DBOS.apply_schedules(
            [
                {
                    "schedule_name": names.SWEEP_SCHEDULE,
                    "workflow_fn": sweep_workflow.scheduled_sweep,
                    "schedule": settings.sweep_cron.strip(),
                    "context": {"project": settings.project},
                    "automatic_backfill": settings.sweep_backfill,
                    # UTC as DBOS's default (datetime.timezone.utc); another zone's ticks are recorded
                    # as ZoneInfo(key) (specmill.checkpoints).
                    "cron_timezone": None
                    if settings.sweep_timezone.upper() in ("UTC", "ETC/UTC")
                    else settings.sweep_timezone,
                    "queue_name": names.SWEEP_QUEUE,
                }
            ]
        )
    except dbos_error.DBOSException as exc:
        raise BadInput(
            f"{exc}: set SPECMILL_SWEEP_CRON to a cron expression (such as '0 2 * * *') and "
            "SPECMILL_SWEEP_TIMEZONE to an IANA zone (such as 'Europe/Berlin')"
        ) from None


# --- the run queue, for the HTTP API (async: called from the server's event loop) -------


async def enqueue_run(request: RunRequest, run_id: str) -> None:
    """Put the run on the queue under `run_id`; an existing run with that id is left as it is."""
    with SetWorkflowID(run_id), SetEnqueueOptions(queue_partition_key=names.partition_key(request.repo)):
        await DBOS.enqueue_workflow_async(names.RUN_QUEUE, workflow.run_spec, request)  # type: ignore[arg-type]


async def cancel_run(run_id: str) -> None:
    await DBOS.cancel_workflow_async(run_id)


async def requeue_run(run_id: str, budget: Budget | None = None) -> None:
    """`continue_run` for a server: the run continues on the queue, wherever the queue is worked."""
    status = await DBOS.get_workflow_status_async(run_id)
    if status is None:
        raise RunNotFound(f"no run '{run_id}' in this system database: check the id")
    caps = _caps(budget)
    if caps:
        await DBOS.update_workflow_attributes_async(run_id, caps, merge=True)
    if _needs_rewind(status):
        start = first_failed_step(await DBOS.list_workflow_steps_async(run_id))
        await DBOS.rewind_workflow_async(
            run_id, start_step=start, queue_name=names.RUN_QUEUE, queue_partition_key=_partition_of(status)
        )
    else:
        await DBOS.resume_workflow_async(run_id, queue_name=names.RUN_QUEUE)


async def fork_run(run_id: str, start_step: int, new_run_id: str, app_version: str) -> None:
    """A new run `new_run_id` on the queue that reuses the steps of `run_id` before `start_step`."""
    status = await DBOS.get_workflow_status_async(run_id)
    with SetWorkflowID(new_run_id):
        await DBOS.fork_workflow_async(
            run_id,
            start_step,
            application_version=app_version,
            queue_name=names.RUN_QUEUE,
            queue_partition_key=_partition_of(status),
        )


def _partition_of(status: object) -> str:
    """A run started from the CLI has no partition key of its own; its request names the repository."""
    key = getattr(status, "queue_partition_key", None)
    if key:
        return str(key)
    args = (getattr(status, "input", None) or {}).get("args") or ()
    request = args[0] if args else None
    return names.partition_key(request.repo if isinstance(request, RunRequest) else "")


def stop_working(grace_s: float) -> int:
    """Stop dequeuing and starting steps at once, and give the steps in flight `grace_s` to finish
    and be checkpointed. Returns how many still run. The caller then exits the process: every
    unfinished run stays PENDING under this executor id and continues at its next launch."""
    graceful_stop.begin()
    for stop_event in _dbos.background_thread_stop_events if _dbos is not None else []:  # queue and scheduler
        stop_event.set()
    return graceful_stop.wait_for_running_steps(grace_s)
