"""Latency of `POST /runs` under load: 500 starts from 50 concurrent clients, per database.

Each database gets a real `specmill serve` (uvicorn, DBOS launched in its lifespan) with a
Basic Memory of its own holding the example spec, and the fast loopback replay of the
recorded example session as the model; so while the starts are measured, the queue's
workers really execute runs against the same database. A start is the cheap checks, a row
in the run index and a DBOS enqueue; the clock stops when the 202 arrives.

Run: .venv/bin/python benchmarks/api_start_latency.py [--starts 500] [--clients 50] [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, nullcontext
from pathlib import Path

import httpx
from _common import ROOT, machine, percentile, postgres_database, table  # noqa: I001

from specmill import example
from specmill.replay.server import MessagesServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def basic_memory_executable() -> str:
    configured = os.environ.get("SPECMILL_TEST_BASIC_MEMORY")
    path = Path(configured) if configured else ROOT / ".venv-basic-memory" / "bin" / "basic-memory"
    if not path.is_file():
        sys.exit(f"basic-memory not found at {path}: run scripts/bootstrap, or set SPECMILL_TEST_BASIC_MEMORY")
    return str(path)


def serve(root: Path, database: str | None, model_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """`specmill serve` on a free loopback port, healthy (Basic Memory's session started) before it returns."""
    command = shlex.join([basic_memory_executable(), "mcp"])
    env = {**os.environ, **example.isolate_basic_memory(root, command)}
    env.update(
        SPECMILL_DATA_DIR=str(root / "data"),
        SPECMILL_BASIC_MEMORY_COMMAND=command,
        SPECMILL_PROJECT=example.PROJECT,
        ANTHROPIC_BASE_URL=model_url,
        ANTHROPIC_API_KEY="offline-replay",
        SPECMILL_EXECUTOR_ID=f"bench-{root.name}",
    )
    env.pop("DBOS_SYSTEM_DATABASE_URL", None)
    if database:
        env["DBOS_SYSTEM_DATABASE_URL"] = database
    port = free_port()
    log = open(root / "serve.log", "wb")  # noqa: SIM115 - the server's lifetime, closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "specmill", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"specmill serve did not come up: {(root / 'serve.log').read_text(errors='replace')[-2000:]}"
            )
        try:
            if httpx.get(f"{base}/healthz", timeout=60).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)


async def measure(base: str, body: dict[str, str], starts: int, clients: int) -> tuple[list[float], int, float]:
    """(latencies in seconds of the 202s, failures, wall time) of `starts` POSTs from `clients` at once."""
    latencies: list[float] = []
    failures = 0
    todo = iter(range(starts))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:

        async def client() -> None:
            nonlocal failures
            for _ in todo:
                began = time.perf_counter()
                response = await http.post("/runs", json=body)
                if response.status_code == 202:
                    latencies.append(time.perf_counter() - began)
                else:
                    failures += 1

        for _ in range(5):  # warm-up: first imports, first connections
            await http.post("/runs", json=body)
        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, failures, time.perf_counter() - began


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def run(database_name: str, starts: int, clients: int) -> list[object]:
    with tempfile.TemporaryDirectory(prefix="specmill-bench-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        database = stack.enter_context(postgres_database() if database_name == "postgres" else nullcontext(None))
        replay = MessagesServer(example.RECORDING)
        replay.start()
        stack.callback(replay.stop)
        repo = example.prepare_repository(root)
        proc, base = serve(root, database, replay.base_url)
        stack.callback(stop, proc)
        body = {"spec": example.SPEC_PERMALINK, "repo": str(repo), "project": example.PROJECT}
        latencies, failures, wall = asyncio.run(measure(base, body, starts, clients))
    ms = [1000 * s for s in latencies]
    return [
        database_name,
        f"{percentile(ms, 50):.1f}",
        f"{percentile(ms, 99):.1f}",
        len(latencies),
        failures,
        f"{len(latencies) / wall:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    rows = [run(name, args.starts, args.clients) for name in args.databases.split(",")]
    print(f"POST /runs latency, {args.starts} starts from {args.clients} concurrent clients, real uvicorn on loopback")
    print(f"machine: {machine()}\n")
    print(table(["database", "p50 ms", "p99 ms", "requests", "failed", "starts/s"], rows))


if __name__ == "__main__":
    main()
