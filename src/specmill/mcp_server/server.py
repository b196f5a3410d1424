"""The MCP server: specmill's tools and resources over the same run service as the HTTP API.

`build_server(lifespan)` is the one place tools are registered. The lifespan yields the
`RunService` the tools use: `stdio.py` launches DBOS for it, `http.py` hands over the API's own.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

from specmill import __version__
from specmill.api.service import RunService
from specmill.mcp_server import resources
from specmill.mcp_server.tools import (
    cancel_run,
    fork_run,
    get_diff,
    get_run,
    list_runs,
    resume_run,
    start_run,
    sweep,
    wait_run,
)

Lifespan = Callable[[MCPServer[Any]], AbstractAsyncContextManager[RunService]]

INSTRUCTIONS = """\
specmill implements spec notes kept in Basic Memory: it reads the spec, writes the code on a git branch of
its own, runs the repository's tests and checks every success criterion, in one durable run.
Start a run with start_run (spec and repository), follow it with wait_run, read it with get_run, and see
the change with get_diff. Runs survive restarts; resume_run continues one that stopped."""

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
CHANGES_RUNS = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)

TOOLS = [
    (start_run.start_run, CHANGES_RUNS),
    (get_run.get_run, READ_ONLY),
    (list_runs.list_runs, READ_ONLY),
    (get_diff.get_diff, READ_ONLY),
    (wait_run.wait_run, READ_ONLY),
    (resume_run.resume_run, CHANGES_RUNS),
    (fork_run.fork_run, CHANGES_RUNS),
    (cancel_run.cancel_run, ToolAnnotations(destructive_hint=True, idempotent_hint=True, open_world_hint=False)),
    (sweep.sweep, CHANGES_RUNS),
]


def build_server(lifespan: Lifespan) -> MCPServer[RunService]:
    server: MCPServer[RunService] = MCPServer(
        "specmill", instructions=INSTRUCTIONS, version=__version__, lifespan=lifespan, log_level="WARNING"
    )
    for tool, hints in TOOLS:
        server.add_tool(tool, annotations=hints)
    server.resource(resources.RUN_URI, name="run", mime_type="application/json")(resources.run_record)
    server.resource(resources.DIFF_URI, name="run_diff", mime_type="text/x-diff")(resources.run_diff)
    return server
