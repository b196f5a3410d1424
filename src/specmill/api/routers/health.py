"""/healthz: is the system database reachable, and does Basic Memory answer? Open to
probes without a token; it names no run and no secret."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from specmill import queries
from specmill.api.deps import RunsDep
from specmill.api.schemas import CheckResult, Health
from specmill.ports import SpecStore

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 10.0


@router.get("/healthz", responses={503: {"model": Health, "description": "a dependency is unreachable"}})
async def healthz(runs: RunsDep) -> Health:
    database, memory = await asyncio.gather(_check(queries.ping()), _check(_basic_memory(runs.container.spec_store)))
    health = Health(
        status="ok" if database.ok and memory.ok else "unavailable", system_database=database, basic_memory=memory
    )
    if health.status != "ok":
        return JSONResponse(health.model_dump(), status_code=503)  # type: ignore[return-value]
    return health


async def _basic_memory(store: SpecStore) -> None:
    """The spec store answers when its MCP session lists its tools; in-process stores always answer."""
    list_tools = getattr(store, "list_tools", None)
    if callable(list_tools):
        await asyncio.to_thread(list_tools)


async def _check(probe: object) -> CheckResult:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_S)  # type: ignore[arg-type]
    except Exception as exc:
        return CheckResult(
            ok=False, detail=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        )
    return CheckResult(ok=True)
