"""DBOS's own CLI sees specmill's runs: `specmill dbos workflow list / steps` on the embedded default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests import scenarios


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


def test_without_specmill_the_dbos_cli_would_see_an_empty_database(world, tmp_path: Path) -> None:
    """The trap the wrapper avoids: an unset DBOS_SYSTEM_DATABASE_URL means a new empty SQLite file."""
    world(scenarios.succeeds_first_time(), run_id="hidden")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "dbos-config.yaml").write_text("name: specmill\nlanguage: python\n")
    env = {k: v for k, v in os.environ.items() if k != "DBOS_SYSTEM_DATABASE_URL"}
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("dbos")), "workflow", "list"],
        cwd=tmp_path / "elsewhere",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "hidden" not in proc.stdout
