"""get_run: a run's status, phase, branch, tests, criteria with evidence, cost, and where it executes."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from specmill.mcp_server.results import result, runs_of, tool_errors
from specmill.mcp_server.views import RunView, describe, load_view

RunId = Annotated[str, Field(min_length=1, max_length=100, description="The run id start_run answered.")]


async def get_run(run_id: RunId, ctx: Context) -> Annotated[CallToolResult, RunView]:
    """Read a run: status, phase, branch and head commit, the latest tests, each success criterion with
    its evidence, cost, why it was not accepted, and which process executes it."""
    with tool_errors():
        view = await load_view(runs_of(ctx), run_id)
    return result(view, describe(view))
