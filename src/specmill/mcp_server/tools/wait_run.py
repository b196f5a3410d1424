"""wait_run: follow a run until it ends or the timeout passes, with progress notifications meanwhile."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from specmill.mcp_server.results import result, runs_of, tool_errors
from specmill.mcp_server.tools.get_run import RunId
from specmill.mcp_server.views import RunView, describe, load_view


async def wait_run(
    run_id: RunId,
    ctx: Context,
    timeout_s: Annotated[float, Field(gt=0, le=3600, description="Seconds to wait at most.")] = 300,
) -> Annotated[CallToolResult, RunView]:
    """Wait until the run ends or timeout_s passes, then answer as get_run does. Each step the run records
    arrives as a progress notification where the client asked for them. Call it again if still running."""
    runs = runs_of(ctx)
    with tool_errors():
        state = await runs.state(run_id)
        if state.active:
            with anyio.move_on_after(timeout_s):
                seen = 0
                async for _, event in runs.events(run_id, 0):
                    seen += 1
                    await ctx.report_progress(seen, None, progress_message(event))
        view = await load_view(runs, run_id)
    text = describe(view)
    if view.status in ("queued", "running"):
        text += f"\nstill {view.status} after {timeout_s:g} s: call wait_run again to keep waiting"
    return result(view, text)


def progress_message(event: Any) -> str:
    """A recorded progress event (the run's DBOS stream) in a few words."""
    if not isinstance(event, dict):
        return str(event)[:200]
    kind = str(event.get("kind", "")).replace("_", " ")
    where = event.get("step") or event.get("phase") or ""
    detail = str(event.get("detail") or "")[:160]
    return " ".join(part for part in (where, kind, detail and f"({detail})") if part)
