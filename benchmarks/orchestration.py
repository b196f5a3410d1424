"""How much time specmill itself adds to a run, and what one checkpointed step costs.

1. A whole run of the multiply scenario with an instant in-process model and an in-memory
   spec store: wall time minus model time minus test time = orchestration (DBOS checkpoints,
   git worktree commits, event stream writes, prompt building).
2. A workflow of N no-op steps through specmill's step helper (a short step: its checkpoint, and
   its end to this process's listeners; readers of the run's events take that end from the
   step's record) beside N bare `DBOS.run_step` calls, on the same database, and their ratio
   (the goal is at most 1.3). The two alternate, 3 rounds each, and the median is kept.

Run: .venv/bin/python benchmarks/orchestration.py [--steps 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import machine, median, postgres_database, table  # noqa: I001
from dbos import DBOS

from specmill import runtime
from specmill.adapters.git_worktree import GitWorktreeWorkspace
from specmill.adapters.pytest_runner import SubprocessTestRunner
from specmill.config import Settings
from specmill.container import Container
from specmill.durable import durable
from specmill.models import PatternBrief, RunRequest
from specmill.ports.model import ScriptedModel
from specmill.ports.repo_analysis import FixedRepoAnalyzer
from specmill.ports.spec_store import MemorySpecStore
from specmill.replay.scripts import Script
from tests import scenarios
from tests.fixtures.git_repos import CALC_FILES, init_repo


def _noop() -> int:
    return 1


@DBOS.workflow(name="bench.bare")
def bare_steps(n: int) -> int:
    return sum(DBOS.run_step({"name": "noop"}, _noop) for _ in range(n))


_durable_noop = durable("noop", _noop)


@DBOS.workflow(name="bench.specmill")
def specmill_steps(n: int) -> int:
    return sum(_durable_noop() for _ in range(n))


def _container(settings: Settings) -> Container:
    store = MemorySpecStore()
    store.write_note("specs", scenarios.SPEC_TITLE, "specs", scenarios.SPEC)
    brief = PatternBrief(markdown="calc: a flat package", tokens=6, budget=4000)
    model = ScriptedModel(Script.load(scenarios.succeeds_first_time()))
    return Container(
        settings,
        store,
        model,
        GitWorktreeWorkspace(settings.data_dir),
        SubprocessTestRunner(),
        FixedRepoAnalyzer(brief),
        note_index=store,
    )


def _durations(run_id: str) -> dict[str, float]:
    spent: dict[str, float] = {}
    for step in DBOS.list_workflow_steps(run_id, load_output=False):
        if step["started_at_epoch_ms"] and step["completed_at_epoch_ms"]:
            spent[step["function_name"]] = (
                spent.get(step["function_name"], 0.0)
                + (step["completed_at_epoch_ms"] - step["started_at_epoch_ms"]) / 1000
            )
    return spent


def measure(database_url: str | None, steps: int, runs: int) -> list[object]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data", system_database_url=database_url, project="specs", executor_id="bench"
        )
        container = _container(settings)
        runtime.launch(settings, container)
        try:
            orchestration, totals = [], []
            for i in range(runs):
                repo = init_repo(Path(tmp) / f"repo{i}", dict(CALC_FILES))
                container.model = ScriptedModel(Script.load(scenarios.succeeds_first_time()))
                started = time.perf_counter()
                runtime.start_run(RunRequest(spec="specs/multiply", repo=str(repo), project="specs"), f"bench-{i}")
                total = time.perf_counter() - started
                spent = _durations(f"bench-{i}")
                tests = spent.get("run_tests", 0.0) + _tool_test_time(f"bench-{i}")
                model = spent.get("implement.model_call", 0.0)
                orchestration.append(total - tests - model)
                totals.append(total)
            timings: dict[str, list[float]] = {"bare": [], "specmill": []}
            for fn in (bare_steps, specmill_steps):
                fn(5)  # warm up
            for _ in range(3):  # alternating, so a busy moment of the machine hits both
                for name, fn in (("bare", bare_steps), ("specmill", specmill_steps)):
                    started = time.perf_counter()
                    DBOS.start_workflow(fn, steps).get_result()
                    timings[name].append((time.perf_counter() - started) / steps * 1000)
            per_step = {name: median(values) for name, values in timings.items()}
        finally:
            runtime.shutdown()
    return [
        "PostgreSQL" if database_url else "SQLite",
        f"{median(totals):.2f}",
        f"{median(orchestration):.2f}",
        f"{per_step['specmill']:.2f}",
        f"{per_step['bare']:.2f}",
        f"{per_step['specmill'] / per_step['bare']:.2f}",
    ]


def _tool_test_time(run_id: str) -> float:
    """Test time inside the run_tests tool calls, from the recorded reports."""
    total = 0.0
    for step in DBOS.list_workflow_steps(run_id):
        out = step["output"]
        if step["function_name"] == "implement.tool" and getattr(out, "test_report", None) is not None:
            total += out.test_report.duration_s
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = [measure(None, args.steps, args.runs)]
    with postgres_database() as url:
        rows.append(measure(url, args.steps, args.runs))
    print(
        f"orchestration overhead, median of {args.runs} runs (5 model calls, 4 tool steps, 2 test runs); "
        f"{args.steps} steps per checkpoint figure"
    )
    print(f"machine: {machine()}; load average {Path('/proc/loadavg').read_text().split()[0]}")
    headers = ["database", "run wall s", "orchestration s", "specmill step ms", "bare DBOS step ms", "ratio"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
