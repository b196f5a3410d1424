"""One executor id per live process: `specmill mcp` claims its id with a file lock.

DBOS recovers every pending run of an executor id when a process launches under it, so two
live processes sharing an id would execute the same runs twice. Clients such as Claude Code
start one `specmill mcp` per session, so the id is a fixed base (ID, then ID-2, ID-3, ...) and
each process takes the first one whose lock is free. The kernel drops the lock when the
process dies, however it dies, so the next process takes the dead one's id and recovers its runs.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from specmill.errors import EnvironmentProblem

MAX_SLOTS = 32


@dataclass
class ExecutorClaim:
    executor_id: str
    fd: int

    def release(self) -> None:
        os.close(self.fd)


def claim_executor_id(locks_dir: Path, base: str) -> ExecutorClaim:
    """Lock the first free id of `base`, `base-2`, ... under `locks_dir`; held until `release` or exit."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    for slot in range(1, MAX_SLOTS + 1):
        executor_id = base if slot == 1 else f"{base}-{slot}"
        fd = os.open(locks_dir / f"{executor_id}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return ExecutorClaim(executor_id, fd)
    raise EnvironmentProblem(
        f"{MAX_SLOTS} processes already hold executor ids '{base}'..'{base}-{MAX_SLOTS}' in {locks_dir}: "
        "stop some `specmill mcp` processes, or pass --executor-id another base"
    )
