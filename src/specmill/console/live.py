"""Live updates as Server-Sent Events: the server re-renders a fragment and sends it when it changed.

Polling DBOS's records once a second, rather than following one run's event stream, serves a list of
many runs and a run's page alike, and shows what the records say (not what an event claimed).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import Request
from fastapi.responses import StreamingResponse

log = logging.getLogger("specmill.console")
POLL_S = 1.0
KEEPALIVE_S = 15.0


def stream(request: Request, render: Callable[[], Awaitable[str]], poll_s: float = POLL_S) -> StreamingResponse:
    return StreamingResponse(
        _updates(request, render, poll_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _updates(request: Request, render: Callable[[], Awaitable[str]], poll_s: float) -> AsyncIterator[str]:
    last: str | None = None
    quiet = 0.0
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        try:
            html = await render()
        except Exception as exc:  # a read that failed once (a database restart) is tried again
            log.warning("console live update failed: %s", exc)
            html = last
        if html is not None and html != last:
            yield f"event: update\ndata: {json.dumps({'html': html})}\n\n"
            last, quiet = html, 0.0
        elif quiet >= KEEPALIVE_S:
            yield ": keep-alive\n\n"
            quiet = 0.0
        await asyncio.sleep(poll_s)
        quiet += poll_s
