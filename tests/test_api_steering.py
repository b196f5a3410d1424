"""Steering runs over HTTP: fork from a phase with overrides, and resume a run that failed while
the model was down. The real anthropic SDK talks to the scripted Messages API server on
loopback, whose request log proves which model calls were made, and how often."""

from __future__ import annotations

from pathlib import Path

from dbos import DBOS

from specmill.adapters.anthropic_model import AnthropicModel
from specmill.models import ModelTurn
from specmill.replay.request_log import completed_counts, read_request_log
from tests import scenarios
from tests.fixtures.api import free_port, read_sse, wait_for_status
from tests.fixtures.git_repos import git

REUSED_BY_AN_IMPLEMENT_FORK = ["load_playbook", "read_spec", "prepare_workspace", "analyze_patterns", "update_spec"]


def test_a_fork_from_implement_reuses_the_steps_before_it_and_pays_only_for_new_model_calls(
    api_client,
    messages_server,
    anthropic_env,
    calc_repo: Path,
) -> None:
    server = messages_server(scenarios.succeeds_first_time())
    anthropic_env(server.base_url)
    client = api_client(AnthropicModel())
    original_id = client.post("/runs", json={"spec": "specs/multiply", "repo": str(calc_repo)}).json()["run_id"]
    original = wait_for_status(client.get, original_id, {"succeeded", "failed", "error"})
    assert original["status"] == "succeeded", original["error"]
    calls_of_original = len(server.wait_settled())

    body = {"from_phase": "implement", "overrides": {"model": "claude-fork-test", "max_iterations": 1}}
    forked = client.post(f"/runs/{original_id}/fork", json=body, headers={"Idempotency-Key": "fork-1"})
    assert forked.status_code == 202, forked.text
    assert (
        client.post(f"/runs/{original_id}/fork", json=body, headers={"Idempotency-Key": "fork-1"}).json()
        == forked.json()
    )
    fork = wait_for_status(client.get, "fork-1", {"succeeded", "failed", "error"})
    assert fork["status"] == "succeeded", fork["error"]
    assert fork["forked_from"] == original_id and fork["fork_phase"] == "implement"

    reused = [s for s in fork["timeline"] if s["reused"]]
    assert [s["name"] for s in reused] == REUSED_BY_AN_IMPLEMENT_FORK
    assert [(s["name"], s["started_at"]) for s in reused] == [
        (s["name"], s["started_at"]) for s in original["timeline"][:5]
    ]
    assert [s["name"] for s in fork["timeline"] if not s["reused"]][0] == "implement.setup"

    new_calls = server.wait_settled()[calls_of_original:]
    assert sorted({e["conversation"] for e in new_calls}) == ["implement-1", "verdict-1"]
    assert sum(1 for e in new_calls if e["completed"]) == 6  # five implement turns and one verdict
    replies = [s["output"] for s in DBOS.list_workflow_steps("fork-1") if isinstance(s["output"], ModelTurn)]
    assert replies and {r.model for r in replies} == {"claude-fork-test"}  # the override reached the fork

    assert fork["branch"] != original["branch"]
    assert (
        git(calc_repo, "rev-parse", original["branch"]) == original["head_commit"]
    )  # the original's branch stayed put
    assert git(calc_repo, "rev-parse", f"{fork['branch']}^{{tree}}") == git(
        calc_repo, "rev-parse", f"{original['branch']}^{{tree}}"
    )
    listed = {r["run_id"]: r["forked_from"] for r in client.get("/runs").json()["runs"]}
    assert listed == {"fork-1": original_id, original_id: None}


def test_a_run_that_failed_while_the_model_was_down_resumes_without_running_finished_steps_again(
    api_client,
    messages_server_process,
    anthropic_env,
    calc_repo: Path,
) -> None:
    port = free_port()
    anthropic_env(f"http://127.0.0.1:{port}")  # nothing listens there yet
    client = api_client(AnthropicModel())
    run_id = client.post("/runs", json={"spec": "specs/multiply", "repo": str(calc_repo)}).json()["run_id"]
    failed = wait_for_status(client.get, run_id, {"succeeded", "failed", "error"})
    assert failed["status"] == "error" and failed["phase"] == "implement"
    assert (
        failed["error"]["type"] == "TransientModelError"
        and "gave up after 3 attempt(s)" in failed["error"]["traceback"]
    )
    broken = next(s for s in failed["timeline"] if s["status"] == "failed")
    assert broken["name"] == "implement.model_call" and "Traceback (most recent call last)" in broken["traceback"]
    finished_before = [s for s in failed["timeline"] if s["step_id"] < broken["step_id"]]

    _, _, log = messages_server_process(scenarios.succeeds_first_time(), port=port)
    resumed = client.post(f"/runs/{run_id}/resume")
    assert resumed.status_code == 202 and resumed.json()["run_id"] == run_id
    done = wait_for_status(client.get, run_id, {"succeeded", "failed", "error"})
    assert done["status"] == "succeeded", done["error"]

    kept = {s["step_id"]: (s["name"], s["started_at"], s["ended_at"]) for s in done["timeline"]}
    assert all(kept[s["step_id"]] == (s["name"], s["started_at"], s["ended_at"]) for s in finished_before)
    counts = completed_counts(read_request_log(log))
    assert sum(counts.values()) == 6 and max(counts.values()) == 1
    with client.stream("GET", f"/runs/{run_id}/events") as response:
        events = read_sse(response.iter_lines())
    started = [e.data["step"] for e in events if e.event == "step_started"]
    assert started.count("read_spec") == 1 and started.count("analyze_patterns") == 1
    assert events[-1].data["status"] == "succeeded"
