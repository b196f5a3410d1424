"""wait_run: follow a run until it ends, waits for a person, or the timeout passes, with progress
notifications meanwhile."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from specmill import names, queries
from specmill.api.service import RunService
from specmill.mcp_server.results import result, runs_of, tool_errors
from specmill.mcp_server.tools.get_run import RunId
from specmill.mcp_server.views import RunView, describe, load_view
from specmill.queries import RunState


async def wait_run(
    run_id: RunId,
    ctx: Context,
    timeout_s: Annotated[float, Field(gt=0, le=3600, description="Seconds to wait at most.")] = 300,
) -> Annotated[CallToolResult, RunView]:
    """Wait until the run ends, waits for a person (awaiting_approval: answer with approve_run or
    reject_run; awaiting_budget) or timeout_s passes, then answer as get_run does. Each step the run
    records arrives as a progress notification where the client asked for them. Call it again if still running."""
    runs = runs_of(ctx)
    with tool_errors():
        await runs.state(run_id)  # an unknown run is a tool error before anything else
        past = len(await queries.run_events_so_far(run_id))
        state = await runs.state(run_id)
        if state.active and not waits_for_person(state):
            with anyio.move_on_after(timeout_s):
                await follow(runs, run_id, past, ctx)
        view = await load_view(runs, run_id)
    text = describe(view)
    if view.status in ("queued", "running"):
        text += f"\nstill {view.status} after {timeout_s:g} s: call wait_run again to keep waiting"
    return result(view, text)


async def follow(runs: RunService, run_id: str, past: int, ctx: Context) -> None:
    """Report each event until the run ends, or until it opens a gate (an `awaiting_*` event published
    after the `past` events already there) and the gate shows in its state."""
    async for offset, event in runs.events(run_id, 0):
        await ctx.report_progress(offset + 1, None, progress_message(event))
        kind = event.get("kind") if isinstance(event, dict) else getattr(event, "kind", "")
        if offset >= past and str(kind).startswith("awaiting_"):
            while (state := await runs.state(run_id)).active and not waits_for_person(state):
                await anyio.sleep(0.05)  # the event is published just before the gate is recorded
            return


def waits_for_person(state: RunState) -> bool:
    """A gate is open and nobody answered it yet: a plan just approved still shows its gate until the
    run takes the answer, and a wait then follows the run on."""
    gate = state.gate
    if gate is None:
        return False
    answer = (state.attributes or {}).get(names.GATE_ANSWER_ATTRIBUTE)
    return not (isinstance(answer, dict) and answer.get("gate") == gate.get("id"))


def progress_message(event: Any) -> str:
    """A recorded progress event (the run's DBOS stream) in a few words."""
    if not isinstance(event, dict):
        return str(event)[:200]
    kind = str(event.get("kind", "")).replace("_", " ")
    where = event.get("step") or event.get("phase") or ""
    detail = str(event.get("detail") or "")[:160]
    return " ".join(part for part in (where, kind, detail and f"({detail})") if part)
