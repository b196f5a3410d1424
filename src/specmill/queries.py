"""What specmill reads of DBOS's own records: a run's status, its recorded steps, its event stream.

The async reads serve the API's event loop and need DBOS launched in this process. The `recorded_*`
reads go through a `DBOSClient`, for CLI commands that must not launch (a launch would make the
command an executor that recovers pending runs). specmill's own tables are read through `run_index`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSClient
from dbos import error as dbos_error

from specmill import checkpoints, names, records, run_index
from specmill.config import Settings
from specmill.models import RunRequest, RunResult
from specmill.names import phase_of
from specmill.timeline import Timeline


@dataclass(frozen=True)
class RunState:
    """A run as DBOS recorded it; times are Unix epoch milliseconds."""

    run_id: str
    status: str
    request: RunRequest | None
    result: RunResult | None
    error: BaseException | None
    created_ms: int | None
    updated_ms: int | None
    completed_ms: int | None
    forked_from: str | None
    executor_id: str | None = None
    """The process that executes (or last executed) the run; none while it waits on the queue."""
    queue: str | None = None
    attributes: dict[str, Any] | None = None

    @property
    def active(self) -> bool:
        return self.status in ("ENQUEUED", "PENDING", "DELAYED")

    @property
    def gate(self) -> dict[str, Any] | None:
        """The gate a pending run waits at (`specmill.gates`), if any."""
        gate = (self.attributes or {}).get(names.GATE_ATTRIBUTE)
        return gate if isinstance(gate, dict) and self.status in ("PENDING", "ENQUEUED") else None


@dataclass(frozen=True)
class StepRecord:
    step_id: int
    name: str
    output: Any
    error: BaseException | None
    started_ms: int | None
    completed_ms: int | None


async def run_state(run_id: str) -> RunState | None:
    status = await DBOS.get_workflow_status_async(run_id)
    return state_of(status) if status is not None and status.name == names.RUN_WORKFLOW else None


async def run_states(run_ids: list[str]) -> dict[str, RunState]:
    """Status and result of several runs in one query (inputs are left in the database)."""
    if not run_ids:
        return {}
    statuses = await DBOS.list_workflows_async(
        workflow_ids=run_ids,
        name=names.RUN_WORKFLOW,
        load_input=False,
        load_output=True,
    )
    return {s.workflow_id: state_of(s) for s in statuses}


async def run_steps(run_id: str, *, load_output: bool = True) -> list[StepRecord]:
    steps = await DBOS.list_workflow_steps_async(run_id, load_output=load_output)
    return [step_of(s) for s in steps]


async def run_events(run_id: str, offset: int, poll_s: float | None = None) -> AsyncIterator[tuple[int, Any]]:
    """(position, event) of the run's progress from `offset` on, until the run ends: its event stream
    merged with the ends of its short steps, from their records (`specmill.timeline`). Without a
    notification, the stream and the records are read again every `poll_s` (1 s when None)."""
    position = 0
    async for event in _timeline(run_id, poll_s or 1.0, until_quiet=False):
        if position >= offset:
            yield position, event
        position += 1


async def _timeline(run_id: str, wait_s: float, *, until_quiet: bool) -> AsyncIterator[Any]:
    """The run's progress (see `specmill.timeline`); ends with the run, or `until_quiet` when nothing new
    arrives within `wait_s`."""
    timeline = Timeline(run_id)
    read = 0

    async def fetch_records() -> None:
        records = await DBOS.list_workflow_steps_async(
            run_id,
            load_output=True,
            offset=timeline.records_read,  # type: ignore[arg-type]
        )
        timeline.add_records(records)

    while True:
        await fetch_records()  # before the entries they are merged with: see `specmill.timeline`
        values = DBOS.read_stream_async(
            run_id, names.EVENTS_STREAM, offset=read, timeout_seconds=wait_s, polling_interval_sec=wait_s
        )
        ended = False
        try:
            async for value in values:
                read += 1
                if timeline.needs_records(value):
                    await fetch_records()
                for event in timeline.place(value):
                    yield event
            ended = True
        except dbos_error.DBOSStreamTimeoutError:
            pass
        finally:
            await values.aclose()
        if ended:
            await fetch_records()
        for event in timeline.flush():
            yield event
        if ended or until_quiet:
            return


async def ping() -> None:
    """Raise unless the system database and specmill's tables answer."""
    await DBOS.list_workflows_async(limit=1, load_input=False, load_output=False)
    await run_index.read_async(lambda conn: conn.execute(sa.text("SELECT 1")).scalar_one())


def state_of(status: Any) -> RunState:
    """A DBOS `WorkflowStatus` (from DBOS or from a `DBOSClient`) as a run."""
    args = (status.input or {}).get("args") or ()
    request = args[0] if args and isinstance(args[0], RunRequest) else None
    result = status.output if isinstance(status.output, RunResult) else None
    return RunState(
        run_id=status.workflow_id,
        status=status.status,
        request=request,
        result=result,
        error=status.error,
        created_ms=status.created_at,
        updated_ms=status.updated_at,
        completed_ms=status.completed_at,
        forked_from=status.forked_from,
        executor_id=getattr(status, "executor_id", None),
        queue=getattr(status, "queue_name", None),
        attributes=getattr(status, "attributes", None),
    )


def step_of(step: Any) -> StepRecord:
    """A DBOS `StepInfo` as a step of a run."""
    return StepRecord(
        step_id=step["function_id"],
        name=step["function_name"],
        output=step["output"],
        error=step["error"],
        started_ms=step["started_at_epoch_ms"],
        completed_ms=step["completed_at_epoch_ms"],
    )


@contextmanager
def dbos_client(settings: Settings) -> Iterator[DBOSClient]:
    """A client on the system database: reads and commands without becoming an executor."""
    from specmill import models, playbooks, run  # noqa: F401 - the types runs record, so the guard knows them

    checkpoints.guard_unpickling()
    client = DBOSClient(system_database_url=settings.database_url())
    try:
        yield client
    finally:
        client.destroy()


def recorded_run(settings: Settings, run_id: str) -> tuple[str, str | None, str | None] | None:
    """(status, executor id, queue) of a recorded run, read without launching DBOS; None if unknown."""
    if settings.database_url().startswith("sqlite") and not (settings.data_dir / "specmill.sqlite").exists():
        return None
    with dbos_client(settings) as client:
        try:
            status = client.retrieve_workflow(run_id).get_status()
        except Exception:
            return None
    return status.status, status.executor_id, status.queue_name


def recorded_state(settings: Settings, run_id: str) -> RunState | None:
    """The run with its request and result, read without launching DBOS; None if unknown."""
    if recorded_run(settings, run_id) is None:
        return None
    with dbos_client(settings) as client:
        found = client.list_workflows(workflow_ids=[run_id], load_input=True, load_output=True)
    return state_of(found[0]) if found and found[0].name == names.RUN_WORKFLOW else None


def recorded_statuses(settings: Settings, run_ids: list[str]) -> dict[str, str]:
    """DBOS status of each of `run_ids` that DBOS knows (no launch)."""
    if not run_ids or (
        settings.database_url().startswith("sqlite") and not (settings.data_dir / "specmill.sqlite").exists()
    ):
        return {}
    with dbos_client(settings) as client:
        found = client.list_workflows(workflow_ids=run_ids, load_input=False, load_output=False)
    return {w.workflow_id: w.status for w in found}


def system_tables_exist(settings: Settings) -> bool:
    """Whether DBOS created its tables yet: not on a fresh install (no SQLite file) nor on a fresh
    PostgreSQL database that only `specmill db upgrade` has touched. Creates nothing."""
    url = settings.database_url()
    if url.startswith("sqlite") and not (settings.data_dir / "specmill.sqlite").exists():
        return False
    engine = sa.create_engine(records.sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    try:
        schema = None if engine.dialect.name == "sqlite" else "dbos"
        return sa.inspect(engine).has_table("workflow_status", schema=schema)
    finally:
        engine.dispose()


def recorded_runs(settings: Settings, status: str | None = None, limit: int = 50) -> list[dict[str, object]]:
    """The newest runs as DBOS recorded them (no launch), for `specmill runs list`; none before DBOS
    ever launched on this database."""
    if not system_tables_exist(settings):
        return []
    with dbos_client(settings) as client:
        found = client.list_workflows(
            name=names.RUN_WORKFLOW,
            status=status.upper() if status else None,
            limit=limit,
            sort_desc=True,
            load_input=True,
            load_output=True,
        )
        phases = {w.workflow_id: _phase_now(client, w.workflow_id, w.status) for w in found}
    states = [(w, state_of(w)) for w in found]
    return [
        {
            "run_id": w.workflow_id,
            "status": w.status,
            "outcome": state.result.status if state.result else None,
            "phase": phases[w.workflow_id],
            "spec": state.request.spec if state.request else None,
            "repo": state.request.repo if state.request else None,
            "cost_usd": state.result.cost_usd if state.result else None,
            "executor_id": w.executor_id,
            "app_version": w.app_version,
            "queue": w.queue_name,
            "created_at_ms": w.created_at,
            "updated_at_ms": w.updated_at,
            "forked_from": w.forked_from,
            "waiting": waiting_of(w.status, w.attributes),
        }
        for w, state in states
    ]


def _phase_now(client: DBOSClient, run_id: str, status: str) -> str | None:
    """The phase a running run is in, or the one a failed run stopped in; None for a finished run
    (its steps are not read) and for one still waiting on the queue."""
    if status not in ("PENDING", "ENQUEUED", "ERROR"):
        return None
    steps = [(phase_of(s["function_name"]), s["error"]) for s in client.list_workflow_steps(run_id, load_output=False)]
    failed = [phase for phase, error in steps if error is not None]
    if status == "ERROR" and failed:
        return failed[0]
    reached = [phase for phase, _ in steps if phase in names.PHASES]
    return reached[-1] if reached else None


def waiting_of(status: str, attributes: dict[str, Any] | None) -> str | None:
    """`awaiting_approval` / `awaiting_budget` for a run waiting at a gate (`specmill.gates`), else None."""
    gate = RunState("", status, None, None, None, None, None, None, None, attributes=attributes).gate
    return f"awaiting_{gate.get('kind')}" if gate is not None else None


def recorded_steps(settings: Settings, run_id: str) -> list[dict[str, object]]:
    """Every recorded step of a run: id, name, start and end (ms), and a failed step's error."""
    with dbos_client(settings) as client:
        found = client.list_workflow_steps(run_id, load_output=True)
    return [
        {
            "step": s["function_id"],
            "name": s["function_name"],
            "started_at_ms": s["started_at_epoch_ms"],
            "completed_at_ms": s["completed_at_epoch_ms"],
            "error": _describe(s["error"]),
        }
        for s in found
    ]


def _describe(error: BaseException | None) -> str | None:
    """A step that ran out of retries is recorded as DBOS's wrapper; show the last real error."""
    if error is None:
        return None
    last = (getattr(error, "errors", None) or [error])[-1]
    return f"{type(last).__name__}: {last}"


async def run_events_so_far(run_id: str, offset: int = 0, wait_s: float = 0.05) -> list[Any]:
    """The run's progress events (as `run_events` gives them) from `offset` until now, without waiting
    for the run to end: a live run is read until its stream stays quiet for `wait_s`."""
    return [event async for event in _timeline(run_id, wait_s, until_quiet=True)][offset:]


async def recent_sweeps(limit: int = 10) -> list[Any]:
    """The newest sweeps (manual and scheduled) with their DBOS status, newest first."""
    return await DBOS.list_workflows_async(
        name=[names.SWEEP_WORKFLOW, names.SCHEDULED_SWEEP_WORKFLOW],
        sort_desc=True,
        limit=limit,
        load_input=False,
        load_output=True,
    )


async def sweep_schedule() -> dict[str, Any] | None:
    """The sweep's schedule as the system database holds it (cron, time zone, last slot), or None."""
    schedule = await DBOS.get_schedule_async(names.SWEEP_SCHEDULE)
    return dict(schedule) if schedule is not None else None
