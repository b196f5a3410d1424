"""specmill's own tables, opened once per process: the run index and each attempt's artifacts.

The workflow writes here from ordinary steps. Every write is idempotent (an insert that
ignores a row already there, a replace of one attempt's artifacts), so a step that runs
again after a crash or a rewind converges on the same rows; no DBOS machinery is needed,
and nothing here imports DBOS. The API reads the same tables (`read_async`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa

from specmill import records
from specmill.config import Settings

P = ParamSpec("P")
T = TypeVar("T")
_engine: sa.Engine | None = None


def open_index(settings: Settings) -> None:
    """Migrate specmill's tables on their database and open a connection pool to it."""
    global _engine
    url = settings.records_url()
    if url.startswith("sqlite"):
        records.use_wal(url)
    records.upgrade(url)
    pool: dict[str, Any] = (
        {} if url.startswith("sqlite") else {"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True}
    )
    close_index()
    _engine = sa.create_engine(records.sqlalchemy_url(url), **pool)
    if url.startswith("sqlite"):
        sa.event.listen(_engine, "connect", _sqlite_busy_timeout)


def close_index() -> None:
    global _engine
    if _engine is not None:
        _engine.dispose()
        _engine = None


def _sqlite_busy_timeout(connection: Any, _record: Any) -> None:
    """DBOS writes the same SQLite file; wait for its commits instead of failing at once."""
    connection.execute("PRAGMA busy_timeout=30000")


def _db() -> sa.Engine:
    if _engine is None:
        raise RuntimeError("specmill's run index is not open: call runtime.launch() first")
    return _engine


def read(fn: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    with _db().connect() as conn:
        return fn(conn, *args, **kwargs)


def write(fn: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    with _db().begin() as conn:
        return fn(conn, *args, **kwargs)


async def read_async(fn: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    return await asyncio.to_thread(read, fn, *args, **kwargs)


async def write_async(fn: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    return await asyncio.to_thread(write, fn, *args, **kwargs)
