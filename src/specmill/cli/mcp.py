"""`specmill mcp`: specmill's tools for an MCP client over stdio (`claude mcp add specmill -- specmill mcp`).

The process is also a worker of the `implementations` queue (unless `--no-worker`), under an executor
id it claims with a lock: a fixed base (SPECMILL_MCP_EXECUTOR_ID), then BASE-2, BASE-3... while
other `specmill mcp` processes hold the first ones. The next process to claim a dead one's id
recovers its runs. stdout carries the protocol; everything else goes to stderr.
"""

from __future__ import annotations

import os
import sys
import uuid
from typing import Annotated, Optional

import typer

from specmill import names
from specmill.cli.errors import EXIT_UNAVAILABLE, fail
from specmill.config import Settings


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)


def mcp(
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Only enqueue: leave queued runs to `serve` or `worker` processes.")
    ] = False,
    executor_id: Annotated[
        Optional[str], typer.Option(help="Base executor id; SPECMILL_MCP_EXECUTOR_ID (mcp-HOSTNAME) by default.")
    ] = None,
) -> None:
    """Serve specmill's tools and resources to an MCP client over stdio."""
    from specmill.mcp_server.executor_claim import claim_executor_id
    from specmill.mcp_server.server import build_server
    from specmill.mcp_server.stdio import stdio_lifespan

    settings = Settings()
    try:
        if no_worker:  # an id of its own, so its launch recovers nobody's runs
            executor = f"mcp-client-{uuid.uuid4().hex[:8]}"
        else:
            claim = claim_executor_id(settings.data_dir / "executors", executor_id or settings.mcp_executor_id)
            executor = claim.executor_id  # the lock is held until the process exits
    except Exception as exc:
        fail(exc, code=EXIT_UNAVAILABLE, context="specmill mcp could not start: ")
    role = "enqueues only" if no_worker else f"works queue {names.RUN_QUEUE}"
    typer.echo(f"specmill mcp: executor {executor}, pid {os.getpid()}, {role}", err=True)
    server = build_server(stdio_lifespan(settings, executor, work_queue=not no_worker))
    try:
        server.run("stdio")
    except Exception as exc:
        typer.echo(f"error: specmill mcp stopped: {type(exc).__name__}: {exc}", err=True)
        sys.stderr.flush()
        os._exit(EXIT_UNAVAILABLE)
    # Runs held between steps must not keep the process alive: they stay pending under this
    # executor id and continue from their last completed step in the next process that claims it.
    sys.stderr.flush()
    os._exit(0)
