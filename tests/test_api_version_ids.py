"""`POST /runs` without an Idempotency-Key names its run by the spec's version, as `specmill run`
and sweeps do: one version is one run unless the caller sends a key for another."""

from __future__ import annotations

from pathlib import Path

from specmill.ports.model import ScriptedModel
from specmill.ports.spec_store import MemorySpecStore
from specmill.replay.scripts import Script
from specmill.sweep.version import run_id_for
from tests import scenarios
from tests.fixtures.api import wait_for_status


def test_one_spec_version_is_one_run_unless_a_key_asks_for_another(
    api_client, database, calc_repo: Path, spec_store: MemorySpecStore
) -> None:
    client = api_client(ScriptedModel(Script.load(scenarios.succeeds_first_time())), database)
    body = {"spec": "specs/multiply", "repo": str(calc_repo)}
    first = client.post("/runs", json=body)
    again = client.post("/runs", json=body)
    assert first.status_code == again.status_code == 202, first.text
    run_id = first.json()["run_id"]
    assert again.json()["run_id"] == run_id
    assert run_id == run_id_for("specs", "specs/multiply", spec_store.read_note("specs/multiply", "specs").content)
    wait_for_status(client.get, run_id, {"succeeded"})
    assert client.post("/runs", json=body).json()["run_id"] == run_id  # a finished version is still that run

    other = client.post("/runs", json={**body, "max_iterations": 1})  # other settings: another run
    assert other.status_code == 202 and other.json()["run_id"] != run_id
    keyed = client.post("/runs", json=body, headers={"Idempotency-Key": "again-1"})  # a key asks for another run
    assert keyed.status_code == 202 and keyed.json()["run_id"] == "again-1"
    for started in (other, keyed):
        wait_for_status(
            client.get, started.json()["run_id"], {"succeeded", "failed", "error", "budget_exhausted", "cancelled"}
        )

    spec_store.edit_as_person("specs", "specs/multiply", lambda text: text.replace("as easily as they add", "quickly"))
    edited = client.post("/runs", json=body)
    assert edited.status_code == 202 and edited.json()["run_id"] not in (run_id, other.json()["run_id"], "again-1")
    assert edited.json()["run_id"].startswith("v")
