"""/runs: start a run, list and read runs, and steer one (cancel, resume, fork, approve, reject, budget)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request

from specmill.answers import GateAnswered
from specmill.api.auth import caller_of, require_token
from specmill.api.deps import RunsDep
from specmill.api.errors import documented
from specmill.api.guards import JSON_BODY
from specmill.api.schemas import (
    TEXT_PATTERN,
    ApproveRun,
    ForkRun,
    RaiseBudget,
    RejectRun,
    ResumeRun,
    RunAccepted,
    RunDetail,
    RunDiff,
    RunPage,
    RunStatus,
    RunSummary,
    StartRun,
)
from specmill.models import Budget
from specmill.names import RUN_ID_PATTERN

router = APIRouter(
    prefix="/runs", tags=["runs"], dependencies=[Depends(require_token), JSON_BODY], responses=documented(401, 403)
)

RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="The run id (its DBOS workflow id).")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=RUN_ID_PATTERN,
        description="Becomes the run id: the same key returns the same run instead of starting another.",
    ),
]


@router.post("", status_code=202, responses=documented(409, 413, 415, 422, 429, 503))
async def start_run(
    body: StartRun, runs: RunsDep, request: Request, idempotency_key: IdempotencyKey = None
) -> RunAccepted:
    """Enqueue a run and answer at once; follow it at `events_url`. A `repo` or `playbook` left out is
    the one the spec's frontmatter names; a field given wins. Cheap checks (the repository, the
    playbook) answer 422 now, and so does a spec that cannot be read when it must name the repository
    (`no_repo` when nothing names one); otherwise a spec that cannot be read fails the run, with the
    reason in it. Past the server's budget cap or its queue quota for the caller, 429."""
    return await runs.start(body, idempotency_key, caller_of(request))


@router.get("", responses=documented(422))
async def list_runs(
    runs: RunsDep,
    status: RunStatus | None = None,
    spec: Annotated[
        str | None, Query(max_length=1000, pattern=TEXT_PATTERN, description="As the run was started.")
    ] = None,
    repo: Annotated[
        str | None, Query(max_length=4096, pattern=TEXT_PATTERN, description="The repository root.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=400, pattern=r"^[A-Za-z0-9_-]*$", description="A `next_cursor`.")
    ] = None,
) -> RunPage:
    """Runs, newest first."""
    return await runs.list(status=status, spec=spec, repo=repo, limit=limit, cursor=cursor)


@router.get("/{run_id}", responses=documented(404, 422))
async def get_run(run_id: RunId, runs: RunsDep) -> RunDetail:
    """The request, status, phase, the timeline of every recorded step, tests, verdict, branch and usage."""
    return await runs.detail(run_id)


@router.get("/{run_id}/diff", responses=documented(404, 409, 422, 503))
async def get_diff(run_id: RunId, runs: RunsDep) -> RunDiff:
    """The unified diff of the run's branch head against its base commit."""
    return await runs.diff(run_id)


@router.post("/{run_id}/cancel", status_code=202, responses=documented(404, 409, 413, 415, 422))
async def cancel_run(run_id: RunId, runs: RunsDep) -> RunSummary:
    """Stop a queued or running run at its next step; resume it later with /resume."""
    return await runs.cancel(run_id)


@router.post("/{run_id}/resume", status_code=202, responses=documented(404, 409, 413, 415, 422, 429))
async def resume_run(run_id: RunId, runs: RunsDep, body: ResumeRun | None = None) -> RunAccepted:
    """Continue a run in `error`, `cancelled` or `budget_exhausted` from the step that stopped it, with
    `budget_usd` / `budget_tokens` as its new caps when given; completed steps are not run again."""
    caps = (
        Budget(usd=body.budget_usd, tokens=body.budget_tokens)
        if body and (body.budget_usd or body.budget_tokens)
        else None
    )
    return await runs.resume(run_id, caps)


@router.post("/{run_id}/approve", responses=documented(404, 409, 413, 415, 422))
async def approve_run(run_id: RunId, runs: RunsDep, body: ApproveRun | None = None) -> GateAnswered:
    """Approve the plan a run in `awaiting_approval` waits with; it goes on to write code. Approving
    again is a no-op that says so (`already`)."""
    return await runs.answer_plan(run_id, "approve", (body.comment if body else None) or "")


@router.post("/{run_id}/reject", responses=documented(404, 409, 413, 415, 422))
async def reject_run(run_id: RunId, body: RejectRun, runs: RunsDep) -> GateAnswered:
    """Reject the plan: the run plans again with `comment` as feedback, or ends `rejected` once it
    has re-planned as often as its playbook allows."""
    return await runs.answer_plan(run_id, "reject", body.comment)


@router.post("/{run_id}/budget", responses=documented(404, 409, 413, 415, 422))
async def raise_budget(run_id: RunId, body: RaiseBudget, runs: RunsDep) -> GateAnswered:
    """Raise the caps of a run in `awaiting_budget`; the same run continues in place."""
    return await runs.raise_budget(run_id, Budget(usd=body.budget_usd, tokens=body.budget_tokens))


@router.post("/{run_id}/fork", status_code=202, responses=documented(404, 409, 413, 415, 422, 429, 503))
async def fork_run(
    run_id: RunId, body: ForkRun, runs: RunsDep, request: Request, idempotency_key: IdempotencyKey = None
) -> RunAccepted:
    """Start a new run that reuses this run's recorded steps before `from_phase`, with `overrides`."""
    return await runs.fork(run_id, body, idempotency_key, caller_of(request))
