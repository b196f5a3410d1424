"""`specmill serve` end to end: uvicorn in its own process on loopback, DBOS launched in the app's
lifespan on SQLite or PostgreSQL, real Basic Memory over MCP, the real anthropic SDK against
the loopback Messages API server, real git and pytest. The test talks HTTP only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from specmill import records
from specmill.replay.request_log import completed_counts
from tests import scenarios
from tests.fixtures.api import read_sse, wait_for_status
from tests.fixtures.git_repos import git

TOKEN = "s3cret-token"


@pytest.fixture
def serve_env(cli_env: dict[str, str]) -> dict[str, str]:
    """The CLI tests' environment (shared Basic Memory, data dir, database), plus what `serve` needs."""
    return {
        **cli_env,
        "SPECMILL_API_TOKENS": TOKEN,
        "SPECMILL_QUEUE_POLLING_INTERVAL_S": "0.1",
        "SPECMILL_EXECUTOR_ID": f"serve-test-{uuid.uuid4().hex[:6]}",
    }


@pytest.mark.basic_memory
@pytest.mark.slow
def test_serve_starts_follows_reads_and_cancels_runs_over_http(
    serve_env,
    serve_process,
    basic_memory,
    messages_server,
    calc_repo: Path,
) -> None:
    model = messages_server(scenarios.succeeds_first_time(delay_on_turn=3, delay_s=1.5))
    serve_env["ANTHROPIC_BASE_URL"] = model.base_url
    title = f"Multiply {uuid.uuid4().hex[:8]}"
    spec = basic_memory.write_spec(title, scenarios.spec_note(title)).permalink
    api = serve_process(serve_env)
    body = {"spec": spec, "repo": str(calc_repo)}

    assert httpx.post(f"{api.base_url}/runs", json=body).status_code == 401
    log = api.log.read_text(errors="replace")
    assert f"listening on {api.base_url}" in log
    assert '"POST /runs HTTP/1.1" 401' in log, "serve keeps an access log"
    with api.client(TOKEN) as client:
        started = client.post("/runs", json=body, headers={"Idempotency-Key": "http-run"})
        assert started.status_code == 202, started.text
        assert client.post("/runs", json=body, headers={"Idempotency-Key": "http-run"}).json() == started.json()

        with client.stream("GET", "/runs/http-run/events") as response:
            first = read_sse(response.iter_lines(), stop_after=12)
        assert first[-1].event != "run_ended", "the halfway point should be mid-run"
        with client.stream(
            "GET", "/runs/http-run/events", headers={"Last-Event-ID": first[-1].id}, timeout=120
        ) as response:
            rest = read_sse(response.iter_lines())
        with client.stream("GET", "/runs/http-run/events") as response:
            whole = read_sse(response.iter_lines())
        assert first + rest == whole and rest[-1].event == "run_ended" and rest[-1].data["status"] == "succeeded"

        detail = client.get("/runs/http-run").json()
        assert detail["status"] == "succeeded" and detail["tests"]["passed"] == 2
        assert all(c["met"] for c in detail["criteria"]) and detail["usage"]["input_tokens"] > 0
        assert git(calc_repo, "rev-parse", detail["branch"]) == detail["head_commit"]
        diff = client.get("/runs/http-run/diff").json()
        assert "+def multiply(a: int, b: int) -> int:" in diff["diff"]
        assert max(completed_counts(model.wait_settled()).values()) == 1

        second = client.post("/runs", json=body).json()["run_id"]
        wait_for_status(client.get, second, {"running"})
        cancelled = client.post(f"/runs/{second}/cancel")
        assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
        with client.stream("GET", f"/runs/{second}/events") as response:
            assert read_sse(response.iter_lines())[-1].data["status"] == "cancelled"
        statuses = {r["run_id"]: r["status"] for r in client.get("/runs").json()["runs"]}
        assert statuses == {"http-run": "succeeded", second: "cancelled"}


def test_serve_refuses_a_non_loopback_address_without_a_token(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SPECMILL_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run(
        [sys.executable, "-m", "specmill", "serve", "--host", "0.0.0.0", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "refusing to serve on 0.0.0.0 without a token" in proc.stderr and "SPECMILL_API_TOKENS" in proc.stderr


def test_db_upgrade_creates_specmills_tables_on_the_system_database(database: str | None, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SPECMILL_DATA_DIR": str(tmp_path / "data")}
    if "PYTHONPATH" in os.environ:  # the code under test, when it is not the installed one
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    if database:
        env["DBOS_SYSTEM_DATABASE_URL"] = database
    for _ in range(2):  # applying it again changes nothing
        proc = subprocess.run(
            [sys.executable, "-m", "specmill", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        assert "specmill's tables are up to date" in proc.stdout
    engine = sa.create_engine(records.sqlalchemy_url(database or f"sqlite:///{tmp_path / 'data' / 'specmill.sqlite'}"))
    try:
        with engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) >= {
                "specmill_runs",
                "specmill_artifacts",
                "specmill_alembic_version",
            }
            assert conn.execute(sa.text("SELECT version_num FROM specmill_alembic_version")).scalar_one() == _head()
    finally:
        engine.dispose()


def test_serve_on_a_busy_port_fails_at_once_without_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k != "DBOS_SYSTEM_DATABASE_URL"}
        env["SPECMILL_DATA_DIR"] = str(tmp_path / "data")
        proc = subprocess.run(
            [sys.executable, "-m", "specmill", "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 3, proc.stderr
    assert (
        proc.stderr.strip()
        == f"error: cannot listen on 127.0.0.1:{port}: the port is in use: stop what holds it, or pass --port"
    )
    assert not (tmp_path / "data" / "specmill.sqlite").exists(), "nothing started before the port was had"


def _head() -> str:
    """The newest of specmill's migrations."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(records.MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()
