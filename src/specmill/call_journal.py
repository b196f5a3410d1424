"""The model call journal: each answer is written as it arrives, keyed by run, step and request.

DBOS checkpoints a step when it returns; a crash between a model's answer and that checkpoint
would pay for the call again when the step runs again. The model step writes the answer here
first, so the step's next execution (same run, same step id, same request) reads it back instead
of calling. Forks run under a new run id and call again, as they should.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from specmill import records, run_index
from specmill.models import ModelRequest, ModelTurn
from specmill.step_context import StepRef


def request_hash(request: ModelRequest) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def recorded(step: StepRef, request: ModelRequest) -> ModelTurn | None:
    answer = run_index.read(_answer, step, request_hash(request))
    return ModelTurn.model_validate_json(answer) if answer is not None else None


def record(step: StepRef, request: ModelRequest, turn: ModelTurn) -> None:
    run_index.write(_save, step, request_hash(request), turn.model_dump_json())


def _answer(conn: records.Conn, step: StepRef, digest: str) -> str | None:
    table = records.call_journal
    query = sa.select(table.c.answer).where(
        table.c.run_id == step.run_id, table.c.step_id == step.step_id, table.c.request_hash == digest
    )
    return conn.execute(query).scalar_one_or_none()


def _save(conn: records.Conn, step: StepRef, digest: str, answer: str) -> None:
    values = {"run_id": step.run_id, "step_id": step.step_id, "request_hash": digest}
    statement = records.dialect_insert(conn, records.call_journal).values(
        **values, answer=answer, created_us=records.now_us()
    )
    conn.execute(statement.on_conflict_do_nothing(index_elements=list(values)))
