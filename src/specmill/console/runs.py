"""The runs list at `/`, each run's page, their live updates, and the actions on a run."""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from specmill.answers import GateAnswered
from specmill.api.errors import ApiError
from specmill.api.schemas import ApproveRun, ForkRun, RejectRun, ResumeRun, RunAccepted, RunStatus, RunSummary
from specmill.console import live
from specmill.console.deps import ConsoleDep
from specmill.console.render import fragment, page
from specmill.console.session import require_actor, require_viewer
from specmill.models import Budget
from specmill.names import RUN_ID_PATTERN

router = APIRouter(include_in_schema=False)
viewer = [Depends(require_viewer)]
actor = [Depends(require_actor)]
RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN)]
Filter = Annotated[str | None, Query(max_length=1000, pattern=r"^[^\x00]*$")]
STATUSES: tuple[str, ...] = get_args(RunStatus)


def _status(value: str | None) -> RunStatus | None:
    if not value:
        return None
    if value not in STATUSES:
        raise ApiError(422, "invalid_status", f"status '{value[:40]}' is not one of {', '.join(STATUSES)}")
    return value  # type: ignore[return-value]


@router.get("/", response_class=HTMLResponse, dependencies=viewer)
async def runs_page(
    request: Request,
    console: ConsoleDep,
    status: Filter = None,
    spec: Filter = None,
    repo: Filter = None,
    cursor: Annotated[str | None, Query(max_length=400, pattern=r"^[A-Za-z0-9_-]*$")] = None,
) -> HTMLResponse:
    filters = {"status": status or "", "spec": spec or "", "repo": repo or ""}
    listing = await console.runs_page(status=_status(status), spec=spec or None, repo=repo or None, cursor=cursor)
    return page(request, "runs.html", filters=filters, statuses=STATUSES, cursor=cursor, **listing)


@router.get("/console/runs/live", dependencies=viewer)
async def runs_live(
    request: Request, console: ConsoleDep, status: Filter = None, spec: Filter = None, repo: Filter = None
) -> StreamingResponse:
    """The first page of the list, as it changes."""
    wanted = _status(status)

    async def render() -> str:
        listing = await console.runs_page(status=wanted, spec=spec or None, repo=repo or None, cursor=None)
        return fragment("_run_rows.html", **listing)

    return live.stream(request, render)


@router.get("/console/runs/{run_id}", response_class=HTMLResponse, dependencies=viewer)
async def run_page(request: Request, run_id: RunId, console: ConsoleDep) -> HTMLResponse:
    return page(request, "run.html", **await console.run_page(run_id))


@router.get("/console/runs/{run_id}/live", dependencies=viewer)
async def run_live(request: Request, run_id: RunId, console: ConsoleDep) -> StreamingResponse:
    await console.runs.state(run_id)  # 404 before the stream starts

    async def render() -> str:
        return fragment("_run_live.html", **await console.run_page(run_id))

    return live.stream(request, render)


@router.post("/console/runs/{run_id}/cancel", status_code=202, dependencies=actor)
async def cancel(run_id: RunId, console: ConsoleDep) -> RunSummary:
    return await console.runs.cancel(run_id)


@router.post("/console/runs/{run_id}/resume", status_code=202, dependencies=actor)
async def resume(run_id: RunId, console: ConsoleDep, body: ResumeRun | None = None) -> RunAccepted:
    caps = (
        Budget(usd=body.budget_usd, tokens=body.budget_tokens)
        if body and (body.budget_usd or body.budget_tokens)
        else None
    )
    return await console.runs.resume(run_id, caps)


@router.post("/console/runs/{run_id}/fork", status_code=202, dependencies=actor)
async def fork(run_id: RunId, body: ForkRun, console: ConsoleDep) -> RunAccepted:
    return await console.runs.fork(run_id, body, None)


@router.post("/console/runs/{run_id}/approve", dependencies=actor)
async def approve(run_id: RunId, console: ConsoleDep, body: ApproveRun | None = None) -> GateAnswered:
    """Approve the plan a run waits with, as `POST /runs/{id}/approve` does."""
    return await console.runs.answer_plan(run_id, "approve", (body.comment if body else None) or "")


@router.post("/console/runs/{run_id}/reject", dependencies=actor)
async def reject(run_id: RunId, body: RejectRun, console: ConsoleDep) -> GateAnswered:
    """Reject the plan with a comment, as `POST /runs/{id}/reject` does: the run plans again with it."""
    return await console.runs.answer_plan(run_id, "reject", body.comment)
