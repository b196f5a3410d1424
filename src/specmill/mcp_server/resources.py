"""The resources: a run as JSON (the API's full record) and its whole diff."""

from __future__ import annotations

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError

from specmill.api.errors import ApiError
from specmill.mcp_server.results import runs_of

RUN_URI = "specmill://runs/{run_id}"
DIFF_URI = "specmill://runs/{run_id}/diff"


async def run_record(run_id: str, ctx: Context) -> str:
    """The run as JSON: request, status, phase, every recorded step (failed ones with their traceback),
    tests, criteria, branch, commits, usage and cost per phase."""
    try:
        detail = await runs_of(ctx).detail(run_id)
    except ApiError as exc:
        raise ResourceError(exc.message) from None
    return detail.model_dump_json(indent=2)


async def run_diff(run_id: str, ctx: Context) -> str:
    """The whole unified diff of the run's branch against its base commit."""
    try:
        diff = await runs_of(ctx).diff(run_id)
    except ApiError as exc:
        raise ResourceError(exc.message) from None
    return diff.diff
