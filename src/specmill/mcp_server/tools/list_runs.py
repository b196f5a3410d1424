"""list_runs: runs, newest first, filtered by status, spec or repository."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from specmill.api.schemas import RunStatus
from specmill.mcp_server.results import result, runs_of, tool_errors
from specmill.mcp_server.views import RunList, describe_summary


async def list_runs(
    ctx: Context,
    status: Annotated[RunStatus | None, Field(description="Only runs in this status.")] = None,
    spec: Annotated[str | None, Field(max_length=1000, description="Only runs of this spec, as started.")] = None,
    repo: Annotated[str | None, Field(max_length=4096, description="Only runs in this repository root.")] = None,
    limit: Annotated[int, Field(ge=1, le=100, description="How many runs.")] = 20,
    cursor: Annotated[str | None, Field(max_length=400, description="next_cursor of an earlier page.")] = None,
) -> Annotated[CallToolResult, RunList]:
    """List runs, newest first, with status, phase, spec, repository and usage."""
    with tool_errors():
        page = await runs_of(ctx).list(status=status, spec=spec, repo=repo, limit=limit, cursor=cursor)
    found = RunList(runs=page.runs, next_cursor=page.next_cursor)
    lines = [describe_summary(run) for run in page.runs] or ["no runs"]
    if page.next_cursor:
        lines.append("more: pass cursor=next_cursor")
    return result(found, "\n".join(lines))
