"""The step gate behind a graceful stop: steps in flight finish, no new step starts."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from specmill import graceful_stop


@pytest.fixture(autouse=True)
def open_gate() -> Iterator[None]:
    graceful_stop.reset()
    yield
    graceful_stop.reset()


def in_thread(release: threading.Event, entered: threading.Event, finished: list[str], name: str) -> threading.Thread:
    def step() -> None:
        with graceful_stop.step_gate():
            entered.set()
            release.wait(30)
            finished.append(name)

    thread = threading.Thread(target=step, daemon=True)  # a held thread never returns
    thread.start()
    return thread


def test_a_step_in_flight_finishes_and_a_new_one_is_held() -> None:
    release, entered, finished = threading.Event(), threading.Event(), []
    running = in_thread(release, entered, finished, "in flight")
    assert entered.wait(10)

    graceful_stop.begin()
    late_entered = threading.Event()
    in_thread(threading.Event(), late_entered, finished, "late")
    assert graceful_stop.wait_for_running_steps(0.05) == 1  # the step in flight is still running
    with graceful_stop._state:
        assert graceful_stop._state.wait_for(lambda: graceful_stop._held == 1, 10)
    assert graceful_stop.held() == 1

    release.set()
    assert graceful_stop.wait_for_running_steps(10) == 0
    running.join(10)
    assert finished == ["in flight"] and not late_entered.is_set()


def test_an_open_gate_holds_nothing() -> None:
    entered, finished = threading.Event(), []
    release = threading.Event()
    release.set()
    in_thread(release, entered, finished, "step").join(10)
    assert finished == ["step"] and graceful_stop.held() == 0
    assert graceful_stop.wait_for_running_steps(0) == 0
