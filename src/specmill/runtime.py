"""DBOS runtime: configuration, launch and shutdown. The only module besides the
workflow that imports `dbos`.

Config is built in code (DBOS 3.x reads no yaml at run time). Every process gets an
explicit executor id and application version: otherwise DBOS names every process
"local" and versions the code by hash, so an edit would orphan pending runs.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys

from dbos import DBOS, DBOSConfig, SetWorkflowID

from specmill import workflow
from specmill.config import Settings
from specmill.container import Container
from specmill.errors import EnvironmentProblem, RunNotFound
from specmill.models import RunRequest, RunResult

log = logging.getLogger("specmill.runtime")


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


def launch(settings: Settings, container: Container, executor_id: str | None = None) -> None:
    """Start DBOS in this process; pending runs of this executor id and version recover now."""
    url = settings.database_url()
    check_sqlite_support(url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    workflow.use(container)
    DBOS(config=dbos_config(settings, executor_id))
    DBOS.launch()
    log.info("DBOS launched on %s as executor %s", _redact(url), executor_id or settings.executor_id)


def shutdown() -> None:
    DBOS.destroy(workflow_completion_timeout_sec=0)
    workflow.use(None)


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


# --- operations on runs ----------------------------------------------------------------


def recorded_run(settings: Settings, run_id: str) -> tuple[str, str | None] | None:
    """(status, executor id) of a recorded run, read without launching DBOS; None if unknown."""
    from dbos import DBOSClient

    url = settings.database_url()
    if url.startswith("sqlite") and not (settings.data_dir / "specmill.sqlite").exists():
        return None
    client = DBOSClient(system_database_url=url)
    try:
        status = client.retrieve_workflow(run_id).get_status()
    except Exception:
        return None
    finally:
        client.destroy()
    return status.status, status.executor_id


def start_run(request: RunRequest, run_id: str) -> RunResult:
    """Start the run `run_id`, or continue / report it when it already exists, and wait for it."""
    status = DBOS.get_workflow_status(run_id)
    if status is None:
        with SetWorkflowID(run_id):
            handle = DBOS.start_workflow(workflow.run_spec, request)
        return handle.get_result()
    return continue_run(run_id)


def continue_run(run_id: str) -> RunResult:
    """Wait for a pending run (launch recovered it), or re-run a failed or cancelled one
    from the step that stopped it; completed steps are not run again."""
    status = DBOS.get_workflow_status(run_id)
    if status is None:
        raise RunNotFound(f"no run '{run_id}' in this system database: check the id and DBOS_SYSTEM_DATABASE_URL")
    if status.status == "ERROR":
        DBOS.rewind_workflow(run_id, start_step=first_failed_step(run_id))
    elif status.status in ("CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"):
        DBOS.resume_workflow(run_id)
    return DBOS.retrieve_workflow(run_id).get_result()


def first_failed_step(run_id: str) -> int:
    """The failed step's id; past the last step when the workflow body itself failed."""
    steps = DBOS.list_workflow_steps(run_id)  # errors load with the outputs
    for step in steps:
        if step["error"] is not None:
            return step["function_id"]
    return max((s["function_id"] for s in steps), default=0) + 1
