"""What the API reads, and where the workflow keeps what people review after a run.

Two sources, one module: DBOS's own records of a run (status, recorded steps, the event
stream), and specmill's tables (`records`) reached through a DBOS datasource. It is the
third module that imports `dbos`, because a datasource has to be created between
`DBOS(config)` and `DBOS.launch()`, and because a datasource transaction called from the
workflow is a step: its rows commit together with its checkpoint, so each write happens
exactly once even when the run is recovered or rewound.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from dbos import DBOS, SQLAlchemyDatasource

from specmill import records, workflow
from specmill.config import Settings
from specmill.models import ModelTurn, RunRequest, RunResult, TestReport, ToolOutcome, Verdict

T = TypeVar("T")
_datasource: SQLAlchemyDatasource | None = None


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

    @property
    def active(self) -> bool:
        return self.status in ("ENQUEUED", "PENDING", "DELAYED")


@dataclass(frozen=True)
class StepRecord:
    step_id: int
    name: str
    output: Any
    error: BaseException | None
    started_ms: int | None
    completed_ms: int | None


# --- lifecycle ------------------------------------------------------------------------


def open_records(settings: Settings) -> None:
    """Migrate specmill's tables and open their datasource (between `DBOS(config)` and launch)."""
    global _datasource
    url = settings.records_url()
    if url.startswith("sqlite"):
        records.use_wal(url)
    records.upgrade(url)
    pool = {} if url.startswith("sqlite") else {"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True}
    _datasource = SQLAlchemyDatasource.create(records.sqlalchemy_url(url), engine_kwargs=pool)


def close_records() -> None:
    """Forget the datasource. DBOS keeps every datasource of the process in its registry to
    clean their checkpoints on rewind; one left there after its database is gone (a test's,
    or a relaunch on another URL) would make every later rewind fail, so it is taken out."""
    global _datasource
    if _datasource is None:
        return
    from dbos._dbos import _get_or_create_dbos_registry

    registered = _get_or_create_dbos_registry().datasources
    if _datasource in registered:
        registered.remove(_datasource)
    _datasource.engine.dispose()
    _datasource = None


def _ds() -> SQLAlchemyDatasource:
    if _datasource is None:
        raise RuntimeError("specmill's records are not open: call runtime.launch() first")
    return _datasource


# --- specmill's tables ------------------------------------------------------------------


def transact(name: str, fn: Callable[..., T], *args: Any) -> T:
    """`fn(session, *args)` in one transaction; inside the workflow, a step named `name`."""
    ds = _ds()
    return ds.run_tx_step({"name": name}, lambda *a: fn(ds.sql_session(), *a), *args)


def read(fn: Callable[..., T], *args: Any) -> T:
    with _ds().engine.connect() as conn:
        return fn(conn, *args)


def write(fn: Callable[..., T], *args: Any) -> T:
    with _ds().engine.begin() as conn:
        return fn(conn, *args)


async def read_async(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(read, fn, *args)


async def write_async(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(write, fn, *args)


def run_overrides(run_id: str) -> records.RunOverrides | None:
    record = read(records.get_run, run_id)
    return record.overrides if record else None


def record_attempt(
    session: Any, run_id: str, attempt: int, head: str, report: TestReport, verdict: Verdict, diff: Callable[[], str],
) -> None:
    """What people review after an attempt (its diff, test report, verdict and model transcript),
    kept in specmill's tables and not only inside step outputs. Runs inside `transact`."""
    records.save_artifacts(session, run_id, attempt, head, {
        "diff": diff(),
        "test_report": report.model_dump_json(),
        "verdict": verdict.model_dump_json(),
        "transcript": json.dumps(attempt_transcript(run_id)),
    })


def attempt_transcript(run_id: str) -> list[dict[str, Any]]:
    """The current attempt's model replies and tool results in order, as DBOS recorded them:
    the implement steps since the previous attempt was recorded. Called from a step."""
    steps = DBOS.list_workflow_steps(run_id)
    since = max((s["function_id"] for s in steps if s["function_name"] == "record_attempt"), default=0)
    transcript: list[dict[str, Any]] = []
    for step in steps:
        output = step["output"]
        if step["function_id"] <= since or step["error"] is not None:
            continue
        if isinstance(output, ModelTurn):
            transcript.append({"role": "assistant", "content": output.content, "usage": output.usage.model_dump()})
        elif isinstance(output, ToolOutcome):
            transcript.append({"role": "tool", "tool_use_id": output.tool_use_id, "content": output.content, "is_error": output.is_error})
    return transcript


# --- DBOS's records ---------------------------------------------------------------------


async def run_state(run_id: str) -> RunState | None:
    status = await DBOS.get_workflow_status_async(run_id)
    return _state(status) if status is not None and status.name == workflow.WORKFLOW_NAME else None


async def run_states(run_ids: list[str]) -> dict[str, RunState]:
    """Status and result of several runs in one query (inputs are left in the database)."""
    if not run_ids:
        return {}
    statuses = await DBOS.list_workflows_async(
        workflow_ids=run_ids, name=workflow.WORKFLOW_NAME, load_input=False, load_output=True,
    )
    return {s.workflow_id: _state(s) for s in statuses}


async def run_steps(run_id: str, *, load_output: bool = True) -> list[StepRecord]:
    steps = await DBOS.list_workflow_steps_async(run_id, load_output=load_output)
    return [
        StepRecord(
            step_id=s["function_id"], name=s["function_name"], output=s["output"], error=s["error"],
            started_ms=s["started_at_epoch_ms"], completed_ms=s["completed_at_epoch_ms"],
        )
        for s in steps
    ]


async def run_events(run_id: str, offset: int) -> AsyncIterator[tuple[int, Any]]:
    """(offset, event) from the run's progress stream, waiting for more until the run ends."""
    values = DBOS.read_stream_async(run_id, workflow.EVENTS_STREAM, offset=offset)
    try:
        async for value in values:
            yield offset, value
            offset += 1
    finally:
        await values.aclose()


async def ping() -> None:
    """Raise unless the system database and specmill's tables answer."""
    await DBOS.list_workflows_async(limit=1, load_input=False, load_output=False)
    await read_async(lambda conn: conn.execute(sa.text("SELECT 1")).scalar_one())


def _state(status: Any) -> RunState:
    args = (status.input or {}).get("args") or ()
    request = args[0] if args and isinstance(args[0], RunRequest) else None
    result = status.output if isinstance(status.output, RunResult) else None
    return RunState(
        run_id=status.workflow_id, status=status.status, request=request, result=result,
        error=status.error, created_ms=status.created_at, updated_ms=status.updated_at,
        completed_ms=status.completed_at, forked_from=status.forked_from,
    )
