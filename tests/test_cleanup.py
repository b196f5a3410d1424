"""`specmill gc`: a dry run first, then the worktrees of finished runs go; running or unknown runs keep theirs.
The same rule applies by itself in `serve` and workers once a worktree is past SPECMILL_WORKTREE_RETENTION_H."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from specmill.retention import WorktreeRetention
from tests import scenarios
from tests.fixtures.git_repos import git
from tests.fixtures.runtime import make_settings
from tests.test_workers import poll, start_worker


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


def _aged(path: Path, hours: float) -> None:
    when = time.time() - hours * 3600
    for target in (path, path / ".git"):
        if target.exists():
            os.utime(target, (when, when))


def test_retention_removes_only_ended_runs_past_it_and_logs_what_it_freed(tmp_path: Path, caplog) -> None:
    root = tmp_path / "worktrees"
    statuses = {"old-done": "SUCCESS", "old-failed": "ERROR", "new-done": "SUCCESS", "old-waiting": "PENDING"}
    for run_id in [*statuses, "old-unknown"]:
        (root / run_id).mkdir(parents=True)
        (root / run_id / "file.py").write_text("x = 1\n" * 100)
        _aged(root / run_id, 0.5 if run_id == "new-done" else 3)
    settings = make_settings(tmp_path, worktree_retention_h=2, worktree_gc_interval_s=0.05)
    retention = WorktreeRetention(settings, lambda ids: {i: statuses[i] for i in ids if i in statuses})

    caplog.set_level(logging.INFO, logger="specmill.retention")
    retention.start()
    try:
        deadline = time.monotonic() + 30
        while (root / "old-done").exists() or (root / "old-failed").exists():
            assert time.monotonic() < deadline, "the retention never removed the old worktrees"
            time.sleep(0.05)
    finally:
        retention.stop()
    assert sorted(p.name for p in root.iterdir()) == ["new-done", "old-unknown", "old-waiting"]
    assert "run old-done: removed its worktree" in caplog.text and "freed 1.2 KiB in 2 worktree(s)" in caplog.text


def test_a_retention_of_zero_keeps_everything(tmp_path: Path) -> None:
    (tmp_path / "worktrees" / "old-done").mkdir(parents=True)
    _aged(tmp_path / "worktrees" / "old-done", 1000)
    retention = WorktreeRetention(
        make_settings(tmp_path, worktree_retention_h=0), lambda ids: dict.fromkeys(ids, "SUCCESS")
    )
    assert not retention.start().enabled
    retention.stop()
    assert (tmp_path / "worktrees" / "old-done").is_dir()


def test_retention_reads_run_statuses_from_dbos_and_removes_a_finished_runs_worktree(world) -> None:
    result, _ = world(scenarios.succeeds_first_time())
    data_dir = world.tmp_path / "data"
    finished = data_dir / "worktrees" / "wf-run-1"
    _aged(finished, 5)
    outcome = WorktreeRetention(make_settings(data_dir, worktree_retention_h=4)).collect_once()
    assert [r.run_id for r in outcome.removed] == ["wf-run-1"] and not finished.exists()
    assert str(finished) not in git(world.repo, "worktree", "list")
    assert result.branch in git(world.repo, "branch", "--list")  # its commits stay


def test_a_worker_applies_the_retention_and_logs_what_it_freed(world, tmp_path: Path) -> None:
    world(scenarios.succeeds_first_time())
    data_dir = world.tmp_path / "data"
    finished = data_dir / "worktrees" / "wf-run-1"
    _aged(finished, 5)
    env = {k: v for k, v in os.environ.items() if k != "DBOS_SYSTEM_DATABASE_URL"}
    env.update(
        SPECMILL_DATA_DIR=str(data_dir),
        SPECMILL_EXECUTOR_ID=f"retention-{os.getpid()}",
        SPECMILL_WORKTREE_RETENTION_H="4",
        SPECMILL_WORKTREE_GC_INTERVAL_S="0.2",
        SPECMILL_SWEEP_CRON="",
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / "worker.stderr"
    worker = start_worker(env, log)
    try:
        poll(lambda: not finished.exists() and "freed" in log.read_text(), "the worker's retention pass", alive=worker)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    assert "run wf-run-1: removed its worktree" in log.read_text()
