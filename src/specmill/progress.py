"""Progress events: what a run is doing now, for people watching it.

Every step emits an event when it finishes (and long ones when they start) to this process's
listeners (the CLI renders them on stderr). Only some are also published to the sinks, which
make them durable: the run's DBOS event stream, which the API serves as Server-Sent Events.
Those are the events of long steps, failures and waits; the end of a short step is read back from
the step's own DBOS record instead (`specmill.timeline`), which costs the step no second write.
What is authoritative lives in DBOS's step records; events are for watching.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from specmill.models import RepoEnvironment, TestReport, ToolOutcome, Usage, Verdict

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
    step_id: int | None = None
    """The DBOS step (function id) that wrote the event, which orders it among the run's step records."""


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


def summary(result: Any) -> str:
    """One line about a step's output, for the progress line of people watching."""
    if isinstance(result, TestReport):
        counts = f"{result.passed} passed, {result.failed} failed, {result.errors} errors, {result.skipped} skipped"
        return counts + (" (timed out)" if result.timed_out else "")
    if isinstance(result, ToolOutcome):
        if result.test_report is not None:
            return summary(result.test_report)
        return f"refused: {result.content.splitlines()[0][:160]}" if result.is_error and result.content else ""
    if isinstance(result, RepoEnvironment):
        return f"{result.kind}{' (reused)' if result.cached else ''}: {result.reason}"[:300]
    if isinstance(result, Verdict):
        return f"{sum(c.met for c in result.criteria)}/{len(result.criteria)} criteria met"
    return ""
