"""start_run: check the request, then put a run on the `implementations` queue and answer at once."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from specmill import preflight
from specmill.api.schemas import StartRun
from specmill.mcp_server.results import playbook_name, result, runs_of, tool_errors
from specmill.mcp_server.views import RunStarted


async def start_run(
    spec: Annotated[str, Field(description="Permalink, title or memory:// URL of the spec note in Basic Memory.")],
    ctx: Context,
    repo: Annotated[
        str | None,
        Field(
            description="Path of the git repository to implement it in, on the server; "
            "the spec's frontmatter `repo:` when omitted."
        ),
    ] = None,
    project: Annotated[
        str | None, Field(description="Basic Memory project; the server's default when omitted.")
    ] = None,
    playbook: Annotated[
        str | None,
        Field(description="Name of one of the server's playbooks; the spec's frontmatter `playbook:` when omitted."),
    ] = None,
    base: Annotated[str | None, Field(description="Branch, tag or commit to start from; HEAD when omitted.")] = None,
    max_iterations: Annotated[int | None, Field(ge=1, le=20, description="Implement/test/validate rounds.")] = None,
    budget_usd: Annotated[float | None, Field(gt=0, le=1_000_000, description="Dollar cap of the model calls.")] = None,
    publish: Annotated[
        Literal["none", "push", "pr"] | None,
        Field(description="After the run: push its branch, or push it and open a pull request."),
    ] = None,
    approval: Annotated[
        Literal["none", "plan"] | None,
        Field(description="`plan`: the run plans first and waits for approve_run or reject_run before any code."),
    ] = None,
) -> Annotated[CallToolResult, RunStarted]:
    """Implement a spec note in a git repository: queue a durable run and answer with its id at once.

    The run reads the spec, implements it on a branch of its own, runs the repository's tests and checks
    every success criterion. Follow it with wait_run, read it with get_run and the change with get_diff."""
    runs = runs_of(ctx)
    with tool_errors():
        body = StartRun(
            spec=spec,
            repo=repo,
            project=project,
            playbook=playbook_name(playbook, runs),
            base=base,
            max_iterations=max_iterations,
            budget_usd=budget_usd,
            publish=publish,
            approval=approval,
        )
        if body.repo:  # the repository first (cheap), then the note itself, once
            await asyncio.to_thread(preflight.check_request, body.to_request(), runs.settings)
        # a spec that does not exist or has no success criteria is refused now, where the API fails the run later
        accepted = await runs.start(body, None, require_spec=True)
        summary = await runs.summary(accepted.run_id)
    started = RunStarted(run_id=accepted.run_id, status=summary.status, resource=f"specmill://runs/{accepted.run_id}")
    return result(started, f"run {started.run_id} is {started.status}: follow it with wait_run")
