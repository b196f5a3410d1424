"""Which run and which step of it the current thread executes, for the plain step functions.

The step wrapper (`specmill.durable`) sets it around each execution, so a step can key what it
writes by run and step without importing DBOS; outside a run (a step called by hand) it is None.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class StepRef:
    run_id: str
    step_id: int


_current: ContextVar[StepRef | None] = ContextVar("specmill_step", default=None)


def current() -> StepRef | None:
    return _current.get()


@contextmanager
def inside(ref: StepRef | None) -> Iterator[None]:
    token = _current.set(ref)
    try:
        yield
    finally:
        _current.reset(token)
