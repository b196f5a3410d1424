"""resume_run: continue a run that stopped (error, cancelled, budget exhausted) from the step that stopped it."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from specmill.mcp_server.results import result, runs_of, tool_errors
from specmill.mcp_server.tools.get_run import RunId
from specmill.mcp_server.views import RunStarted
from specmill.models import Budget


async def resume_run(
    run_id: RunId,
    ctx: Context,
    budget_usd: Annotated[float | None, Field(gt=0, le=1_000_000, description="A new dollar cap of the run.")] = None,
) -> Annotated[CallToolResult, RunStarted]:
    """Continue a run in error, cancelled or budget_exhausted from the step that stopped it, on the queue;
    completed steps (model calls included) are not run again. Give budget_usd to raise its cap."""
    runs = runs_of(ctx)
    with tool_errors():
        accepted = await runs.resume(run_id, Budget(usd=budget_usd) if budget_usd else None)
        summary = await runs.summary(accepted.run_id)
    resumed = RunStarted(run_id=run_id, status=summary.status, resource=f"specmill://runs/{run_id}")
    return result(resumed, f"run {run_id} resumed, now {resumed.status}: follow it with wait_run")
