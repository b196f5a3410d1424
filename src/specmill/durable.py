"""Durable steps: `durable(name, fn)` makes a plain typed function a checkpointed DBOS step.

The result keeps `fn`'s signature, so the workflow calls steps as ordinary functions with
keyword arguments, and a type checker sees a wrong argument. Around each execution the
wrapper
- publishes the step's progress from inside the step, so a replayed step stays silent and the
  workflow body does no I/O: the start and end of a long (`announce`d) step and every failure go to
  the run's event stream; the end of a short step goes to this process's listeners only, and
  readers of the stream take it from the step's DBOS record (`specmill.timeline`), so a short
  step costs one write, its checkpoint;
- keeps a failure's plain Python traceback on the exception DBOS records, redacted;
- lets a stopping process finish the steps in flight and start none (`graceful_stop`);
- re-raises the last real error when retries run out, not DBOS's wrapper around them.

Retries follow one table (`Retry`): only errors that a later attempt can fix are retried.
"""

from __future__ import annotations

import enum
import time
import traceback
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from dbos import DBOS, StepOptions
from dbos import error as dbos_error

from specmill import graceful_stop, names, progress, step_context, steps
from specmill.errors import BasicMemoryUnavailable, CodeHostUnavailable, NoteConflict, TransientModelError
from specmill.models import Usage

P = ParamSpec("P")
T = TypeVar("T")


class Retry(enum.Enum):
    """Which failures of a step DBOS runs again, with backoff."""

    NONE = "none"
    SERVICE = "service"  # Basic Memory restarting or a note changing under a write
    MODEL = "model"  # the Messages API overloaded, rate-limited or unreachable
    REMOTE = "remote"  # the code host unreachable, 5xx or rate-limited


def retry_options(retry: Retry) -> StepOptions:
    if retry is Retry.NONE:
        return {}
    settings = steps.ports().settings
    transient: tuple[type[Exception], ...]
    if retry is Retry.SERVICE:
        transient, attempts, interval = (BasicMemoryUnavailable, NoteConflict), 3, 1.0
    elif retry is Retry.REMOTE:
        transient, attempts, interval = (CodeHostUnavailable,), 4, 2.0
    else:
        transient, attempts, interval = (
            (TransientModelError,),
            settings.model_max_attempts,
            settings.model_retry_interval_s,
        )
    return {
        "retries_allowed": True,
        "max_attempts": attempts,
        "interval_seconds": interval,
        "backoff_rate": 2.0,
        "should_retry": lambda exc: isinstance(exc, transient),
    }


def durable(
    name: str,
    fn: Callable[P, T],
    *,
    retry: Retry = Retry.NONE,
    announce: bool = False,
    describe: Callable[..., str] | None = None,
) -> Callable[P, T]:
    """`fn` as a step named `name`. `announce` publishes its start too (for steps people wait on);
    `describe(**kwargs)` names what one execution is about, in its progress line."""
    body = _instrumented(name, fn, announce, describe)

    def step(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            with graceful_stop.step_gate():
                return DBOS.run_step({"name": name, **retry_options(retry)}, body, *args, **kwargs)
        except dbos_error.DBOSMaxStepRetriesExceeded as exc:
            last = exc.errors[-1] if exc.errors else exc
            last.add_note(f"step {name} gave up after {len(exc.errors)} attempt(s)")
            raise last from None

    step.__name__ = step.__qualname__ = fn.__name__
    step.__doc__ = fn.__doc__
    return step


def _instrumented(name: str, fn: Callable[P, T], announce: bool, describe: Callable[..., str] | None) -> Callable[P, T]:
    phase = names.phase_of(name)

    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        started = time.monotonic()
        step_id = DBOS.step_id
        event = progress.ProgressEvent(
            run_id=DBOS.workflow_id or "",
            kind="step_started",
            step=name,
            phase=phase,
            attempt=int(kwargs.get("attempt") or 0),
            detail=describe(**kwargs) if describe else "",
            step_id=step_id,
        )
        if announce:
            _publish(event)
        here = step_context.StepRef(event.run_id, step_id) if event.run_id and step_id is not None else None
        try:
            with step_context.inside(here):
                result = fn(*args, **kwargs)
        except Exception as exc:
            exc.add_note(traceback.format_exc())
            steps.ports().redactor.scrub_exception(exc)  # before DBOS records it
            _publish(
                event.model_copy(
                    update={
                        "kind": "step_failed",
                        "detail": f"{type(exc).__name__}: {exc}",
                        "elapsed_s": time.monotonic() - started,
                    }
                )
            )
            raise
        usage = getattr(result, "usage", None)
        (_publish if announce else _emit)(
            event.model_copy(
                update={
                    "kind": "step_finished",
                    "elapsed_s": time.monotonic() - started,
                    "detail": " -> ".join(part for part in (event.detail, progress.summary(result)) if part),
                    "usage": usage if isinstance(usage, Usage) else Usage(),
                    "at": time.time(),
                }
            )
        )
        return result

    call.__name__ = call.__qualname__ = getattr(fn, "__name__", name)
    return call


def _publish(event: progress.ProgressEvent) -> None:
    progress.publish(steps.ports().redactor.scrub(event, "detail"))


def _emit(event: progress.ProgressEvent) -> None:
    progress.emit(steps.ports().redactor.scrub(event, "detail"))


def write_to_stream(event: progress.ProgressEvent) -> None:
    """The durable sink (added at launch): the run's event stream, which the API serves as Server-Sent Events.
    Each event names the step that wrote it, which places it among the run's step records."""
    if event.step_id is None and DBOS.step_id is not None:
        event = event.model_copy(update={"step_id": DBOS.step_id})
    DBOS.write_stream(names.EVENTS_STREAM, event.model_dump(mode="json"))
