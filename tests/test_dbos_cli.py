"""DBOS's own CLI sees specmill's runs: `specmill dbos workflow list / steps` on the embedded default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests import scenarios

REPO_ROOT = Path(__file__).resolve().parents[1]


def dbos_cli(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPECMILL_DATA_DIR": str(data_dir)}
    env.pop("DBOS_SYSTEM_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "specmill", "dbos", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_dbos_cli_lists_a_run_and_its_steps(world) -> None:
    result, _ = world(scenarios.succeeds_first_time(), run_id="seen-by-dbos")
    data_dir = world.tmp_path / "data"
    listed = dbos_cli(["workflow", "list"], data_dir)
    assert listed.returncode == 0, listed.stderr
    runs = {w["workflow_id"]: w for w in json.loads(listed.stdout)}
    assert runs["seen-by-dbos"]["status"] == "SUCCESS" and runs["seen-by-dbos"]["name"] == "specmill.run"

    steps = dbos_cli(["workflow", "steps", "seen-by-dbos"], data_dir)
    assert steps.returncode == 0, steps.stderr
    names = [s["function_name"] for s in json.loads(steps.stdout)]
    assert names[:2] == ["load_playbook", "read_spec"] and "implement.model_call" in names


def plain_dbos(args: list[str], cwd: Path, database: str | None) -> subprocess.CompletedProcess[str]:
    """The `dbos` CLI installed next to specmill, run by hand in `cwd`."""
    env = {k: v for k, v in os.environ.items() if k != "DBOS_SYSTEM_DATABASE_URL"}
    if database:
        env["DBOS_SYSTEM_DATABASE_URL"] = database
    return subprocess.run(
        [str(Path(sys.executable).with_name("dbos")), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_plain_dbos_cli_sees_the_runs_only_with_the_variable_set(world, tmp_path: Path) -> None:
    """What the README says of the repository's dbos-config.yaml: unset, the variable leaves the CLI on a
    new, empty `specmill.sqlite` in the working directory, where it fails; set, it lists specmill's runs."""
    world(scenarios.succeeds_first_time(), run_id="hidden")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "dbos-config.yaml").write_text((REPO_ROOT / "dbos-config.yaml").read_text())

    unset = plain_dbos(["workflow", "list"], checkout, None)
    assert unset.returncode != 0 and "hidden" not in unset.stdout
    assert "no such table" in unset.stderr and (checkout / "specmill.sqlite").stat().st_size == 0

    database = f"sqlite:///{(tmp_path / 'data' / 'specmill.sqlite').resolve()}"
    listed = plain_dbos(["workflow", "list"], checkout, database)
    assert listed.returncode == 0, listed.stderr
    assert [w["workflow_id"] for w in json.loads(listed.stdout)] == ["hidden"]


def test_before_any_run_the_wrapper_says_so_and_creates_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    listed = dbos_cli(["workflow", "list"], data_dir)
    assert listed.returncode == 3 and "no runs yet" in listed.stderr and "Traceback" not in listed.stderr
    assert not data_dir.exists()
