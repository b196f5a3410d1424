"""fork_run: a new run that reuses an existing run's recorded steps before a phase."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from specmill.api.schemas import ForkPhase, ForkRun
from specmill.mcp_server.results import playbook_name, result, runs_of, tool_errors
from specmill.mcp_server.tools.get_run import RunId
from specmill.mcp_server.views import RunStarted
from specmill.records import RunOverrides


async def fork_run(
    run_id: RunId,
    from_phase: Annotated[ForkPhase, Field(description="The first phase the new run executes again.")],
    ctx: Context,
    overrides: Annotated[
        RunOverrides | None,
        Field(description="model, playbook (a name) or max_iterations, from the implement phase on."),
    ] = None,
) -> Annotated[CallToolResult, RunStarted]:
    """Start a new run that reuses this run's recorded steps before from_phase, optionally with another model,
    playbook or number of iterations (overrides apply from implement on, so fork from implement or earlier)."""
    runs = runs_of(ctx)
    changes = overrides or RunOverrides()
    with tool_errors():
        playbook_name(changes.playbook, runs)
        accepted = await runs.fork(run_id, ForkRun(from_phase=from_phase, overrides=changes), None)
        summary = await runs.summary(accepted.run_id)
    forked = RunStarted(run_id=accepted.run_id, status=summary.status, resource=f"specmill://runs/{accepted.run_id}")
    return result(forked, f"run {forked.run_id} forked from {run_id} at {from_phase}, now {forked.status}")
