"""`specmill runs list`: aligned columns whatever the ids, and an empty list (not an error) before any run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from specmill.cli.app import app
from specmill.cli.runs import run_table
from tests import scenarios
from tests.fixtures.runtime import fresh_postgres_database

HEADER = ["ID", "SPEC", "REPO", "STATUS", "PHASE", "STARTED (UTC)", "COST"]


def runs_list(monkeypatch: pytest.MonkeyPatch, data_dir: Path, database: str | None, *args: str):
    monkeypatch.setenv("SPECMILL_DATA_DIR", str(data_dir))
    if database:
        monkeypatch.setenv("DBOS_SYSTEM_DATABASE_URL", database)
    else:
        monkeypatch.delenv("DBOS_SYSTEM_DATABASE_URL", raising=False)
    return CliRunner().invoke(app, ["runs", "list", *args])


def test_a_fresh_install_lists_no_runs_and_creates_nothing(monkeypatch, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    listed = runs_list(monkeypatch, data_dir, None)
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines()[0].split() == "ID SPEC REPO STATUS PHASE STARTED (UTC) COST".split()
    assert listed.stdout.splitlines()[1:] == ["no runs yet"]
    assert not data_dir.exists()
    assert json.loads(runs_list(monkeypatch, data_dir, None, "--json").stdout) == []


def test_a_fresh_postgres_database_after_db_upgrade_lists_no_runs(monkeypatch, tmp_path: Path) -> None:
    """`specmill db upgrade` creates specmill's tables; DBOS's own exist only once DBOS launched."""
    with fresh_postgres_database() as url:
        monkeypatch.setenv("SPECMILL_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("DBOS_SYSTEM_DATABASE_URL", url)
        upgraded = CliRunner().invoke(app, ["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        listed = runs_list(monkeypatch, tmp_path / "data", url)
        assert listed.exit_code == 0, listed.output
        assert listed.stdout.splitlines()[1:] == ["no runs yet"]
        as_json = runs_list(monkeypatch, tmp_path / "data", url, "--json")
        assert as_json.exit_code == 0 and json.loads(as_json.stdout) == []


def test_long_values_are_cut_with_an_ellipsis_ids_are_whole_and_columns_stay_aligned() -> None:
    long_id = "r" * 90
    runs = [
        {"run_id": long_id, "spec": "specs/" + "s" * 60, "repo": "/srv/" + "p" * 60 + "/calc", "status": "SUCCESS",
         "outcome": "succeeded", "phase": None, "created_at_ms": 1_700_000_000_000, "cost_usd": 0.5, "waiting": None},
        {"run_id": "short", "spec": "specs/a", "repo": "/r", "status": "PENDING", "outcome": None,
         "phase": "implement", "created_at_ms": 1_700_000_000_000, "cost_usd": None, "waiting": "awaiting_approval"},
    ]  # fmt: skip
    lines = run_table(runs)
    starts = [i for i, c in enumerate(lines[0]) if c != " " and (i == 0 or lines[0][i - 2 : i] == "  ")]
    for line in lines[1:]:
        assert all(line[i - 2 : i] == "  " for i in starts[1:]), line
    first = lines[1].split()
    assert first[0] == long_id  # copied into `runs show`, so never cut
    assert first[1].endswith("\u2026") and runs[0]["spec"].startswith(first[1][:-1])
    assert first[2].startswith("\u2026") and first[2].endswith("/calc")
    assert first[3] == "succeeded" and first[-1] == "$0.5000"
    assert lines[2].split()[3:5] == ["awaiting_approval", "implement"]


def test_a_recorded_run_is_listed_in_full_with_json(world, monkeypatch, tmp_path: Path) -> None:
    run_id = "a-run-id-much-longer-than-the-id-column-" + "x" * 30
    result, _ = world(scenarios.succeeds_first_time(), run_id=run_id)
    listed = runs_list(monkeypatch, tmp_path / "data", None)
    assert listed.exit_code == 0, listed.output
    header, row = listed.stdout.splitlines()
    assert header.split()[:5] == HEADER[:5]
    spec, repo, status = row.split()[1:4]
    assert (spec, status) == ("specs/multiply", "succeeded") and str(world.repo).endswith(repo.lstrip("\u2026"))
    assert row.split()[-1] == f"${result.cost_usd:.4f}"
    [full] = json.loads(runs_list(monkeypatch, tmp_path / "data", None, "--json").stdout)
    assert full["run_id"] == run_id and full["outcome"] == "succeeded" and full["phase"] is None
