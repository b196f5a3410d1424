"""How fast the console serves its two busiest pages: the runs list with 1,000 runs in the database
(goal: 200 ms) and the page of a run with 500 recorded steps (goal: 300 ms).

The app runs in this process (FastAPI's test client, lifespan and all: DBOS launched on SQLite or
PostgreSQL), with the scripted model and an in-memory spec store; git and pytest are real. First a
run of 500+ steps executes (the model views one file 240 times in one round); then, with the queue
left unworked, 1,000 runs are started over HTTP and half of them cancelled, so the list mixes queued
and cancelled runs, each of which the list reads from DBOS. Each page is fetched `--requests` times
after one warm-up (the first page fills the title cache); medians and 95th percentiles are printed.

Run: .venv/bin/python benchmarks/console_pages.py [--runs 1000] [--requests 30] [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from _common import ROOT, git_repo, machine, median, percentile, postgres_database, table  # noqa: I001
from fastapi.testclient import TestClient

from specmill.adapters.git_worktree import GitWorktreeWorkspace
from specmill.adapters.pytest_runner import SubprocessTestRunner
from specmill.api.app import create_app
from specmill.config import Settings
from specmill.container import Container
from specmill.models import PatternBrief
from specmill.ports.model import ScriptedModel
from specmill.ports.repo_analysis import FixedRepoAnalyzer
from specmill.ports.spec_store import MemorySpecStore
from specmill.replay.scripts import Script
from tests import scenarios
from tests.fixtures.git_repos import CALC_FILES

VIEWS = 240  # model calls that each make one tool call: 480 steps, plus the rest of the run
PLAYBOOK = (ROOT / "workflows" / "python-developer.md").read_text().replace("max_turns: 40", "max_turns: 400")


def long_script() -> dict[str, object]:
    def view(line: int) -> dict[str, object]:  # each call differs: the workflow stops a round that repeats one
        call = {"command": "view", "path": "/calc/__init__.py", "view_range": [1, line]}
        return {"content": [{"type": "tool_use", "name": scenarios.EDITOR, "input": call}]}

    turns = [view(n) for n in range(1, VIEWS + 1)] + scenarios.implement_turns(scenarios.GOOD)
    return {
        "conversations": [
            scenarios.conversation("implement-1", 1, turns),
            scenarios.conversation("verdict-1", 1, [scenarios.verdict(True, True)], forced="record_verdict"),
        ]
    }


def app(root: Path, database: str | None, works_queue: bool) -> TestClient:
    settings = Settings(
        data_dir=root / "data",
        system_database_url=database,
        project="specs",
        playbooks_dir=root / "playbooks",
        queue_polling_interval_s=0.1,
        serve_works_queue=works_queue,
    )
    store = MemorySpecStore()
    store.write_note("specs", scenarios.SPEC_TITLE, "specs", scenarios.SPEC)
    container = Container(
        settings,
        store,
        ScriptedModel(Script.load(long_script())),
        GitWorktreeWorkspace(settings.data_dir),
        SubprocessTestRunner(),
        FixedRepoAnalyzer(PatternBrief(markdown="calc: one package", tokens=4, budget=4000)),
        note_index=store,
    )
    return TestClient(create_app(container=container))


def timed(client: TestClient, path: str, requests: int) -> tuple[float, float, int]:
    first = client.get(path)
    assert first.status_code == 200, first.text[:500]
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return median(samples), percentile(samples, 95), len(first.content)


def measure(database: str | None, runs: int, requests: int) -> list[list[object]]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "playbooks").mkdir()
        (root / "playbooks" / "bench.md").write_text(PLAYBOOK.replace("name: python-developer", "name: bench"))
        long_repo, list_repo = git_repo(root / "long", CALC_FILES), git_repo(root / "list", CALC_FILES)

        with app(root, database, works_queue=True) as client:
            body = {"spec": "specs/multiply", "repo": str(long_repo), "playbook": "bench", "max_iterations": 1}
            long_id = client.post("/runs", json=body).json()["run_id"]
            while (status := client.get(f"/runs/{long_id}").json()["status"]) in ("queued", "running"):
                time.sleep(0.5)
            steps = len(client.get(f"/runs/{long_id}").json()["timeline"])
            print(f"  the long run {status} with {steps} steps", flush=True)

        with app(root, database, works_queue=False) as client:
            started = time.perf_counter()
            for n in range(runs - 1):
                run_id = client.post("/runs", json={"spec": "specs/multiply", "repo": str(list_repo)}).json()["run_id"]
                if n % 2:
                    client.post(f"/runs/{run_id}/cancel")
            print(f"  {runs} runs in the database ({time.perf_counter() - started:.0f} s to start them)", flush=True)
            list_median, list_p95, list_size = timed(client, "/", requests)
            run_median, run_p95, run_size = timed(client, f"/console/runs/{long_id}", requests)
    name = "PostgreSQL" if database else "SQLite"
    return [
        [
            name,
            f"runs list ({runs} runs, 50 shown)",
            f"{list_median:.0f}",
            f"{list_p95:.0f}",
            200,
            f"{list_size // 1024}",
        ],
        [name, f"run page ({steps} steps)", f"{run_median:.0f}", f"{run_p95:.0f}", 300, f"{run_size // 1024}"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    print(machine())
    rows: list[list[object]] = []
    for database in args.databases.split(","):
        print(f"{database}:", flush=True)
        with postgres_database() if database == "postgres" else nullcontext(None) as url:
            rows += measure(url, args.runs, args.requests)
    print(table(["database", "page", "median ms", "p95 ms", "goal ms", "KiB"], rows))


if __name__ == "__main__":
    main()
