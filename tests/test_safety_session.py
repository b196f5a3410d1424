"""Whole scripted sessions against planted secrets: model-written tests see no key and no
network, and nothing a run leaves behind (spec note, system and application tables, logs,
progress events, the SSE stream, API responses, what the model was sent) holds a secret."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from specmill import progress
from specmill.adapters.git_worktree import GitWorktreeWorkspace
from specmill.adapters.pytest_runner import SubprocessTestRunner
from specmill.api.app import create_app
from specmill.config import Settings
from specmill.container import Container
from specmill.models import PatternBrief, ToolOutcome
from specmill.ports.model import ScriptedModel
from specmill.ports.repo_analysis import FixedRepoAnalyzer
from specmill.ports.spec_store import MemorySpecStore
from specmill.redaction import Redactor, redact_log_records
from specmill.replay.scripts import Script
from tests import scenarios
from tests.fixtures.api import read_sse, wait_for_status
from tests.fixtures.git_repos import git
from tests.fixtures.runtime import make_settings
from tests.safety_support import EDITOR, postgres_dump, sqlite_dump, start, step_outputs, text, tool, tool_results

REPO_KEY = "sk-ant-api03-" + "RepoFileKey0" * 4 + "-xyzAA"  # key-shaped, in a file the model views
ENV_KEY = "sk-ant-api03-" + "EnvPlantedKey" * 3 + "-abcAA"
SEED = "plain-planted-seed-7f3a9c1e"  # shaped like nothing: only its configured name gives it away
SETTINGS_PY = f'DEBUG = False\nSERVICE_KEY = "{REPO_KEY}"\nTIMEOUT = 30\n'
PROBE = """import os, socket
from pathlib import Path


def test_probe():
    found = ["KEY " + ("present" if "ANTHROPIC_API_KEY" in os.environ else "absent")]
    try:
        socket.create_connection(("127.0.0.1", PORT), timeout=2).close()
        found.append("CONNECT ok")
    except OSError as exc:
        found.append(f"CONNECT failed ({exc})")
    found.append("FILE " + Path("calc/settings.py").read_text())
    found.append("ENV " + " ".join(f"{k}={v}" for k, v in sorted(os.environ.items())))
    raise AssertionError(" | ".join(found))
"""


def session(port: int) -> dict[str, Any]:
    turns = [
        {"content": [text("Reading the settings."), tool(EDITOR, command="view", path="calc/settings.py")]},
        {
            "content": [
                tool(
                    EDITOR,
                    command="str_replace",
                    path="calc/settings.py",
                    old_str="DEBUG = False",
                    new_str="DEBUG = True",
                )
            ]
        },
        {
            "content": [
                tool(EDITOR, command="create", path="tests/test_probe.py", file_text=PROBE.replace("PORT", str(port)))
            ]
        },
        {"content": [tool("run_tests", selection="tests/test_probe.py")]},
        {"content": [text("Probed the environment.")]},
    ]
    return {
        "conversations": [
            scenarios.conversation("implement-1", 1, turns),
            scenarios.conversation(
                "verdict-1", 1, [scenarios.verdict(False, False, summary="the probe fails")], forced="record_verdict"
            ),
        ]
    }


@pytest.fixture
def repo(calc_repo: Path) -> Path:
    (calc_repo / "calc" / "settings.py").write_text(SETTINGS_PY)
    git(calc_repo, "add", "--all")
    git(calc_repo, "commit", "--quiet", "-m", "settings")
    return calc_repo


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    yield server
    server.close()


@pytest.fixture
def store() -> MemorySpecStore:
    store = MemorySpecStore()
    store.write_note("specs", scenarios.SPEC_TITLE, "specs", scenarios.SPEC)
    return store


def test_model_written_tests_find_no_key_and_no_network(
    repo, store, listener, launch_runtime, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ENV_KEY)
    result, _, _ = start(
        launch_runtime,
        tmp_path / "data",
        repo,
        store,
        session(listener.getsockname()[1]),
        run_id="probe",
        max_iterations=1,
    )
    assert result.status == "failed"  # the probe test always fails, to carry its findings out
    reports = [
        o.test_report for o in step_outputs("probe", "implement.tool") if isinstance(o, ToolOutcome) and o.test_report
    ]
    reports += step_outputs("probe", "run_tests")
    assert len(reports) == 2
    for report in reports:  # the run's record states the containment, every time
        assert report.isolation.startswith("sandbox: bubblewrap (no network") and "limits: cpu" in report.isolation
        assert "KEY absent" in report.output_tail and ENV_KEY not in report.output_tail
        assert "CONNECT failed" in report.output_tail
    with pytest.raises(TimeoutError):
        listener.accept()


@pytest.fixture
def api(tmp_path: Path, store: MemorySpecStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`open(database) -> (TestClient, ScriptedModel, Settings)`: the HTTP API in this process, on
    a container whose allow-list deliberately lets the planted secrets reach the tests."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", ENV_KEY)
    monkeypatch.setenv("INTERNAL_SIGNING_SEED", SEED)
    opened: list[TestClient] = []

    def open_(database: str | None, script: dict[str, Any]) -> tuple[TestClient, ScriptedModel, Settings]:
        config = make_settings(
            tmp_path / "data",
            database,
            queue_polling_interval_s=0.1,
            secret_env="INTERNAL_SIGNING_SEED",
            test_env_allow="INTERNAL_SIGNING_SEED,ANTHROPIC_API_KEY",
        )
        model = ScriptedModel(Script.load(script))
        brief = PatternBrief(markdown=f"calc/settings.py holds SERVICE_KEY = {REPO_KEY!r}.", tokens=20, budget=4000)
        container = Container(
            config,
            store,
            model,
            GitWorktreeWorkspace(config.data_dir),
            SubprocessTestRunner.from_settings(config),
            FixedRepoAnalyzer(brief),
            note_index=store,
        )
        client = TestClient(create_app(container=container), base_url="http://127.0.0.1")
        client.__enter__()
        opened.append(client)
        return client, model, config

    yield open_
    for client in opened:
        client.__exit__(None, None, None)


def test_planted_secrets_are_found_nowhere_after_a_whole_session(
    api,
    database,
    repo,
    store,
    listener,
    caplog: pytest.LogCaptureFixture,
) -> None:
    restore = redact_log_records(Redactor.from_settings(Settings()))  # as `specmill` does at start
    events: list[progress.ProgressEvent] = []
    unsubscribe = progress.subscribe(events.append)
    try:
        with caplog.at_level(logging.DEBUG):
            client, model, settings = api(database, session(listener.getsockname()[1]))
            started = client.post(
                "/runs", json={"spec": "specs/multiply", "repo": str(repo), "project": "specs", "max_iterations": 1}
            )
            assert started.status_code == 202, started.text
            run_id = started.json()["run_id"]
            detail = wait_for_status(client.get, run_id, {"failed", "succeeded", "error"})
            responses = [
                started.text,
                client.get(f"/runs/{run_id}").text,
                client.get(f"/runs/{run_id}/diff").text,
                client.get("/runs").text,
            ]
            with client.stream("GET", f"/runs/{run_id}/events") as stream:
                sse = "\n".join(stream.iter_lines())
            assert len(read_sse(iter(sse.splitlines() + [""]))) > 10  # the whole stream, parsed
            recorded, tables = (
                sqlite_dump(settings.data_dir / "specmill.sqlite") if database is None else postgres_dump(database)
            )
    finally:
        unsubscribe()
        restore()
    assert detail["status"] == "failed", detail

    seen_by_model = [b["content"] for b in tool_results(model)]
    assert 'SERVICE_KEY = "[REDACTED]"' in seen_by_model[0]  # the view the model read was redacted...
    probe = next(c for c in seen_by_model if "CONNECT" in c)
    assert "[REDACTED:INTERNAL_SIGNING_SEED]" in probe  # ...and the secrets the tests printed, too
    assert "DEBUG = True" in responses[2] and "SERVICE_KEY" in responses[2]  # the diff shows the edit, not the key
    assert {"operation_outputs", "workflow_status", "streams", "specmill_artifacts"} <= {
        t.split(".")[-1] for t in tables
    }
    assert "[REDACTED:INTERNAL_SIGNING_SEED]" in recorded  # step outputs were decoded and searched, not skipped

    places = {
        "spec note": store.content("specs", "specs/multiply"),
        "database": recorded,
        "logs": caplog.text + "".join(r.exc_text or "" for r in caplog.records),
        "progress events": "".join(e.model_dump_json() for e in events),
        "SSE stream": sse,
        "API responses": "".join(responses),
        "model requests": "".join(r.model_dump_json() for r in model.requests),
    }
    assert all(places.values()), [name for name, value in places.items() if not value]
    for name, value in places.items():
        for secret in (ENV_KEY, SEED, REPO_KEY):
            assert secret not in value, f"{secret[:20]}... leaked into the {name}"
