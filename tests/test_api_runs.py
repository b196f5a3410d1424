"""The HTTP API in this process (FastAPI's test client, with the app's lifespan launching DBOS on
SQLite or PostgreSQL), an in-memory spec store and a scripted model, and real git and pytest."""

from __future__ import annotations

import threading
from pathlib import Path

from specmill.models import ModelRequest, ModelTurn
from specmill.ports.model import ScriptedModel
from specmill.replay.scripts import Script
from tests import scenarios
from tests.fixtures.api import read_sse, wait_for_status
from tests.fixtures.git_repos import git

STEP_NAMES_OF_ONE_ATTEMPT = (
    ["load_playbook", "read_spec", "prepare_workspace", "analyze_patterns", "update_spec", "implement.setup"]
    + ["implement.environment"]
    + ["implement.model_call", "implement.tool"] * 4
    + ["implement.model_call", "run_tests", "update_spec", "validate", "record_attempt", "update_spec"]
)


def test_a_run_started_over_http_streams_its_progress_to_the_end_and_reads_back(
    api_client, database, calc_repo: Path
) -> None:
    client = api_client(ScriptedModel(Script.load(scenarios.succeeds_first_time())), database)
    started = client.post("/runs", json={"spec": "specs/multiply", "repo": str(calc_repo)})
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    assert started.json() == {"run_id": run_id, "status_url": f"/runs/{run_id}", "events_url": f"/runs/{run_id}/events"}

    with client.stream("GET", f"/runs/{run_id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        whole = read_sse(response.iter_lines())
    fourth_phase = [n for n, e in enumerate(whole, 1) if e.event == "phase_started"][3]
    with client.stream("GET", f"/runs/{run_id}/events") as response:
        first = read_sse(response.iter_lines(), stop_after=fourth_phase)  # ends on a phase event: p<offset>
    with client.stream("GET", f"/runs/{run_id}/events", headers={"Last-Event-ID": first[-1].id}) as response:
        rest = read_sse(response.iter_lines())
    assert first[-1].id.startswith("p") and first[-1].event == "phase_started"
    assert first + rest == whole, "reconnecting lost or repeated events"
    assert len({e.id for e in whole}) == len(whole)
    assert whole[-1].event == "run_ended" and whole[-1].data["status"] == "succeeded"
    phases = [e.data["phase"] for e in whole if e.event == "phase_started"]
    assert phases[:7] == [
        "load_playbook",
        "read_spec",
        "prepare_workspace",
        "analyze_patterns",
        "update_spec",
        "implement",
        "run_tests",
    ]
    finished = {e.data["step"]: e.data["detail"] for e in whole if e.event == "step_finished"}
    assert "2 passed" in finished["run_tests"] and "implement.tool" in finished
    assert client.get(f"/runs/{run_id}/events", headers={"Last-Event-ID": whole[-1].id}).status_code == 204

    detail = client.get(f"/runs/{run_id}").json()
    assert detail["status"] == "succeeded" and detail["phase"] is None and detail["error"] is None
    assert detail["request"]["spec"] == "specs/multiply" and detail["request"]["repo"] == str(calc_repo.resolve())
    assert [s["name"] for s in detail["timeline"]] == STEP_NAMES_OF_ONE_ATTEMPT
    assert all(s["status"] == "succeeded" and s["duration_s"] >= 0 and not s["reused"] for s in detail["timeline"])
    assert detail["tests"]["passed"] == 2 and detail["tests"]["failed"] == 0
    assert [c["met"] for c in detail["criteria"]] == [True, True]
    assert detail["usage"]["input_tokens"] == 6 and detail["iterations"] == 1
    assert git(calc_repo, "rev-parse", detail["branch"]) == detail["head_commit"]
    assert {a["kind"] for a in detail["artifacts"]} == {"diff", "test_report", "verdict", "transcript"}

    diff = client.get(f"/runs/{run_id}/diff").json()
    assert diff["head_commit"] == detail["head_commit"] and diff["base_commit"] == detail["base_commit"]
    assert "+def multiply(a: int, b: int) -> int:" in diff["diff"] and "tests/test_multiply.py" in diff["diff"]
    listed = client.get("/runs").json()
    assert [(r["run_id"], r["status"]) for r in listed["runs"]] == [(run_id, "succeeded")] and listed[
        "next_cursor"
    ] is None


def test_the_same_idempotency_key_returns_the_same_run_and_bad_requests_fail_at_once(
    api_client, calc_repo: Path, tmp_path: Path
) -> None:
    client = api_client(ScriptedModel(Script.load(scenarios.succeeds_first_time())))
    body = {"spec": "specs/nope", "repo": str(calc_repo)}
    first = client.post("/runs", json=body, headers={"Idempotency-Key": "job-42"})
    again = client.post("/runs", json=body, headers={"Idempotency-Key": "job-42"})
    assert first.status_code == again.status_code == 202 and first.json() == again.json()
    assert first.json()["run_id"] == "job-42"
    other = client.post("/runs", json={**body, "spec": "specs/other"}, headers={"Idempotency-Key": "job-42"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"

    not_git = client.post("/runs", json={"spec": "specs/multiply", "repo": str(tmp_path)})
    assert not_git.status_code == 422
    assert (
        not_git.json()["error"]["code"] == "not_a_git_repository"
        and str(tmp_path) in not_git.json()["error"]["message"]
    )
    playbook = client.post("/runs", json={"spec": "specs/multiply", "repo": str(calc_repo), "playbook": "nope"})
    assert playbook.status_code == 422 and playbook.json()["error"]["code"] == "unknown_playbook"
    assert "python-developer" in playbook.json()["error"]["message"]

    failed = wait_for_status(client.get, "job-42", {"error"})
    assert failed["error"]["type"] == "SpecNotFound" and "nope" in failed["error"]["message"]
    assert failed["phase"] == "read_spec" and "Traceback" in failed["error"]["traceback"]
    assert [r["run_id"] for r in client.get("/runs").json()["runs"]] == ["job-42"]  # the 422s started nothing


def test_runs_list_newest_first_with_filters_and_a_cursor(api_client, calc_repo: Path) -> None:
    client = api_client(ScriptedModel(Script.load(scenarios.succeeds_first_time())))
    ids = [
        client.post("/runs", json={"spec": f"specs/missing-{n}", "repo": str(calc_repo)}).json()["run_id"]
        for n in range(5)
    ]
    for run_id in ids:
        wait_for_status(client.get, run_id, {"error"})
    seen, cursor = [], None
    while True:
        page = client.get("/runs", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        assert len(page["runs"]) <= 2
        seen += [r["run_id"] for r in page["runs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    assert [r["run_id"] for r in client.get("/runs", params={"spec": "specs/missing-3"}).json()["runs"]] == [ids[3]]
    assert len(client.get("/runs", params={"status": "error", "limit": 3}).json()["runs"]) == 3
    assert client.get("/runs", params={"status": "succeeded"}).json() == {"runs": [], "next_cursor": None}
    assert client.get("/runs", params={"repo": "/elsewhere"}).json()["runs"] == []
    bad = client.get("/runs", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"


def test_a_cancelled_run_stops_and_resumes_to_the_end_without_repeating_finished_calls(
    api_client, calc_repo: Path
) -> None:
    gate, calls = threading.Event(), []
    scripted = ScriptedModel(Script.load(scenarios.succeeds_first_time()))

    def respond(request: ModelRequest) -> ModelTurn:
        calls.append(request)
        if len(calls) == 2:
            assert gate.wait(60), "the test never opened the gate"
        return scripted.complete(request)

    client = api_client(ScriptedModel(respond))
    run_id = client.post("/runs", json={"spec": "specs/multiply", "repo": str(calc_repo)}).json()["run_id"]
    wait_for_status(client.get, run_id, {"running"})
    while len(calls) < 2:
        threading.Event().wait(0.05)
    cancelled = client.post(f"/runs/{run_id}/cancel")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    gate.set()
    assert client.post(f"/runs/{run_id}/cancel").json()["error"]["code"] == "not_cancellable"
    with client.stream("GET", f"/runs/{run_id}/events") as response:
        assert read_sse(response.iter_lines())[-1].data["status"] == "cancelled"

    assert client.post(f"/runs/{run_id}/resume").status_code == 202
    done = wait_for_status(client.get, run_id, {"succeeded", "failed", "error"})
    assert done["status"] == "succeeded", done["error"]
    # DBOS preempts the step in flight at cancel and records nothing for it, but its answer went
    # into the call journal when it arrived: after resume no call is made again.
    assert len(calls) == 6 and len({c.model_dump_json() for c in calls}) == 6
    again = client.post(f"/runs/{run_id}/resume")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_resumable"


def test_errors_have_one_shape_and_bodies_are_size_limited(api_client, calc_repo: Path) -> None:
    client = api_client(ScriptedModel(Script.load(scenarios.succeeds_first_time())), max_request_bytes=2048)
    cases = [
        (client.get("/runs/nope"), 404, "not_found"),
        (client.get("/runs/nope/diff"), 404, "not_found"),
        (client.post("/runs/nope/cancel"), 404, "not_found"),
        (client.get("/runs/bad%20id!"), 422, "invalid_request"),
        (client.get("/nowhere"), 404, "not_found"),
        (client.post("/runs", json={"repo": str(calc_repo)}), 422, "invalid_request"),
        (
            client.post("/runs", content=b"{not json", headers={"content-type": "application/json"}),
            422,
            "invalid_request",
        ),
        (client.post("/runs", json={"spec": "x" * 900, "repo": "y" * 3000}), 413, "request_too_large"),
        (client.get("/runs", params={"limit": 0}), 422, "invalid_request"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
        assert response.json()["error"]["message"]
    run_id = client.post("/runs", json={"spec": "specs/nope", "repo": str(calc_repo)}).json()["run_id"]
    wait_for_status(client.get, run_id, {"error"})
    bad_resume_point = client.get(f"/runs/{run_id}/events", headers={"Last-Event-ID": "yesterday"})
    assert bad_resume_point.status_code == 422 and bad_resume_point.json()["error"]["code"] == "invalid_last_event_id"
    no_branch = client.get(f"/runs/{run_id}/diff")
    assert no_branch.status_code == 409 and no_branch.json()["error"]["code"] == "no_workspace_yet"
    never_reached = client.post(f"/runs/{run_id}/fork", json={"from_phase": "implement"})
    assert never_reached.status_code == 409 and never_reached.json()["error"]["code"] == "phase_not_reached"


def test_bearer_tokens_guard_every_endpoint_but_the_health_check(api_client) -> None:
    client = api_client(ScriptedModel(Script.load(scenarios.succeeds_first_time())), api_tokens="alpha, beta")
    guarded = [
        ("GET", "/runs"),
        ("GET", "/runs/x"),
        ("GET", "/runs/x/events"),
        ("GET", "/runs/x/diff"),
        ("POST", "/runs"),
        ("POST", "/runs/x/cancel"),
        ("POST", "/runs/x/resume"),
        ("POST", "/runs/x/fork"),
        ("GET", "/playbooks"),
    ]
    for method, path in guarded:
        for headers in ({}, {"Authorization": "Bearer gamma"}, {"Authorization": "Basic YWxwaGE6"}):
            response = client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert (
                response.json()["error"]["code"] == "unauthorized" and response.headers["www-authenticate"] == "Bearer"
            )
    assert client.get("/runs", headers={"Authorization": "Bearer beta"}).status_code == 200
    assert client.get("/playbooks", headers={"Authorization": "Bearer alpha"}).json()[0]["name"] == "python-developer"
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
