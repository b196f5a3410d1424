"""specmill's own tables: the run index the API lists from, and the artifacts of each attempt.

Plain SQLAlchemy Core over a connection or session the caller opens, so the same
functions serve a DBOS datasource transaction inside the workflow (exactly-once
writes) and the API's reads. The tables are created by the alembic migrations in
`specmill/migrations` (`upgrade`), shipped inside the package so any install can apply them.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from specmill.models import RunRequest

Conn = sa.Connection | Any  # a Connection, or an ORM Session inside a datasource transaction

metadata = sa.MetaData()

runs = sa.Table(
    "specmill_runs",
    metadata,
    sa.Column("run_id", sa.String(200), primary_key=True),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("repo", sa.Text, nullable=False),
    sa.Column("request", sa.Text, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("forked_from", sa.String(200), nullable=True),
    sa.Column("fork_phase", sa.String(64), nullable=True),
    sa.Column("fork_step", sa.Integer, nullable=True),
    sa.Column("overrides", sa.Text, nullable=True),
    sa.Column("caller", sa.String(64), nullable=True),
)

artifacts = sa.Table(
    "specmill_artifacts",
    metadata,
    sa.Column("run_id", sa.String(200), primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("head_commit", sa.String(64), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
)

executors = sa.Table(
    "specmill_executors",
    metadata,
    sa.Column("executor_id", sa.String(200), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("heartbeat_us", sa.BigInteger, nullable=False),
    sa.Column("stopped", sa.Boolean, nullable=False),
)
"""Who executes runs: each DBOS process's host, pid and last heartbeat, so a takeover can tell a live owner."""

call_journal = sa.Table(
    "specmill_call_journal",
    metadata,
    sa.Column("run_id", sa.String(200), primary_key=True),
    sa.Column("step_id", sa.Integer, primary_key=True),
    sa.Column("request_hash", sa.String(64), primary_key=True),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
)
"""Each model call's answer, written as it arrives, so a step replayed after a crash never pays again."""

pull_requests = sa.Table(
    "specmill_pull_requests",
    metadata,
    sa.Column("run_id", sa.String(200), primary_key=True),
    sa.Column("repository", sa.String(300), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("branch", sa.Text, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Index("ix_specmill_pull_requests_number", "repository", "number"),
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
ARTIFACT_KINDS = ("diff", "test_report", "verdict", "transcript")


class RunOverrides(BaseModel):
    """What a fork changes from the run it was forked from; applied when its implement phase starts."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00]*$",
        description="Model of every call from implement on.",
    )
    playbook: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        pattern=r"^[^\x00]*$",
        description="Playbook name from implement on (the CLI also takes a path).",
    )
    max_iterations: int | None = Field(default=None, ge=1, le=20, description="Implement/test/validate rounds.")

    def apply(self, request: RunRequest) -> RunRequest:
        changed = {k: v for k, v in self.model_dump().items() if v is not None}
        return request.model_copy(update=changed)


class RunRecord(BaseModel):
    """One row of the run index: the request as accepted, and where a fork came from."""

    run_id: str
    request: RunRequest
    created_us: int
    forked_from: str | None = None
    fork_phase: str | None = None
    fork_step: int | None = None
    overrides: RunOverrides | None = None
    caller: str | None = Field(default=None, description="Digest of the API token that started the run.")


class Artifact(BaseModel):
    run_id: str
    attempt: int
    kind: str
    head_commit: str
    content: str
    created_us: int


def upgrade(url: str) -> None:
    """Bring specmill's tables on `url` to the latest migration (safe to repeat, and to race on PostgreSQL).
    Tables already there are seen with one query, without importing alembic: every process start asks."""
    if at_head(url):
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = sqlalchemy_url(url)
    command.upgrade(config, "head")


VERSION_TABLE = "specmill_alembic_version"
"""Where alembic keeps the revision of specmill's tables (migrations/env.py names it)."""


def head_revision() -> str | None:
    """The newest migration's revision, read from the files; None unless there is exactly one."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revisions.update(re.findall(r'^revision\s*=\s*"([^"]+)"', text, re.M))
        parents.update(re.findall(r'^down_revision\s*=\s*"([^"]+)"', text, re.M))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(url: str) -> bool:
    """Whether specmill's tables on `url` are at the newest migration already."""
    head = head_revision()
    if head is None:
        return False
    engine = sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    except sa.exc.DBAPIError:  # no table yet: a new database
        return False
    finally:
        engine.dispose()
    return found == [head]


def use_wal(sqlite_url: str) -> None:
    """Put the SQLite file in write-ahead-log mode (it stays so): readers (stream followers, the
    queue's polls) then never block the writer, and a commit costs one append instead of a
    journal rewrite. The system database shares the file, so DBOS's writes gain the same."""
    engine = sa.create_engine(sqlite_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout=30000")
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    finally:
        engine.dispose()


def sqlalchemy_url(url: str) -> str:
    """DBOS accepts `postgresql://`; SQLAlchemy needs the psycopg (3) driver named."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def masked(url: str) -> str:
    """A database URL fit for a log line or an error message: its password hidden."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as nothing rather than leaked
        return "<unparsable database URL>"


def now_us() -> int:
    return time.time_ns() // 1000


def insert_run(conn: Conn, record: RunRecord) -> bool:
    """Add the run to the index; False when a run with this id is already there (idempotent)."""
    values = {
        "run_id": record.run_id,
        "spec": record.request.spec,
        "repo": record.request.repo,
        "request": record.request.model_dump_json(),
        "created_us": record.created_us,
        "forked_from": record.forked_from,
        "fork_phase": record.fork_phase,
        "fork_step": record.fork_step,
        "overrides": record.overrides.model_dump_json() if record.overrides else None,
        "caller": record.caller,
    }
    statement = dialect_insert(conn, runs).values(**values).on_conflict_do_nothing(index_elements=["run_id"])
    return bool(conn.execute(statement).rowcount)


def delete_run(conn: Conn, run_id: str) -> None:
    conn.execute(sa.delete(runs).where(runs.c.run_id == run_id))


def get_run(conn: Conn, run_id: str) -> RunRecord | None:
    row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
    return _record(row) if row else None


def list_runs(
    conn: Conn,
    *,
    spec: str | None,
    repo: str | None,
    before: tuple[int, str] | None,
    limit: int,
) -> list[RunRecord]:
    """Newest first; `before` is the (created_us, run_id) of the last row already seen."""
    query = sa.select(runs)
    if spec is not None:
        query = query.where(runs.c.spec == spec)
    if repo is not None:
        query = query.where(runs.c.repo == repo)
    if before is not None:
        created, run_id = before
        query = query.where(
            sa.or_(
                runs.c.created_us < created,
                sa.and_(runs.c.created_us == created, runs.c.run_id < run_id),
            )
        )
    query = query.order_by(runs.c.created_us.desc(), runs.c.run_id.desc()).limit(limit)
    return [_record(row) for row in conn.execute(query).mappings()]


def runs_of_caller(conn: Conn, caller: str, limit: int) -> list[str]:
    """Ids of the newest runs `caller` started, newest first."""
    query = (
        sa.select(runs.c.run_id)
        .where(runs.c.caller == caller)
        .order_by(runs.c.created_us.desc(), runs.c.run_id.desc())
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def save_artifacts(conn: Conn, run_id: str, attempt: int, head_commit: str, contents: dict[str, str]) -> None:
    """Replace the attempt's artifacts: a rewound run records its attempt again, never twice."""
    conn.execute(sa.delete(artifacts).where(artifacts.c.run_id == run_id, artifacts.c.attempt == attempt))
    created = now_us()
    rows = [
        {
            "run_id": run_id,
            "attempt": attempt,
            "kind": kind,
            "head_commit": head_commit,
            "content": text,
            "created_us": created,
        }
        for kind, text in contents.items()
    ]
    if rows:
        conn.execute(sa.insert(artifacts), rows)


def get_artifact(conn: Conn, run_id: str, kind: str, attempt: int | None = None) -> Artifact | None:
    """The artifact of `attempt`, or of the latest attempt that recorded one."""
    query = sa.select(artifacts).where(artifacts.c.run_id == run_id, artifacts.c.kind == kind)
    if attempt is not None:
        query = query.where(artifacts.c.attempt == attempt)
    row = conn.execute(query.order_by(artifacts.c.attempt.desc()).limit(1)).mappings().first()
    return Artifact(**row) if row else None


def list_artifacts(conn: Conn, run_id: str) -> list[tuple[str, int, int]]:
    """(kind, attempt, size in characters) of every artifact of the run."""
    query = (
        sa.select(artifacts.c.kind, artifacts.c.attempt, sa.func.length(artifacts.c.content))
        .where(artifacts.c.run_id == run_id)
        .order_by(artifacts.c.attempt, artifacts.c.kind)
    )
    return [(kind, attempt, size or 0) for kind, attempt, size in conn.execute(query)]


def dialect_insert(conn: Conn, table: sa.Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT on both SQLite and PostgreSQL."""
    dialect = conn.get_bind().dialect if hasattr(conn, "get_bind") else conn.dialect
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _record(row: Any) -> RunRecord:
    overrides = json.loads(row["overrides"]) if row["overrides"] else None
    return RunRecord(
        run_id=row["run_id"],
        request=RunRequest.model_validate_json(row["request"]),
        created_us=row["created_us"],
        forked_from=row["forked_from"],
        fork_phase=row["fork_phase"],
        fork_step=row["fork_step"],
        overrides=RunOverrides.model_validate(overrides) if overrides else None,
        caller=row.get("caller"),
    )


def save_pull_request(conn: Conn, run_id: str, repository: str, number: int, url: str, branch: str) -> None:
    """Which run a pull request belongs to, so a review on it finds the run; repeating it changes nothing."""
    values = {"repository": repository, "number": number, "url": url, "branch": branch, "created_us": now_us()}
    statement = dialect_insert(conn, pull_requests).values(run_id=run_id, **values)
    conn.execute(statement.on_conflict_do_nothing(index_elements=["run_id"]))


def run_of_pull_request(conn: Conn, repository: str, number: int) -> str | None:
    """The newest run on pull request `number` (a revision run is newer than the run it revised)."""
    query = (
        sa.select(pull_requests.c.run_id)
        .where(pull_requests.c.repository == repository, pull_requests.c.number == number)
        .order_by(pull_requests.c.created_us.desc())
        .limit(1)
    )
    return conn.execute(query).scalar()
