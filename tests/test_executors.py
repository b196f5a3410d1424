"""Whether a run's executor can still be running it: the heartbeat row and the judgement on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from specmill import executors, run_index
from specmill.errors import RunOwned
from specmill.executors import Liveness, Owner
from tests.fixtures.runtime import make_settings

HERE = executors.this_host()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        (Owner("x"), Liveness.UNKNOWN),
        (Owner("x", HERE, os.getpid(), "worker", 999.0), Liveness.ALIVE),  # a live pid here, however silent
        (Owner("x", HERE, 0, "worker", 0.0, stopped=True), Liveness.GONE),
        (Owner("x", "elsewhere", 1, "worker", 2.0), Liveness.ALIVE),
        (Owner("x", "elsewhere", 1, "worker", 16.0), Liveness.STALE),
    ],
)
def test_liveness(owner: Owner, expected: Liveness) -> None:
    assert executors.liveness(owner, heartbeat_s=5.0) is expected


def test_a_dead_pid_on_this_host_is_gone() -> None:
    assert executors.liveness(Owner("x", HERE, dead_pid(), "cli", 0.1), heartbeat_s=5.0) is Liveness.GONE


def test_heartbeats_are_read_back_and_a_takeover_needs_the_owner_gone(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    run_index.open_index(make_settings(tmp_path / "data"))
    try:
        beat = executors.Heartbeat("w-live", "worker", interval_s=0.05)
        beat.start()
        seen = executors.owner("w-live")
        assert (seen.host, seen.pid, seen.role, seen.stopped) == (HERE, os.getpid(), "worker", False)
        with pytest.raises(RunOwned, match=r"executor w-live \(worker, pid \d+ on .*--takeover"):
            executors.check_takeover("r1", "w-live", takeover=True, heartbeat_s=5.0)
        beat.stop()
        assert executors.owner("w-live").stopped
        assert "is gone" in executors.check_takeover("r1", "w-live", takeover=False, heartbeat_s=5.0)
        with pytest.raises(RunOwned, match="has not sent a heartbeat"):
            executors.check_takeover("r1", "never-seen", takeover=False, heartbeat_s=5.0)
        assert "taken over (unknown)" in executors.check_takeover("r1", "never-seen", takeover=True, heartbeat_s=5.0)
    finally:
        run_index.close_index()
