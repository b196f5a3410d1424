"""A pickle forged into the system database never runs in the server: the payload's code is not
called when the API reads the run, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
import pickle
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from specmill import checkpoints, records
from specmill.models import TestReport
from specmill.ports.model import ScriptedModel
from specmill.replay.scripts import Script
from tests import scenarios
from tests.fixtures.api import wait_for_status


class Payload:
    """What an attacker pickles: unpickling it calls os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


def _forge(url: str, run_id: str, payload: str) -> int:
    engine = sa.create_engine(records.sqlalchemy_url(url))
    table = "dbos.operation_outputs" if engine.dialect.name == "postgresql" else "operation_outputs"
    try:
        with engine.begin() as conn:
            return conn.execute(
                sa.text(
                    f"UPDATE {table} SET output = :payload, serialization = 'py_pickle' "
                    "WHERE workflow_uuid = :run_id AND output IS NOT NULL"
                ),
                {"payload": payload, "run_id": run_id},
            ).rowcount
    finally:
        engine.dispose()


def test_a_forged_step_output_is_refused_on_read_and_never_executes(
    api_client, calc_repo: Path, database, tmp_path: Path
) -> None:
    client = api_client(ScriptedModel(Script.load(scenarios.succeeds_first_time())), database)
    run_id = client.post("/runs", json={"spec": "specs/multiply", "repo": str(calc_repo)}).json()["run_id"]
    assert wait_for_status(client.get, run_id, {"succeeded", "failed", "error"})["status"] == "succeeded"

    marker = tmp_path / "pwned"
    forged = base64.b64encode(pickle.dumps(Payload(marker))).decode()
    settings = client.app.state.settings
    assert _forge(settings.database_url(), run_id, forged) > 0

    # DBOS hands a value it cannot read back as its stored text; the run reads without its step outputs.
    read = client.get(f"/runs/{run_id}")
    assert read.status_code == 200 and read.json()["status"] == "succeeded"
    assert read.json()["tests"] is None and forged not in read.text
    assert client.get(f"/runs/{run_id}/diff").status_code in (200, 409)
    assert client.get("/runs").status_code == 200
    assert not marker.exists()


def test_what_specmill_records_still_reads_back() -> None:
    checkpoints.guard_unpickling()
    report = TestReport(command="pytest", exit_code=0, passed=2)
    assert pickle.loads(pickle.dumps(report)) == report
    assert pickle.loads(pickle.dumps(ValueError("boom"))).args == ("boom",)
    for forged in (Payload(Path("/nonexistent/x")), eval, getattr, sa.create_engine):
        with pytest.raises(checkpoints.TamperedRecord):
            pickle.loads(pickle.dumps(forged))


def test_a_time_in_a_named_zone_reads_back() -> None:
    """A scheduled sweep's input is the tick's time in SPECMILL_SWEEP_TIMEZONE."""
    checkpoints.guard_unpickling()
    tick = datetime(2026, 12, 4, 2, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    read = pickle.loads(pickle.dumps(tick))
    assert read == tick and read.tzinfo is ZoneInfo("Europe/Berlin")
    assert read.utcoffset() == tick.utcoffset()
