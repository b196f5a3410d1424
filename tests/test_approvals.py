"""People in the loop, over HTTP, on SQLite and PostgreSQL: a plan approved (after a rejection) before any
code is written, a plan nobody approves in time (the clock moved, not waited for), and a run paused at its
budget that continues in place once the cap is raised."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from typer.testing import CliRunner

from specmill.cli.app import app
from specmill.ports.model import ScriptedModel
from specmill.ports.spec_store import MemorySpecStore
from specmill.replay.scripts import Script
from tests import scenarios
from tests.fixtures.api import read_sse, wait_for_status

DAY_S = 86400.0
FAST = {"gate_poll_s": 0.2}


class MovableClock:
    """Epoch seconds that a test moves forward instead of waiting."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def _plan_attempt(client, run_id: str, attempt: int) -> dict:
    def ready() -> bool:
        body = client.get(f"/runs/{run_id}").json()
        return body["status"] == "awaiting_approval" and (body["plan"] or {}).get("attempt") == attempt

    for _ in range(600):
        if ready():
            return client.get(f"/runs/{run_id}").json()
        threading.Event().wait(0.1)
    raise AssertionError(f"run {run_id} never waited with plan {attempt}")


def test_a_plan_rejected_then_approved_over_http_is_what_the_run_implements(
    api_client, calc_repo: Path, spec_store: MemorySpecStore, database: str | None, tmp_path: Path, monkeypatch
) -> None:
    model = ScriptedModel(Script.load(scenarios.planned("Add multiply", scenarios.PLAN_TASK)))
    client = api_client(model, database, **FAST)
    run_id = client.post("/runs", json={"spec": "specs/multiply", "repo": str(calc_repo), "approval": "plan"}).json()[
        "run_id"
    ]

    first = _plan_attempt(client, run_id, 1)
    assert first["waiting"]["kind"] == "approval" and first["phase"] == "plan"
    assert [t["title"] for t in first["plan"]["tasks"]] == ["Add multiply"]
    note = spec_store.read_note("specs/multiply", "specs").content
    assert "status: awaiting-approval" in note and "- [ ] Approve this plan" in note and "1. Add multiply" in note
    listed = client.get("/runs", params={"status": "awaiting_approval"}).json()["runs"]
    assert [r["run_id"] for r in listed] == [run_id]
    monkeypatch.setenv("SPECMILL_DATA_DIR", str(tmp_path / "data"))  # the CLI, on the same system database
    if database:
        monkeypatch.setenv("DBOS_SYSTEM_DATABASE_URL", database)
    by_cli = CliRunner().invoke(app, ["runs", "list", "--json"])
    assert [(r["run_id"], r["waiting"]) for r in json.loads(by_cli.stdout)] == [(run_id, "awaiting_approval")]
    assert client.post(f"/runs/{run_id}/reject", json={}).status_code == 422  # a rejection says why

    rejected = client.post(f"/runs/{run_id}/reject", json={"comment": "name the test file too"})
    assert rejected.status_code == 200 and rejected.json()["already"] is False

    second = _plan_attempt(client, run_id, 2)
    assert [t["title"] for t in second["plan"]["tasks"]] == [scenarios.PLAN_TASK]
    approved = client.post(f"/runs/{run_id}/approve", json={"comment": "go"})
    assert approved.status_code == 200 and approved.json()["already"] is False
    again = client.post(f"/runs/{run_id}/approve")
    assert again.status_code == 200 and again.json()["already"] is True
    by_cli = CliRunner().invoke(app, ["approve", run_id, "--json"])
    assert by_cli.exit_code == 0 and json.loads(by_cli.stdout)["already"] is True
    assert client.post(f"/runs/{run_id}/reject", json={"comment": "too late"}).status_code == 409

    done = wait_for_status(client.get, run_id, {"succeeded", "failed", "error"})
    assert done["status"] == "succeeded"
    assert done["ledger"]["phases"]["plan"]["calls"] == 2
    assert [c["criterion"] for c in done["criteria"]][-1] == f"Plan task: {scenarios.PLAN_TASK}"

    plans = [r for r in model.requests if (r.tool_choice or {}).get("name") == "record_plan"]
    assert len(plans) == 2 and "name the test file too" in plans[1].messages[0]["content"][0]["text"]
    implement = [r for r in model.requests if r.tool_choice is None]
    assert all(f"1. {scenarios.PLAN_TASK}" in r.system[0]["text"] for r in implement)
    assert "status: implemented" in spec_store.read_note("specs/multiply", "specs").content

    with client.stream("GET", f"/runs/{run_id}/events") as response:
        kinds = [e.data.get("kind") for e in read_sse(response.iter_lines())]
    assert kinds.count("awaiting_approval") == 2


def test_a_plan_nobody_approves_expires_at_its_deadline(
    api_client, calc_repo: Path, spec_store: MemorySpecStore, database: str | None
) -> None:
    clock = MovableClock()
    model = ScriptedModel(Script.load(scenarios.planned(scenarios.PLAN_TASK)))
    client = api_client(model, database, clock=clock, approval_timeout_s=7 * DAY_S, **FAST)
    run_id = client.post("/runs", json={"spec": "specs/multiply", "repo": str(calc_repo), "approval": "plan"}).json()[
        "run_id"
    ]
    waiting = _plan_attempt(client, run_id, 1)
    assert waiting["waiting"]["deadline"].startswith("2030-03-")  # opened_at + 7 days, on the moved clock

    clock.advance(6 * DAY_S)
    assert client.get(f"/runs/{run_id}").json()["status"] == "awaiting_approval"
    clock.advance(1 * DAY_S)
    done = wait_for_status(client.get, run_id, {"approval_expired", "succeeded", "failed", "error"})
    assert done["status"] == "approval_expired" and "before its deadline" in done["reason"]
    assert not [r for r in model.requests if r.tool_choice is None]  # no code was written
    assert "status: needs-attention" in spec_store.read_note("specs/multiply", "specs").content
    assert client.post(f"/runs/{run_id}/approve").status_code == 409


def test_a_run_paused_at_its_budget_continues_in_place_once_the_cap_is_raised(
    api_client, calc_repo: Path, database: str | None, tmp_path: Path, monkeypatch
) -> None:
    model = ScriptedModel(Script.load(scenarios.planned(scenarios.PLAN_TASK)))
    client = api_client(model, database, **FAST)
    start = {
        "spec": "specs/multiply",
        "repo": str(calc_repo),
        "budget_tokens": 1_000,
        "on_budget": "pause",
        "approval": "plan",
    }
    run_id = client.post("/runs", json=start).json()["run_id"]

    paused = wait_for_status(client.get, run_id, {"awaiting_budget", "succeeded", "budget_exhausted", "error"})
    assert paused["status"] == "awaiting_budget" and paused["waiting"]["kind"] == "budget"
    assert paused["ledger"]["phases"] == {}  # the first call (the plan's) would cross the cap
    assert "budget exhausted" in paused["waiting"]["detail"]
    assert client.post(f"/runs/{run_id}/approve").status_code == 409  # it waits for money, not for a plan
    assert client.post(f"/runs/{run_id}/budget", json={}).status_code == 422

    monkeypatch.setenv("SPECMILL_DATA_DIR", str(tmp_path / "data"))  # the CLI, on the same system database
    if database:
        monkeypatch.setenv("DBOS_SYSTEM_DATABASE_URL", database)
    resumed = CliRunner().invoke(app, ["resume", run_id, "--budget-tokens", "1500", "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["answer"] == "budget"
    for _ in range(600):  # still too little: the same call pauses again, at the new cap
        if "of 1500 tokens" in ((client.get(f"/runs/{run_id}").json()["waiting"] or {}).get("detail") or ""):
            break
        threading.Event().wait(0.1)
    else:
        raise AssertionError("the run did not pause again at its raised cap")

    raised = client.post(f"/runs/{run_id}/budget", json={"budget_tokens": 10_000_000})
    assert raised.status_code == 200 and raised.json()["run_id"] == run_id
    _plan_attempt(client, run_id, 1)
    assert client.post(f"/runs/{run_id}/approve").status_code == 200
    done = wait_for_status(client.get, run_id, {"succeeded", "failed", "budget_exhausted", "error"})
    assert done["status"] == "succeeded" and done["ledger"]["phases"]["implement"]["calls"] == 5
    assert len([r for r in model.requests if r.tool_choice is None]) == 5  # no call made twice
    assert done["ledger"]["phases"]["plan"]["calls"] == 1
