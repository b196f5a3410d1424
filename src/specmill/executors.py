"""Who may be executing a run: every DBOS process of specmill heartbeats its host and pid here.

DBOS gives a pending run to an executor id, and whichever process launches under that id runs it.
So before a command continues a pending run somewhere else it asks whether the run's executor can
still be running it: a stopped or vanished process (its pid gone on this host) cannot; a process
on another host whose heartbeat went stale probably cannot (the user says so with `--takeover`);
anything else may, and the run is refused.
"""

from __future__ import annotations

import enum
import os
import socket
import threading
from dataclasses import dataclass

import sqlalchemy as sa

from specmill import records, run_index
from specmill.errors import RunOwned

STALE_AFTER_HEARTBEATS = 3


class Liveness(enum.Enum):
    GONE = "gone"  # stopped, or its pid is gone on this host: it cannot continue
    STALE = "stale"  # on another host, silent for longer than a few heartbeats
    UNKNOWN = "unknown"  # never heartbeated here (an older specmill, or the DBOS CLI)
    ALIVE = "alive"


@dataclass(frozen=True)
class Owner:
    executor_id: str
    host: str | None = None
    pid: int | None = None
    role: str = ""
    heartbeat_age_s: float | None = None
    stopped: bool = False

    def describe(self) -> str:
        if self.host is None:
            return f"executor {self.executor_id}"
        age = f", last heartbeat {self.heartbeat_age_s:.0f} s ago" if self.heartbeat_age_s is not None else ""
        return f"executor {self.executor_id} ({self.role}, pid {self.pid} on {self.host}{age})"


def this_host() -> str:
    return socket.gethostname()


def owner(executor_id: str) -> Owner:
    row = run_index.read(_row, executor_id)
    if row is None:
        return Owner(executor_id=executor_id)
    return Owner(
        executor_id=executor_id,
        host=row["host"],
        pid=row["pid"],
        role=row["role"],
        heartbeat_age_s=max(0.0, (records.now_us() - row["heartbeat_us"]) / 1e6),
        stopped=bool(row["stopped"]),
    )


def liveness(who: Owner, heartbeat_s: float) -> Liveness:
    if who.host is None:
        return Liveness.UNKNOWN
    if who.stopped:
        return Liveness.GONE
    if who.host == this_host():
        return Liveness.ALIVE if who.pid is not None and pid_alive(who.pid) else Liveness.GONE
    stale = who.heartbeat_age_s is not None and who.heartbeat_age_s > STALE_AFTER_HEARTBEATS * heartbeat_s
    return Liveness.STALE if stale else Liveness.ALIVE


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_takeover(run_id: str, executor_id: str, takeover: bool, heartbeat_s: float) -> str:
    """Whether this process may continue the pending run `run_id` of `executor_id`: returns what
    happened to the old owner (for people), or raises `RunOwned` naming the owner and the way out."""
    who = owner(executor_id)
    state = liveness(who, heartbeat_s)
    if state is Liveness.GONE:
        return f"{who.describe()} is gone"
    if state is Liveness.ALIVE:
        stop = f"stop it (kill {who.pid} on {who.host})" if who.pid else "stop it"
        raise RunOwned(
            f"run '{run_id}' is pending on {who.describe()}, which is alive and may be running it: "
            f"follow it there, or {stop} and then run: specmill resume {run_id} --takeover"
        )
    if not takeover:
        why = "has not sent a heartbeat" if state is Liveness.UNKNOWN else "stopped sending heartbeats"
        raise RunOwned(
            f"run '{run_id}' is pending on {who.describe()}, which {why} but may still run it: make sure "
            f"it is stopped, then run: specmill resume {run_id} --takeover"
        )
    return f"{who.describe()} taken over ({state.value})"


class Heartbeat:
    """This process's row in the executors table, refreshed every `interval_s` until `stop()`."""

    def __init__(self, executor_id: str, role: str, interval_s: float) -> None:
        self.executor_id, self.role, self.interval_s = executor_id, role, interval_s
        self.pid, self.host = os.getpid(), this_host()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{executor_id}", daemon=True)

    def start(self) -> None:
        run_index.write(self._claim)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        try:
            run_index.write(self._touch, stopped=True)
        except Exception:  # the index may be gone at exit; the pid check covers a missing goodbye
            pass

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                run_index.write(self._touch, stopped=False)
            except Exception:  # a database blip skips one beat; staleness needs several
                pass

    def _claim(self, conn: records.Conn) -> None:
        values = {
            "host": self.host,
            "pid": self.pid,
            "role": self.role,
            "heartbeat_us": records.now_us(),
            "stopped": False,
        }
        statement = records.dialect_insert(conn, records.executors).values(executor_id=self.executor_id, **values)
        conn.execute(statement.on_conflict_do_update(index_elements=["executor_id"], set_=values))

    def _touch(self, conn: records.Conn, *, stopped: bool) -> None:
        table = records.executors
        conn.execute(
            sa.update(table)
            .where(table.c.executor_id == self.executor_id, table.c.pid == self.pid, table.c.host == self.host)
            .values(heartbeat_us=records.now_us(), stopped=stopped)
        )


def _row(conn: records.Conn, executor_id: str) -> sa.RowMapping | None:
    table = records.executors
    return conn.execute(sa.select(table).where(table.c.executor_id == executor_id)).mappings().first()
