"""/runs/{id}/events: the run's progress as Server-Sent Events, read from its DBOS stream and,
for the ends of short steps, from their step records (`specmill.timeline` merges the two into
one sequence that is the same at every read).

Event ids make reconnecting exact: a step event's id is its position in that sequence (`12`); the
`phase_started` event sent just before the first step of a new phase is `p12`; the closing
`run_ended` event is `end13` (13 entries seen). A client that reconnects with any of these
in `Last-Event-ID` gets exactly the events it has not seen. One that already saw the end of
a run that is still over gets 204, which tells an EventSource to stop reconnecting.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Response
from fastapi.responses import StreamingResponse

from specmill.api import views
from specmill.api.auth import require_token
from specmill.api.deps import RunsDep
from specmill.api.errors import ApiError, documented_as_json
from specmill.api.event_hub import TooManyStreams
from specmill.api.service import RunService
from specmill.names import RUN_ID_PATTERN

log = logging.getLogger("specmill.api")
router = APIRouter(tags=["events"], dependencies=[Depends(require_token)], responses=documented_as_json(401))
KEEPALIVE_S = 15.0
_EVENT_ID = re.compile(r"^(p|end)?(\d{1,9})$")


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


@dataclass(frozen=True)
class Resume:
    """Where to read from: `drop_first` skips an entry the client has seen (read only for its
    phase); `skip_phase` holds back the phase event the client has seen."""

    read_from: int = 0
    drop_first: bool = False
    skip_phase: bool = False
    saw_end: bool = False


@router.get(
    "/runs/{run_id}/events",
    response_class=EventStream,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "the event stream"},
        204: {"description": "the client already saw the end of this run, and it is still over"},
        **documented_as_json(404, 422, 503),
    },
)
async def run_events(
    runs: RunsDep,
    run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)],
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=40)] = None,
) -> Response:
    """Progress of the run (phase and step start/end, tool calls, test results), then its final status."""
    state = await runs.state(run_id)
    resume = parse_last_event_id(last_event_id)
    if resume.saw_end and not state.active:
        return Response(status_code=204)
    body = _stream(runs, run_id, resume)
    try:
        runs.hub.hold_slot(body)
    except TooManyStreams:
        raise ApiError(
            503,
            "too_many_streams",
            f"all {runs.hub.max_streams} event streams are open: try again later, or poll GET /runs/{run_id}",
            headers={"Retry-After": "5"},
        ) from None
    return EventStream(body, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def parse_last_event_id(value: str | None) -> Resume:
    if value is None or not value.strip():
        return Resume()
    match = _EVENT_ID.match(value.strip())
    if match is None:
        raise ApiError(
            422, "invalid_last_event_id", f"Last-Event-ID '{value}' is not an id this stream sent: reconnect without it"
        )
    prefix, number = match.group(1), int(match.group(2))
    if prefix == "p":
        return Resume(read_from=number, skip_phase=True)
    if prefix == "end":
        return Resume(read_from=max(number - 1, 0), drop_first=number > 0, saw_end=True)
    return Resume(read_from=number, drop_first=True)


async def _stream(runs: RunService, run_id: str, resume: Resume) -> AsyncIterator[str]:
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=256)
    pump = asyncio.create_task(_pump(runs, run_id, resume.read_from, queue))
    previous_phase: str | None = None
    next_offset, first = resume.read_from, True
    try:
        yield "retry: 2000\n\n"
        while True:
            try:
                kind, item = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if kind == "error":
                raise item
            if kind == "end":
                break
            offset, event = item
            next_offset = offset + 1
            phase = event.get("phase") if isinstance(event, dict) else None
            if first and resume.drop_first:
                previous_phase, first = phase, False
                continue
            if phase and phase != previous_phase and not (first and resume.skip_phase):
                yield _sse(
                    f"p{offset}", "phase_started", {"run_id": run_id, "phase": phase, "previous_phase": previous_phase}
                )
            previous_phase, first = phase or previous_phase, False
            yield _sse(
                str(offset), str(event.get("kind", "progress")) if isinstance(event, dict) else "progress", event
            )
        yield _sse(f"end{next_offset}", "run_ended", await _final(runs, run_id))
    finally:
        pump.cancel()


async def _pump(runs: RunService, run_id: str, offset: int, queue: asyncio.Queue[tuple[str, Any]]) -> None:
    """Reads the stream into the queue, so the response can send keep-alives while a step runs."""
    try:
        async for item in runs.events(run_id, offset):
            await queue.put(("event", item))
        await queue.put(("end", None))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("event stream of run %s broke: %s", run_id, exc)
        await queue.put(("error", exc))


async def _final(runs: RunService, run_id: str) -> dict[str, Any]:
    summary = await runs.summary(run_id)
    state = await runs.state(run_id)
    error = views.error_of(state.error) if summary.status == "error" and state.error is not None else None
    return {
        **summary.model_dump(mode="json"),
        "error": error.model_dump() if error else None,
        "reason": state.result.reason if state.result else None,
    }


def _sse(event_id: str, event: str, data: Any) -> str:
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
