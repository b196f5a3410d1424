"""Scale-out of `specmill worker` processes on PostgreSQL, with runs that wait on a slow model.

The loopback Messages API server answers each call after `--model-delay` seconds (2 by default,
about what a short real call takes), so a run (5 implement calls and a verdict) spends most of
its time waiting on I/O, as real runs do. Each worker executes `--concurrency` runs at once
(2 by default), and the queue keeps one run per repository in flight, over `--repos` repositories
(enough that the limit never holds a free slot back). 1, 2 and 4 workers take the same `--runs`
runs; the clock runs from the first enqueue to the last run's success, once every worker is up.

Orchestration CPU per run is the CPU time of the worker processes (their own, then with the
tests and git commands they ran) divided by the runs; Basic Memory's CPU is shown on its own.

Run: .venv/bin/python benchmarks/scale_out.py [--runs 16] [--workers 1,2,4] [--concurrency 2] [--model-delay 2]
"""

from __future__ import annotations

import argparse
import compileall
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, cpu_seconds, git_repo, machine, postgres_database, table  # noqa: I001
from dbos import DBOSClient
from recovery_and_throughput import PLAYBOOK, PROJECT, all_done, basic_memory, enqueue, stop, wait_for, worker

from specmill.adapters.basic_memory import BasicMemoryClient, BasicMemorySpecStore, McpTransport
from specmill.replay.server import MessagesServer
from tests import scenarios
from tests.fixtures.git_repos import CALC_FILES


def slow_script(delay_s: float) -> dict:
    script = scenarios.succeeds_first_time()
    for conversation in script["conversations"]:
        for turn in conversation["turns"]:
            turn["delay_s"] = delay_s
    return script


def scale(root: Path, env: dict[str, str], specs: list[str], repos: list[Path], args: argparse.Namespace, n: int):  # type: ignore[no-untyped-def]
    with postgres_database() as url:
        env = {
            **env,
            "DBOS_SYSTEM_DATABASE_URL": url,
            "SPECMILL_QUEUE_CONCURRENCY": str(args.concurrency),
            "SPECMILL_WORKER_GRACE_S": "0",
        }
        logs = [root / f"s{n}-{i}.log" for i in range(n)]
        procs = [worker({**env, "SPECMILL_DATA_DIR": str(root / f"s{n}-{i}")}, f"scale-{i}", logs[i]) for i in range(n)]
        for log in logs:
            wait_for(lambda: "working queue" in log.read_text(errors="replace"), 120, "a worker")
        idle = [cpu_seconds(p.pid) for p in procs]
        client = DBOSClient(system_database_url=url)
        try:
            ids = [f"s{n}-{i}" for i in range(args.runs)]
            started = time.monotonic()
            for i, run_id in enumerate(ids):
                enqueue(client, run_id, specs[i % len(specs)], repos[i % len(repos)], root / "bench.md")
            wait_for(lambda: all_done(client, ids), 3600, f"{args.runs} runs")
            wall = time.monotonic() - started
            used = [cpu_seconds(p.pid) for p in procs]
            own = sum(u[0] - i[0] for u, i in zip(used, idle)) / args.runs
            total = sum(u[1] - i[1] for u, i in zip(used, idle)) / args.runs
            return wall, own, total
        finally:
            client.destroy()
            for proc in procs:
                stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=2, help="runs one worker executes at once")
    parser.add_argument("--repos", type=int, default=16)
    parser.add_argument("--model-delay", type=float, default=2.0, help="seconds before each model answer")
    parser.add_argument("--queue-poll", type=float, default=1.0, help="the run queue's polling interval, s")
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "src" / "specmill", quiet=1)  # as installed: workers do not compile at start
    root = Path(tempfile.mkdtemp(prefix="specmill-scale-"))
    server = MessagesServer(slow_script(args.model_delay))
    server.start()
    bm, url, bm_env = basic_memory(root)
    try:
        store = BasicMemorySpecStore(BasicMemoryClient(McpTransport(url=url)))
        specs = [
            store.write_note(PROJECT, f"Multiply {n}", "specs", scenarios.spec_note(f"Multiply {n}")).permalink
            for n in range(args.repos)
        ]
        store.close()
        repos = [git_repo(root / "repos" / f"r{n}", CALC_FILES) for n in range(args.repos)]
        (root / "bench.md").write_text(PLAYBOOK)
        env = {
            **os.environ,
            **bm_env,
            "SPECMILL_PROJECT": PROJECT,
            "ANTHROPIC_BASE_URL": server.base_url,
            "ANTHROPIC_API_KEY": "bench",
            "SPECMILL_QUEUE_POLLING_INTERVAL_S": str(args.queue_poll),
            "SPECMILL_DBOS_LOG_LEVEL": "ERROR",
        }
        env.pop("DBOS_SYSTEM_DATABASE_URL", None)
        rows, base = [], None
        for count in (int(w) for w in args.workers.split(",")):
            bm_before = cpu_seconds(bm.pid)[0]
            wall, own, total = scale(root, env, specs, repos, args, count)
            rate = args.runs / wall
            base = base or rate
            bm_cpu = (cpu_seconds(bm.pid)[0] - bm_before) / args.runs
            rows.append(
                [count, args.runs, f"{wall:.1f}", f"{rate:.3f}", f"{rate / base:.2f}x", f"{own:.2f}", f"{total:.2f}"]
                + [f"{bm_cpu:.2f}"]
            )
            print(f"{count} worker(s): {args.runs} runs in {wall:.1f} s", file=sys.stderr)
        print(
            f"{machine()} - PostgreSQL 15; load average before: {LOAD_BEFORE}, after: {load()}\n"
            f"{args.runs} runs over {args.repos} repositories (one run per repository at once), "
            f"{args.concurrency} runs per worker at once, model answers after {args.model_delay:g} s "
            f"(6 calls per run), queue polled every {args.queue_poll:g} s"
        )
        headers = ["workers", "runs", "wall s", "runs/s", "vs 1 worker", "worker CPU s/run"]
        headers += ["with tests+git CPU s/run", "Basic Memory CPU s/run"]
        print(table(headers, rows))
    finally:
        server.stop()
        stop(bm)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


LOAD_BEFORE = load()

if __name__ == "__main__":
    main()
