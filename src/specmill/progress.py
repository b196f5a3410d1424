"""Progress events: what a run is doing now, for people watching it.

The workflow emits an event when each step starts and ends. Listeners are
process-local (the CLI renders them on stderr); what is durable lives in DBOS's
step records.
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
    kind: Literal["step_started", "step_finished", "step_failed", "run_finished"]
    step: str = ""
    phase: str = ""
    attempt: int = 0
    detail: str = ""
    elapsed_s: float = 0.0
    usage: Usage = Field(default_factory=Usage)
    at: float = Field(default_factory=time.time)


Listener = Callable[[ProgressEvent], None]
_listeners: list[Listener] = []
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


def emit(event: ProgressEvent) -> None:
    log.debug("[%s] %s %s %s", event.run_id, event.kind, event.step, event.detail)
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # a broken display must never break a run
            log.exception("progress listener failed")
