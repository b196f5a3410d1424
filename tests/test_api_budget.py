"""Budgets over HTTP: a run stopped by its cap shows what it spent, and resumes with a higher one."""

from __future__ import annotations

from pathlib import Path

from specmill.ports.model import ScriptedModel
from specmill.replay.scripts import Script
from tests import scenarios
from tests.fixtures.api import wait_for_status


def test_a_run_stopped_by_its_budget_reports_its_cost_and_resumes_with_a_higher_cap(
    api_client, calc_repo: Path
) -> None:
    model = ScriptedModel(Script.load(scenarios.succeeds_first_time()))
    client = api_client(model)
    start = {"spec": "specs/multiply", "repo": str(calc_repo)}
    reference = client.post("/runs", json=start).json()["run_id"]
    done = wait_for_status(client.get, reference, {"succeeded"})
    assert done["cost_usd"] > 0 and done["ledger"]["phases"]["implement"]["calls"] == 5

    implement = [r for r in model.requests if r.tool_choice is None]
    sizes = [model.count_tokens(r) for r in implement]  # what the budget check measures
    assert sizes[2] - sizes[1] > 20  # the third call is measurably bigger than the second
    cap = implement[0].max_tokens + (sizes[1] + sizes[2]) // 2  # room for two calls' worst case, not three

    capped = client.post("/runs", json={**start, "budget_tokens": cap}).json()["run_id"]
    stopped = wait_for_status(client.get, capped, {"budget_exhausted"})
    assert stopped["ledger"]["phases"]["implement"]["calls"] == 2
    assert "budget exhausted" in stopped["reason"]

    assert client.post(f"/runs/{capped}/resume", json={"budget_usd": 0}).status_code == 422
    assert client.post(f"/runs/{capped}/resume", json={"budget_tokens": 10_000_000}).status_code == 202
    finished = wait_for_status(client.get, capped, {"succeeded"})
    assert finished["ledger"]["phases"]["implement"]["calls"] == 5
    assert finished["cost_usd"] > stopped["cost_usd"]
