"""`specmill gc`: a dry run first, then the worktrees of finished runs go; running or unknown runs keep theirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests import scenarios
from tests.fixtures.git_repos import git


def gc(data_dir: Path, *args: str) -> dict:
    env = {**os.environ, "SPECMILL_DATA_DIR": str(data_dir)}
    env.pop("DBOS_SYSTEM_DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "specmill", "gc", "--json", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_gc_lists_first_then_removes_finished_worktrees(world):
    result, _ = world(scenarios.succeeds_first_time())
    assert result.status == "succeeded"
    data_dir = world.tmp_path / "data"
    finished = data_dir / "worktrees" / "wf-run-1"
    stranger = data_dir / "worktrees" / "not-a-run"
    stranger.mkdir()
    (stranger / "keep.txt").write_text("not specmill's to remove\n")
    assert finished.is_dir()

    preview = gc(data_dir)
    assert preview["dry_run"] is True
    [would] = preview["removed"]
    assert would["run_id"] == "wf-run-1" and would["status"] == "SUCCESS" and would["bytes"] > 0
    assert would["branch"] == result.branch and Path(would["repo"]) == world.repo.resolve()
    assert [k["run_id"] for k in preview["kept"]] == ["not-a-run"]
    assert finished.is_dir(), "a dry run removes nothing"

    done = gc(data_dir, "--apply", "--branches")
    assert done["dry_run"] is False and done["freed_bytes"] == would["bytes"]
    assert not finished.exists() and (stranger / "keep.txt").exists()
    assert done["branches_deleted"] == [result.branch]
    assert result.branch not in git(world.repo, "branch", "--list")
    assert str(finished) not in git(world.repo, "worktree", "list")
    assert gc(data_dir)["removed"] == []


def test_gc_keeps_recent_worktrees_when_asked(world):
    world(scenarios.succeeds_first_time())
    preview = gc(world.tmp_path / "data", "--older-than-h", "24")
    assert preview["removed"] == [] and [k["run_id"] for k in preview["kept"]] == ["wf-run-1"]
