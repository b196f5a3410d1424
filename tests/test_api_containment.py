"""The API boundary, attacked as a caller would: each attack fails with a clear status, starts
nothing and tells nothing about the server's files.

Most of it runs against the app in this process (FastAPI's test client, DBOS launched in its
lifespan); the header deadline needs a real `specmill serve`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest

from specmill.api.event_hub import EventHub
from specmill.models import ModelRequest, ModelTurn
from specmill.ports.model import ScriptedModel
from specmill.replay.scripts import Script
from tests import scenarios
from tests.fixtures.api import read_sse, wait_for_status

PLAYBOOK = """---
name: {name}
test_command: {command}
---
You write code.
"""


def _scripted() -> ScriptedModel:
    return ScriptedModel(Script.load(scenarios.succeeds_first_time()))


def _gated() -> tuple[ScriptedModel, threading.Event]:
    """A model whose first call waits for the gate, so runs stay running (and queued) meanwhile."""
    gate, scripted = threading.Event(), _scripted()

    def respond(request: ModelRequest) -> ModelTurn:
        assert gate.wait(120), "the test never opened the gate"
        return scripted.complete(request)

    return ScriptedModel(respond), gate


def test_playbooks_over_http_are_names_from_the_server_folders_only(api_client, calc_repo: Path, tmp_path) -> None:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "team.md").write_text(PLAYBOOK.format(name="team", command="python -m pytest"))
    outside = tmp_path / "evil.md"
    outside.write_text(PLAYBOOK.format(name="evil", command="cat /etc/passwd"))
    client = api_client(_scripted(), playbooks_dir=folder)
    start = {"spec": "specs/multiply", "repo": str(calc_repo)}

    attempts = [str(outside), str(tmp_path / "missing.md"), "../evil", "evil.md", "team.md", "nope", "/etc/passwd"]
    messages = set()
    for name in attempts:
        refused = client.post("/runs", json={**start, "playbook": name})
        assert refused.status_code == 422, name
        assert refused.json()["error"]["code"] == "unknown_playbook"
        messages.add(refused.json()["error"]["message"].replace(name, "NAME"))
        assert str(tmp_path) not in refused.json()["error"]["message"].replace(name, "")
    assert len(messages) == 1, messages  # a file that exists is refused exactly like one that does not
    assert "team" in messages.pop()

    run_id = client.post("/runs", json={**start, "playbook": "team"}).json()["run_id"]
    assert wait_for_status(client.get, run_id, {"succeeded", "failed", "error"})["status"] == "succeeded"
    for name in (str(outside), "../evil"):
        fork = client.post(f"/runs/{run_id}/fork", json={"from_phase": "implement", "overrides": {"playbook": name}})
        assert fork.status_code == 422 and fork.json()["error"]["code"] == "unknown_playbook"
    assert [r["run_id"] for r in client.get("/runs").json()["runs"]] == [run_id]  # the refusals started nothing
    assert {p["name"] for p in client.get("/playbooks").json()} == {"team", "python-developer"}


def test_without_tokens_only_loopback_names_and_the_servers_own_origin_get_in(api_client, calc_repo: Path) -> None:
    client = api_client(_scripted())
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", "10.0.0.1", ""):
        refused = client.get("/runs", headers={"Host": host})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "untrusted_host", host
    for host in ("localhost", "localhost:8000", "127.0.0.1:9", "[::1]:8000", "LOCALHOST"):
        assert client.get("/runs", headers={"Host": host}).status_code == 200, host

    start = {"spec": "specs/multiply", "repo": str(calc_repo)}
    for origin in ("http://evil.example", "null", "http://127.0.0.1:9999"):
        refused = client.post("/runs", json=start, headers={"Origin": origin})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "foreign_origin", origin
    assert client.post("/runs/nope/cancel", headers={"Origin": "http://127.0.0.1"}).status_code == 404
    assert client.get("/runs", headers={"Origin": "http://evil.example"}).status_code == 200  # reads change nothing

    body = b'{"spec": "specs/multiply", "repo": "%s"}' % str(calc_repo).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
        headers = {"content-type": content_type} if content_type else {}
        refused = client.post("/runs", content=body, headers=headers)
        assert refused.status_code == 415 and refused.json()["error"]["code"] == "unsupported_media_type"
    assert client.post("/runs/nope/cancel", headers={"content-type": "text/plain"}).status_code == 415
    assert client.post("/runs/nope/cancel").status_code == 404  # no body, nothing to declare

    reserved = client.post("/runs", json=start, headers={"Idempotency-Key": "v0123456789ab-multiply"})
    assert reserved.status_code == 422 and reserved.json()["error"]["code"] == "reserved_run_id"
    assert client.get("/runs").json()["runs"] == []

    # A signed webhook may come through a proxy under any name (it is off here: 404, not 403).
    assert client.post("/webhooks/github", content=b"{}", headers={"Host": "hooks.example"}).status_code == 404

    assert client.get("/openapi.json").json()["info"]["title"] == "specmill"
    assert "swagger" in client.get("/docs").text.lower() and client.get("/redoc").status_code == 200


def test_followers_of_a_run_share_one_reader_and_each_gets_every_event_from_its_offset() -> None:
    reads: list[tuple[str, int]] = []
    release = asyncio.Event()

    async def read(run_id: str, offset: int):  # noqa: ANN202
        reads.append((run_id, offset))
        for n in range(3):
            yield n, {"n": n}
        await release.wait()
        yield 3, {"n": 3}

    async def follow(hub: EventHub, offset: int) -> list[int]:
        return [event["n"] async for _, event in hub.follow("r1", offset)]

    async def scenario() -> tuple[list[int], list[int], int]:
        hub = EventHub(read, max_streams=2)
        first = asyncio.create_task(follow(hub, 0))
        second = asyncio.create_task(follow(hub, 2))
        await asyncio.sleep(0)
        release.set()
        return await first, await second, len(hub._feeds)

    first, second, feeds_left = asyncio.run(scenario())
    assert (first, second) == ([0, 1, 2, 3], [2, 3])
    assert reads == [("r1", 0)] and feeds_left == 0  # one reader for both, dropped when they left


def test_quotas_per_token_budgets_idempotency_and_the_stream_cap(api_client, calc_repo: Path, database) -> None:
    model, gate = _gated()
    client = api_client(
        model,
        database,
        api_tokens="alpha,beta",
        max_budget_usd=2.0,
        max_queued_runs_per_token=1,
        max_event_streams=1,
    )
    alpha, beta = {"Authorization": "Bearer alpha"}, {"Authorization": "Bearer beta"}
    start = {"spec": "specs/multiply", "repo": str(calc_repo)}
    try:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 401, path
            assert client.get(path, headers=beta).status_code == 200, path
        # With tokens, the Host rule is off: the token is what the server trusts.
        assert client.get("/runs", headers={**alpha, "Host": "specmill.internal"}).status_code == 200

        over = client.post("/runs", json={**start, "budget_usd": 5}, headers=alpha)
        assert over.status_code == 429 and over.json()["error"]["code"] == "budget_over_quota"
        assert "2" in over.json()["error"]["message"]

        resume = client.post("/runs/q-0/resume", json={"budget_usd": 3}, headers=alpha)
        assert resume.status_code == 429 and resume.json()["error"]["code"] == "budget_over_quota"
        first = client.post("/runs", json={**start, "budget_usd": 1.5}, headers={**alpha, "Idempotency-Key": "q-1"})
        assert first.status_code == 202
        changed = client.post("/runs", json={**start, "budget_usd": 2}, headers={**alpha, "Idempotency-Key": "q-1"})
        assert changed.status_code == 409 and changed.json()["error"]["code"] == "idempotency_conflict"
        wait_for_status(lambda url: client.get(url, headers=alpha), "q-1", {"running"})

        queued = client.post("/runs", json=start, headers=alpha)
        assert queued.status_code == 429 and queued.json()["error"]["code"] == "too_many_queued_runs"
        assert queued.headers["retry-after"]
        other = client.post("/runs", json=start, headers={**beta, "Idempotency-Key": "q-2"})
        assert other.status_code == 202  # the quota is per token
        assert client.get("/runs/q-2", headers=beta).json()["request"]["budget_usd"] == 2.0  # the server's cap

        with client.stream("GET", "/runs/q-1/events", headers=alpha) as following:
            assert following.status_code == 200
            refused = client.get("/runs/q-2/events", headers=beta)
            assert refused.status_code == 503 and refused.json()["error"]["code"] == "too_many_streams"
            gate.set()
            events = read_sse(following.iter_lines())
        assert events[-1].event == "run_ended" and events[-1].data["status"] == "succeeded"
        with client.stream("GET", "/runs/q-2/events", headers=beta) as again:  # the slot was given back
            assert again.status_code == 200 and read_sse(again.iter_lines())[-1].event == "run_ended"
    finally:
        gate.set()


@pytest.mark.basic_memory
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_serve_hangs_up_on_clients_that_send_headers_too_slowly(serve_process, cli_env: dict[str, str]) -> None:
    server = serve_process({**cli_env, "SPECMILL_HEADER_TIMEOUT_S": "1", "SPECMILL_KEEP_ALIVE_S": "1"})
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert slow.recv(1024) == b""  # the server closed the connection; a socket timeout would raise
    with socket.create_connection((host, int(port)), timeout=30) as idle:
        assert idle.recv(1024) == b""  # a connection that never sends a byte is closed too
    with server.client() as client:
        assert client.get("/healthz").status_code == 200
        refused = client.get("/healthz", headers={"Host": "rebound.example"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "untrusted_host"
