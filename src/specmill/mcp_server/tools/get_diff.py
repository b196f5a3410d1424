"""get_diff: the change a run made, as a unified diff against its base, cut short past a size."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult

from specmill.mcp_server.results import result, runs_of, tool_errors
from specmill.mcp_server.tools.get_run import RunId
from specmill.mcp_server.views import DiffView

MAX_DIFF_CHARS = 40_000
"""About 10k tokens: enough for most changes, small enough to leave room in a model's context."""


async def get_diff(run_id: RunId, ctx: Context) -> Annotated[CallToolResult, DiffView]:
    """The unified diff of the run's branch head against its base commit (truncated past 40,000 characters;
    the resource specmill://runs/{run_id}/diff has it whole)."""
    with tool_errors():
        diff = await runs_of(ctx).diff(run_id)
    shown = diff.diff[:MAX_DIFF_CHARS]
    view = DiffView(
        run_id=run_id,
        branch=diff.branch,
        base_commit=diff.base_commit,
        head_commit=diff.head_commit,
        diff=shown,
        truncated=len(shown) < len(diff.diff),
        total_chars=len(diff.diff),
    )
    head = f"diff of run {run_id}, branch {diff.branch} ({diff.base_commit[:12]}..{diff.head_commit[:12]})"
    if view.truncated:
        head += (
            f"; truncated to the first {MAX_DIFF_CHARS:,} of {len(diff.diff):,} characters: "
            f"read specmill://runs/{run_id}/diff for the rest"
        )
    return result(view, f"{head}\n\n{shown or '(no changes)'}")
