"""Graceful stop for processes that work runs: once stopping, a step already running finishes
(and is checkpointed), but no run starts another step. A held run stays PENDING under this
process's executor id and continues from its last completed step at the next start."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_state = threading.Condition()
_running = 0
_held = 0
_stopping = False


@contextmanager
def step_gate() -> Iterator[None]:
    """Around each step: wait forever if the process is stopping, else count the step in flight."""
    global _running, _held
    with _state:
        if _stopping:
            _held += 1
            _state.notify_all()
            while True:  # the process exits under this thread; the run recovers at the next start
                _state.wait()
        _running += 1
    try:
        yield
    finally:
        with _state:
            _running -= 1
            _state.notify_all()


def begin() -> None:
    """From now on no step starts in this process."""
    global _stopping
    with _state:
        _stopping = True
        _state.notify_all()


def wait_for_running_steps(timeout_s: float) -> int:
    """Wait up to `timeout_s` for the steps in flight to finish; returns how many still run."""
    deadline = time.monotonic() + timeout_s
    with _state:
        while _running and (left := deadline - time.monotonic()) > 0:
            _state.wait(left)
        return _running


def held() -> int:
    """Runs waiting at a step they will not start in this process."""
    with _state:
        return _held


def reset() -> None:
    """A process (or test) that launches again starts with the gate open."""
    global _stopping, _held
    with _state:
        _stopping, _held = False, 0
