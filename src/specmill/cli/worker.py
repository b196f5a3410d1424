"""`specmill worker`: work the `implementations` queue, without HTTP, and keep the sweep schedule.

A worker is a long-running DBOS executor. Its id (`SPECMILL_EXECUTOR_ID`) and application
version (`SPECMILL_APP_VERSION`) are explicit, so a worker restarted under the same id and
version recovers the runs it was working on when it died; runs it never started wait on
the queue for any worker.

SIGTERM (or Ctrl-C) stops dequeuing and starting steps at once; a step in flight gets
`SPECMILL_WORKER_GRACE_S` to finish and be checkpointed. Every unfinished run stays PENDING
under this executor id and continues from its last completed step at the next start.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Annotated, Optional

import typer

from specmill import graceful_stop, names
from specmill.cli.errors import EXIT_UNAVAILABLE, fail
from specmill.config import Settings

log = logging.getLogger("specmill.worker")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    executor_id: Annotated[
        Optional[str], typer.Option(help="DBOS executor id; SPECMILL_EXECUTOR_ID by default.")
    ] = None,
    concurrency: Annotated[
        Optional[int], typer.Option(min=1, help="Runs at once; SPECMILL_QUEUE_CONCURRENCY by default.")
    ] = None,
) -> None:
    """Work queued runs until SIGTERM; a restart under the same executor id recovers its runs."""
    from specmill import runtime
    from specmill.container import build_container
    from specmill.retention import WorktreeRetention

    overrides: dict[str, object] = {}
    if executor_id:
        overrides["executor_id"] = executor_id
    if concurrency:
        overrides["queue_concurrency"] = concurrency
    settings = Settings(**overrides)  # type: ignore[arg-type]
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    container = build_container(settings)
    try:
        runtime.launch(settings, container)
        runtime.register_run_queue(settings)
        runtime.apply_sweep_schedule(settings)  # every process that works the queue keeps the schedule
    except Exception as exc:
        fail(exc, code=EXIT_UNAVAILABLE, context=f"worker could not start: {type(exc).__name__}: ")
    retention = WorktreeRetention(settings).start()
    typer.echo(
        f"worker {settings.executor_id} (version {settings.app_version}) working queue {names.RUN_QUEUE}", err=True
    )
    stop.wait()
    typer.echo(
        f"worker {settings.executor_id}: stopping; steps in flight get {settings.worker_grace_s:g} s to finish",
        err=True,
    )
    retention.stop()
    try:
        cut_off = runtime.stop_working(settings.worker_grace_s)
        typer.echo(
            f"worker {settings.executor_id}: stopped; {graceful_stop.held() + cut_off} run(s) continue "
            "at its next start" + (f" ({cut_off} cut off mid-step: that step runs again)" if cut_off else ""),
            err=True,
        )
        runtime.release_executor()
        container.close()
    finally:
        # Runs held between steps (or cut off mid-step) must not hold the process open: they stay
        # PENDING and continue from their last completed step at the next start under this executor id.
        os._exit(0)
