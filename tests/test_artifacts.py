"""What a run recorded for review, readable without SQL: `specmill runs show ID --diff|--verdict|--transcript`
and `GET /runs/{id}/artifacts/{name}`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from specmill.ports.model import ScriptedModel
from specmill.replay.scripts import Script
from tests import scenarios
from tests.fixtures.api import wait_for_status


def show(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPECMILL_DATA_DIR": str(data_dir)}
    env.pop("DBOS_SYSTEM_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "specmill", "runs", "show", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_runs_show_prints_each_artifact(world):
    result, _ = world(scenarios.succeeds_first_time())
    data_dir = world.tmp_path / "data"
    diff = show(data_dir, result.run_id, "--diff")
    assert diff.returncode == 0, diff.stderr
    assert "+def multiply(a: int, b: int) -> int:" in diff.stdout and "tests/test_multiply.py" in diff.stdout
    verdict = show(data_dir, result.run_id, "--verdict", "--json")
    body = json.loads(verdict.stdout)
    assert body["kind"] == "verdict" and body["attempt"] == 1
    assert [c["met"] for c in json.loads(body["content"])["criteria"]] == [True, True]
    transcript = show(data_dir, result.run_id, "--transcript")
    assert transcript.returncode == 0 and "multiply is implemented and tested." in transcript.stdout
    both = show(data_dir, result.run_id, "--diff", "--verdict")
    assert both.returncode == 2 and "pick one" in both.stderr
    missing = show(data_dir, "no-such-run", "--diff", "--json")
    assert missing.returncode == 2 and "recorded no diff" in json.loads(missing.stdout)["error"]["message"]


def test_artifacts_over_http(api_client, calc_repo):
    client = api_client(ScriptedModel(Script.load(scenarios.succeeds_first_time())))
    run_id = client.post("/runs", json={"spec": "specs/multiply", "repo": str(calc_repo)}).json()["run_id"]
    assert wait_for_status(client.get, run_id, {"succeeded", "failed", "error"})["status"] == "succeeded"
    diff = client.get(f"/runs/{run_id}/artifacts/diff")
    assert diff.status_code == 200 and diff.headers["content-type"].startswith("text/x-diff")
    assert "+def multiply" in diff.text and diff.headers["x-specmill-attempt"] == "1"
    verdict = client.get(f"/runs/{run_id}/artifacts/verdict", params={"attempt": 1})
    assert verdict.headers["content-type"].startswith("application/json") and verdict.json()["criteria"]
    assert client.get(f"/runs/{run_id}/artifacts/diff", params={"attempt": 7}).status_code == 404
    assert client.get(f"/runs/{run_id}/artifacts/secrets").status_code == 422
    unknown = client.get("/runs/nope/artifacts/diff")
    assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "run 'nope' recorded no diff"
