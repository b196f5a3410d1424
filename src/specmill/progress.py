"""Progress events: what a run is doing now, for people watching it.

Steps publish an event when they finish (and long ones when they start). Listeners are
process-local (the CLI renders them on stderr); a sink makes them durable: the workflow's
step wrapper adds the run's DBOS event stream, which the API serves as Server-Sent Events.
What is authoritative lives in DBOS's step records; events are for watching.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

from specmill.models import Usage

log = logging.getLogger("specmill.run")


class ProgressEvent(BaseModel):
    run_id: str
    kind: Literal[
        "step_started", "step_finished", "step_failed", "run_finished", "awaiting_approval", "awaiting_budget"
    ]
    step: str = ""
    phase: str = ""
    attempt: int = 0
    detail: str = ""
    elapsed_s: float = 0.0
    usage: Usage = Field(default_factory=Usage)
    at: float = Field(default_factory=time.time)


Listener = Callable[[ProgressEvent], None]
_listeners: list[Listener] = []
_sinks: list[Listener] = []
_lock = threading.Lock()


def subscribe(listener: Listener) -> Callable[[], None]:
    """Add a listener; call the returned function to remove it."""
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def add_sink(sink: Listener) -> None:
    """Where every published event is also written; a failing sink fails the publishing step."""
    with _lock:
        if sink not in _sinks:
            _sinks.append(sink)


def publish(event: ProgressEvent) -> None:
    """To the sinks (durably), then to this process's listeners."""
    with _lock:
        sinks = list(_sinks)
    for sink in sinks:
        sink(event)
    emit(event)


def emit(event: ProgressEvent) -> None:
    """To this process's listeners only; a broken display never breaks a run."""
    log.debug("[%s] %s %s %s", event.run_id, event.kind, event.step, event.detail)
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(event)
        except Exception:
            log.exception("progress listener failed")
