"""Recovery time and queue throughput of `specmill worker` processes on PostgreSQL.

Recovery: a worker is SIGKILLed while a run's tool step has done its work but is not yet
checkpointed (the test-only hook in tests/pause_hook), and a new worker starts under the
same executor id; the figure is from that process's start to the start of the first new step
of the recovered run (DBOS's recorded step start), and to that step's checkpoint.

Throughput: 100 runs queued over 20 repositories (the queue lets one run per repository in
flight), an instant scripted model (the loopback Messages API server, 5 implement calls and a
verdict per run), a trivial test command, with 1, 2 and 4 workers of 4 runs each; the clock
runs from the first enqueue to the last run's success.

Bytecode for specmill is compiled first, as an installed package has it: a process started with
PYTHONDONTWRITEBYTECODE would otherwise compile every module again at each start.

Run: .venv/bin/python benchmarks/recovery_and_throughput.py [--runs 100] [--workers 1,2,4] [--recoveries 3]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, cpu_seconds, git_repo, machine, median, postgres_database, table  # noqa: I001
from dbos import DBOSClient, EnqueueOptions

from specmill import __version__
from specmill.adapters.basic_memory import BasicMemoryClient, BasicMemorySpecStore, McpTransport, basic_memory_env
from specmill.models import RunRequest
from specmill.replay.server import MessagesServer
from tests import scenarios
from tests.fixtures.cli import pause_at
from tests.fixtures.git_repos import CALC_FILES

PLAYBOOK = "---\nname: bench\nmodel: claude-sonnet-5\ntest_command: python -c pass\n---\nWrite code.\n"
PROJECT = "bench"


def basic_memory(root: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    """An isolated Basic Memory with a `bench` project, over streamable HTTP on a free port."""
    exe = os.environ.get("SPECMILL_TEST_BASIC_MEMORY") or str(ROOT / ".venv-basic-memory" / "bin" / "basic-memory")
    env = basic_memory_env(os.environ)
    env.update(
        HOME=str(root / "home"),
        BASIC_MEMORY_CONFIG_DIR=str(root / "bm-config"),
        BASIC_MEMORY_HOME=str(root / "bm-home"),
    )
    (root / "notes").mkdir(parents=True)
    subprocess.run(
        [exe, "project", "add", PROJECT, str(root / "notes"), "--no-wait"], env=env, check=True, capture_output=True
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [exe, "mcp", "--transport", "streamable-http", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(lambda: _listening(port), 90, "Basic Memory")
    return (
        proc,
        f"http://127.0.0.1:{port}/mcp",
        {
            **env,
            "SPECMILL_BASIC_MEMORY_URL": f"http://127.0.0.1:{port}/mcp",
            "SPECMILL_BASIC_MEMORY_COMMAND": shlex.join([exe, "mcp"]),
        },
    )


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def wait_for(ready, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)


def worker(env: dict[str, str], executor: str, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    with open(log, "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "specmill", "worker"],
            env={**env, "SPECMILL_EXECUTOR_ID": executor, **extra},
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    return proc


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(timeout=60)


def enqueue(client: DBOSClient, run_id: str, spec: str, repo: Path, playbook: Path) -> None:
    options: EnqueueOptions = {
        "queue_name": "implementations",
        "workflow_name": "specmill.run",
        "workflow_id": run_id,
        "queue_partition_key": str(repo),
        "app_version": __version__,
    }
    client.enqueue(options, RunRequest(spec=spec, repo=str(repo), project=PROJECT, playbook=str(playbook)))


def all_done(client: DBOSClient, ids: list[str]) -> bool:
    found = client.list_workflows(workflow_ids=ids, load_input=False, load_output=False)
    failed = [w.workflow_id for w in found if w.status not in ("SUCCESS", "PENDING", "ENQUEUED")]
    if failed:
        raise RuntimeError(f"runs ended badly: {failed[:5]}")
    return len(found) == len(ids) and all(w.status == "SUCCESS" for w in found)


def throughput(
    root: Path, base_env: dict[str, str], specs: list[str], repos: list[Path], playbook: Path, runs: int, workers: int
) -> float:
    with postgres_database() as url:
        env = {
            **base_env,
            "DBOS_SYSTEM_DATABASE_URL": url,
            "SPECMILL_QUEUE_CONCURRENCY": "4",
            "SPECMILL_WORKER_GRACE_S": "0",
        }
        procs = [
            worker(
                {**env, "SPECMILL_DATA_DIR": str(root / f"w{workers}-{n}")}, f"bench-{n}", root / f"w{workers}-{n}.log"
            )
            for n in range(workers)
        ]
        for n in range(workers):
            wait_for(
                lambda: "working queue" in (root / f"w{workers}-{n}.log").read_text(errors="replace"), 120, "a worker"
            )
        client = DBOSClient(system_database_url=url)
        try:
            ids = [f"t{workers}-{i}" for i in range(runs)]
            started = time.monotonic()
            for i, run_id in enumerate(ids):
                enqueue(client, run_id, specs[i % len(specs)], repos[i % len(repos)], playbook)
            wait_for(lambda: all_done(client, ids), 1800, f"{runs} runs")
            return time.monotonic() - started
        finally:
            client.destroy()
            for proc in procs:
                stop(proc)


def recovery(
    root: Path, base_env: dict[str, str], spec: str, repo: Path, playbook: Path, attempt: int
) -> tuple[float, float, float]:
    with postgres_database() as url:
        env = {**base_env, "DBOS_SYSTEM_DATABASE_URL": url, "SPECMILL_DATA_DIR": str(root / f"rec-{attempt}")}
        paused = worker(env, "rec", root / f"rec-{attempt}.log", **pause_at("implement.tool#2", env))
        wait_for(lambda: "working queue" in (root / f"rec-{attempt}.log").read_text(errors="replace"), 120, "a worker")
        client = DBOSClient(system_database_url=url)
        try:
            enqueue(client, f"rec-{attempt}", spec, repo, playbook)
            wait_for(lambda: (root / f"rec-{attempt}" / "paused-at").exists(), 120, "the pause")
            stop(paused, signal.SIGKILL)
            before = {s["function_id"] for s in client.list_workflow_steps(f"rec-{attempt}", load_output=False)}
            start_ms = time.time() * 1000
            again = worker(env, "rec", root / f"rec-{attempt}.log")
            new: list[dict] = []

            def new_step() -> bool:
                new[:] = [
                    s
                    for s in client.list_workflow_steps(f"rec-{attempt}", load_output=False)
                    if s["function_id"] not in before
                ]
                return bool(new)

            wait_for(new_step, 120, "the recovered run's next step")
            cpu = cpu_seconds(again.pid)[0]
            first = min(new, key=lambda s: s["function_id"])
            wait_for(lambda: all_done(client, [f"rec-{attempt}"]), 120, "the recovered run")
            stop(again)
            started, done = first["started_at_epoch_ms"], first["completed_at_epoch_ms"]
            return (started - start_ms) / 1000, (done - start_ms) / 1000, cpu
        finally:
            client.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--recoveries", type=int, default=3)
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "src" / "specmill", quiet=1)
    root = Path(tempfile.mkdtemp(prefix="specmill-bench-"))
    server = MessagesServer(scenarios.succeeds_first_time())
    server.start()
    bm, url, bm_env = basic_memory(root)
    try:
        store = BasicMemorySpecStore(BasicMemoryClient(McpTransport(url=url)))
        specs = [
            store.write_note(PROJECT, f"Multiply {n}", "specs", scenarios.spec_note(f"Multiply {n}")).permalink
            for n in range(20)
        ]
        store.close()
        repos = [git_repo(root / "repos" / f"r{n}", CALC_FILES) for n in range(20)]
        playbook = root / "bench.md"
        playbook.write_text(PLAYBOOK)
        env = {
            **os.environ,
            **bm_env,
            "SPECMILL_PROJECT": PROJECT,
            "ANTHROPIC_BASE_URL": server.base_url,
            "ANTHROPIC_API_KEY": "bench",
            "SPECMILL_QUEUE_POLLING_INTERVAL_S": "0.2",
            "SPECMILL_DBOS_LOG_LEVEL": "ERROR",
        }
        env.pop("DBOS_SYSTEM_DATABASE_URL", None)
        print(machine(), "- PostgreSQL 15; load average", Path("/proc/loadavg").read_text().split()[0])
        times = [recovery(root, env, specs[0], repos[0], playbook, n) for n in range(args.recoveries)]
        print(
            table(
                ["recovery", "to first new step started s", "to its checkpoint s", "worker CPU s by then"],
                [
                    ["median", *(f"{median([t[i] for t in times]):.2f}" for i in range(3))],
                    ["worst", *(f"{max(t[i] for t in times):.2f}" for i in range(3))],
                ],
            )
        )
        rows = []
        for count in (int(w) for w in args.workers.split(",")):
            wall = throughput(root, env, specs, repos, playbook, args.runs, count)
            rows.append([count, args.runs, f"{wall:.1f}", f"{args.runs / wall:.2f}"])
            print(f"{count} worker(s): {args.runs} runs in {wall:.1f} s", file=sys.stderr)
        print(table(["workers", "runs", "wall s", "runs/s"], rows))
    finally:
        server.stop()
        stop(bm)


if __name__ == "__main__":
    main()
