"""`specmill doctor` against the real parts: each is ok, or it is a problem that names its fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import scenarios

pytestmark = pytest.mark.basic_memory


def doctor(env: dict[str, str]) -> tuple[int, dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "specmill", "doctor", "--json"], env=env, capture_output=True, text=True, timeout=180
    )
    return proc.returncode, json.loads(proc.stdout)


def by_part(body: dict) -> dict[str, dict]:
    return {f["part"]: f for f in body["findings"]}


def test_doctor_says_all_is_well_when_it_is(basic_memory, messages_server, tmp_path: Path) -> None:
    server = messages_server(scenarios.succeeds_first_time())
    env = {
        **basic_memory.specmill_env(),
        "SPECMILL_DATA_DIR": str(tmp_path / "data"),
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": server.base_url,
    }
    env.pop("DBOS_SYSTEM_DATABASE_URL", None)
    code, body = doctor(env)
    assert code == 0 and body["status"] == "ok", body
    parts = by_part(body)
    assert list(parts) == ["git", "settings", "database", "basic memory", "model", "sandbox"]
    assert parts["basic memory"]["detail"].startswith(f"project '{basic_memory.project}':")
    assert parts["sandbox"]["detail"].startswith("bubblewrap works")
    assert any(r["path"] == "/v1/messages/count_tokens" for r in server.requests()), "the key was really tried"


def test_doctor_names_each_problem_and_its_fix(basic_memory, tmp_path: Path) -> None:
    env = {
        **basic_memory.specmill_env(),
        "SPECMILL_DATA_DIR": str(tmp_path / "data"),
        "SPECMILL_PROJECT": "no-such-project",
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        "DBOS_SYSTEM_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nothing",
    }
    code, body = doctor(env)
    assert code == 1 and body["status"] == "problem"
    parts = by_part(body)
    assert parts["database"]["state"] == "problem" and "DBOS_SYSTEM_DATABASE_URL" in parts["database"]["fix"]
    assert parts["basic memory"] == {
        "part": "basic memory",
        "state": "problem",
        "detail": "no project 'no-such-project'",
        "fix": "basic-memory project add no-such-project DIR",
    }
    assert parts["model"]["state"] == "problem" and "ANTHROPIC_BASE_URL" in parts["model"]["fix"]
    env.pop("ANTHROPIC_API_KEY")
    _, body = doctor(env)
    assert by_part(body)["model"]["detail"] == "ANTHROPIC_API_KEY is not set"
