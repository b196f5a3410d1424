"""reject_run: reject the plan a run waits with; the run plans again with the comment as feedback."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from specmill.answers import GateAnswered
from specmill.mcp_server.results import result, runs_of, tool_errors
from specmill.mcp_server.tools.approve_run import Comment
from specmill.mcp_server.tools.get_run import RunId


async def reject_run(
    run_id: RunId,
    comment: Annotated[Comment, Field(min_length=1, description="What to change: the next plan is made with it.")],
    ctx: Context,
) -> Annotated[CallToolResult, GateAnswered]:
    """Reject the plan of a run in awaiting_approval: it plans again with comment as feedback, or ends
    `rejected` once it has re-planned as often as its playbook allows."""
    with tool_errors():
        answered = await runs_of(ctx).answer_plan(run_id, "reject", comment)
    return result(answered, f"{answered.message}: follow it with wait_run")
