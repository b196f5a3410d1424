"""approve_run: approve the plan a run in `awaiting_approval` waits with, so it goes on to write code."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from specmill.answers import GateAnswered
from specmill.mcp_server.results import result, runs_of, tool_errors
from specmill.mcp_server.tools.get_run import RunId

Comment = Annotated[str, Field(max_length=10_000, pattern=r"^[^\x00]*$")]


async def approve_run(
    run_id: RunId,
    ctx: Context,
    comment: Annotated[Comment | None, Field(description="A note kept with the approval.")] = None,
) -> Annotated[CallToolResult, GateAnswered]:
    """Approve the plan of a run in awaiting_approval (read it with get_run first): the run goes on to
    implement it. Approving twice changes nothing and says so (`already`)."""
    with tool_errors():
        answered = await runs_of(ctx).answer_plan(run_id, "approve", comment or "")
    return result(answered, f"{answered.message}: follow it with wait_run")
