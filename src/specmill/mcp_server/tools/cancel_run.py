"""cancel_run: stop a queued or running run at its next step."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult

from specmill.api.schemas import RunSummary
from specmill.mcp_server.results import result, runs_of, tool_errors
from specmill.mcp_server.tools.get_run import RunId


async def cancel_run(run_id: RunId, ctx: Context) -> Annotated[CallToolResult, RunSummary]:
    """Stop a queued or running run at its next step; resume_run continues it later."""
    with tool_errors():
        summary = await runs_of(ctx).cancel(run_id)
    return result(summary, f"run {run_id} is {summary.status}: resume_run continues it")
