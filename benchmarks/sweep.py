"""How long a sweep takes over 500 spec notes of which 50 are ready, per database.

A Basic Memory of its own gets 500 spec notes as files before `basic-memory project add`
(50 ready with a repository; the rest draft, implemented, in progress, without a status, or
in a spec folder without a type, some keys capitalised). Then, on each database, three
sweeps in this process with the queue left un-worked:
1. the first sweep: discovery, 50 reads, 50 enqueues under their version ids, the report note;
2. the next sweep: the same discovery and reads, nothing new to enqueue, the previous report's
   final status;
3. a dry run: discovery and the run lookup only, without DBOS launched.
The Basic Memory session is started before the clock runs (its ~5 s start is paid once per process).

Run: .venv/bin/python benchmarks/sweep.py [--notes 500] [--ready 50] [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

from _common import ROOT, git_repo, machine, postgres_database, table  # noqa: I001
from dbos import DBOS

from specmill import runtime
from specmill.adapters.basic_memory import (
    BasicMemoryClient,
    BasicMemoryNoteIndex,
    BasicMemorySpecStore,
    McpTransport,
    basic_memory_env,
)
from specmill.adapters.git_worktree import GitWorktreeWorkspace
from specmill.adapters.pytest_runner import SubprocessTestRunner
from specmill.config import Settings
from specmill.container import Container
from specmill.models import PatternBrief
from specmill.ports.model import ScriptedModel
from specmill.ports.repo_analysis import FixedRepoAnalyzer
from specmill.replay.scripts import Script
from specmill.sweep import workflow as sweeps
from specmill.sweep.models import SweepRequest
from tests import scenarios
from tests.fixtures.git_repos import CALC_FILES

PROJECT = "bench-specs"
NOT_READY = [
    "status: draft",
    "status: implemented",
    "status: in-progress",
    "Status: Draft",
    "",
    "status: needs-attention",
]


def basic_memory_executable() -> str:
    configured = os.environ.get("SPECMILL_TEST_BASIC_MEMORY")
    path = Path(configured) if configured else ROOT / ".venv-basic-memory" / "bin" / "basic-memory"
    if not path.is_file():
        sys.exit(f"basic-memory not found at {path}: run scripts/bootstrap, or set SPECMILL_TEST_BASIC_MEMORY")
    return str(path)


def write_notes(folder: Path, notes: int, ready: int) -> None:
    for n in range(notes):
        in_backlog = n % 10 == 9  # a spec by folder, without `type: spec`
        status = ("status: ready" if n % 2 else "Status: Ready") if n < ready else NOT_READY[n % len(NOT_READY)]
        front = "\n".join(
            line for line in ("" if in_backlog else "type: spec", status, "repo: calc", f"title: Spec {n:03d}") if line
        )
        body = f"# Spec {n:03d}\n\n## What\nFeature number {n}.\n\n## How to Evaluate\n- [ ] feature {n} works\n"
        target = folder / ("backlog" if in_backlog else "specs") / f"spec-{n:03d}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"---\n{front}\n---\n\n{body}")


def measure(database: str | None, root: Path, client: BasicMemoryClient, repo: Path, ready: int) -> list[object]:
    data = root / f"data-{uuid.uuid4().hex[:6]}"
    settings = Settings(
        data_dir=data,
        system_database_url=database,
        project=PROJECT,
        executor_id="bench-sweep",
        sweep_folders="backlog",
        sweep_repos=f"calc={repo}",
    )
    brief = PatternBrief(markdown="", tokens=0, budget=4000)
    model = ScriptedModel(Script.load(scenarios.succeeds_first_time()))
    container = Container(
        settings,
        BasicMemorySpecStore(client),
        model,
        GitWorktreeWorkspace(data),
        SubprocessTestRunner(),
        FixedRepoAnalyzer(brief),
        note_index=BasicMemoryNoteIndex(client),
    )
    runtime.launch(settings, container, queues=[])
    try:
        runtime.register_run_queue(settings)
        timings = []
        for name in ("first", "next"):
            started = time.perf_counter()
            result = sweeps.run_sweep(SweepRequest(project=PROJECT), f"bench-{name}-{uuid.uuid4().hex[:6]}")
            timings.append((time.perf_counter() - started, result))
        steps = {
            s["function_name"]: (s["completed_at_epoch_ms"] - s["started_at_epoch_ms"]) / 1000
            for s in DBOS.list_workflow_steps(timings[0][1].sweep_id, load_output=False)
            if s["started_at_epoch_ms"] and s["completed_at_epoch_ms"]
        }
    finally:
        runtime.shutdown()
    started = time.perf_counter()
    dry = sweeps.dry_run(settings, container, SweepRequest(project=PROJECT))
    dry_s = time.perf_counter() - started
    (first_s, first), (next_s, later) = timings
    assert len(first.enqueued) == ready and not later.enqueued and len(dry.enqueued) == 0, (
        len(first.enqueued),
        len(later.enqueued),
    )
    return [
        "PostgreSQL" if database else "SQLite",
        first.spec_notes,
        len(first.enqueued),
        f"{first_s:.2f}",
        f"{steps.get('sweep.discover', 0):.2f}",
        f"{next_s:.2f}",
        f"{dry_s:.2f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=500)
    parser.add_argument("--ready", type=int, default=50)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = git_repo(root / "calc", dict(CALC_FILES))
        env = basic_memory_env(os.environ)
        env.update(
            HOME=str(root / "home"),
            BASIC_MEMORY_CONFIG_DIR=str(root / "bm-config"),
            BASIC_MEMORY_HOME=str(root / "bm-home"),
        )
        write_notes(root / "notes", args.notes, args.ready)
        started = time.perf_counter()
        subprocess.run(
            [basic_memory_executable(), "project", "add", PROJECT, str(root / "notes")],
            env=env,
            check=True,
            capture_output=True,
            timeout=900,
        )
        indexed_s = time.perf_counter() - started
        command = shlex.join([basic_memory_executable(), "mcp"])
        client = BasicMemoryClient(McpTransport(command=command, env=env, start_timeout_s=120))
        started = time.perf_counter()
        client.list_tools()
        session_s = time.perf_counter() - started
        rows = []
        try:
            for name in args.databases.split(","):
                with postgres_database() if name.strip() == "postgres" else nullcontext(None) as url:
                    rows.append(measure(url, root, client, repo, args.ready))
        finally:
            client.close()
    print(f"sweep over {args.notes} spec notes, {args.ready} ready; Basic Memory 0.24.1 over MCP (stdio)")
    print(f"machine: {machine()}")
    print(f"setup, not in the figures: project add (indexing) {indexed_s:.1f} s, MCP session start {session_s:.1f} s")
    print(
        table(
            [
                "database",
                "spec notes",
                "enqueued",
                "first sweep s",
                "of which discovery s",
                "next sweep s",
                "dry run s",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
