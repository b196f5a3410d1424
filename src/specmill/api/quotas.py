"""What one caller may ask of the server: a dollar cap per run, and a number of runs in the queue.

Both are the operator's (`SPECMILL_MAX_BUDGET_USD`, `SPECMILL_MAX_QUEUED_RUNS_PER_TOKEN`); past
either the API answers 429 with the limit in the message. A run that asks no dollar cap gets the
server's, so no caller can start an uncapped run on a server that has one.
"""

from __future__ import annotations

from specmill import queries, records, run_index
from specmill.api.errors import ApiError
from specmill.config import Settings
from specmill.models import Budget, RunRequest

LOCAL_CALLER = "local"
"""The caller of an API without tokens: whoever can reach loopback."""
SCAN = 500  # a caller's active runs are among its newest


def capped(request: RunRequest, settings: Settings) -> RunRequest:
    check_budget(request.budget_usd, settings)
    if settings.max_budget_usd is None or request.budget_usd is not None:
        return request
    return request.model_copy(update={"budget_usd": settings.max_budget_usd})


def capped_budget(caps: Budget | None, settings: Settings) -> Budget | None:
    """New caps given at resume obey the same limit."""
    if caps is not None:
        check_budget(caps.usd, settings)
    return caps


def check_budget(usd: float | None, settings: Settings) -> None:
    limit = settings.max_budget_usd
    if limit is not None and usd is not None and usd > limit:
        raise ApiError(
            429,
            "budget_over_quota",
            f"budget_usd {usd:g} is over this server's limit of {limit:g} per run: ask for {limit:g} or less",
        )


async def check_queue(caller: str, settings: Settings) -> None:
    limit = settings.max_queued_runs_per_token
    if limit is None:
        return
    run_ids = await run_index.read_async(records.runs_of_caller, caller, SCAN)
    states = await queries.run_states(run_ids)
    active = sum(1 for state in states.values() if state.active)
    if active >= limit:
        raise ApiError(
            429,
            "too_many_queued_runs",
            f"{active} runs of this caller are queued or running, the limit is {limit}: "
            "wait for one to finish, or cancel one",
            headers={"Retry-After": "30"},
        )
