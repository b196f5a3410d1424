"""sweep: find the spec notes marked ready and queue one run per new version of each."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import Field

from specmill.mcp_server.results import result, runs_of, tool_errors
from specmill.sweep import workflow as sweeps
from specmill.sweep.models import SweepRequest, SweepResult


async def sweep(
    ctx: Context,
    dry_run: Annotated[bool, Field(description="List what would be queued and write nothing.")] = True,
    project: Annotated[str | None, Field(description="Basic Memory project; the server's default.")] = None,
) -> Annotated[CallToolResult, SweepResult]:
    """Find the spec notes marked ready (status ready/approved) with a repository and queue one run per
    new version of each, as the nightly sweep does. A dry run (the default) only lists them."""
    runs = runs_of(ctx)
    name = project or runs.settings.project
    if not name:
        raise ToolError("no Basic Memory project given: pass project, or set SPECMILL_PROJECT on the server")
    request = SweepRequest(project=name)
    with tool_errors():
        if dry_run:
            found = await asyncio.to_thread(sweeps.dry_run, runs.settings, runs.container, request)
        else:
            sweep_id = f"sweep-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
            found = await asyncio.to_thread(sweeps.run_sweep, request, sweep_id)
    verb = "would queue" if found.dry_run else "queued"
    lines = [f"{found.spec_notes} spec notes, {len(found.candidates)} ready, {len(found.enqueued)} {verb}"]
    lines += [f"{verb} {c.run_id}: {c.permalink} -> {c.repo}" for c in found.enqueued]
    lines += [f"skipped {s.permalink}: {s.reason}" for s in found.skipped[:20]]
    return result(found, "\n".join(lines))
