"""MCP round trips: `specmill mcp` over stdio and `specmill serve`'s `/mcp` over streamable HTTP.

For each transport: the time from spawning the server to an initialized MCP session (for stdio this
includes DBOS's launch; for HTTP it is measured once `/healthz` answers), then N calls of `list_runs`
(an index read and a DBOS status read) and of `get_run` for an unknown id (a tool error), through the
official `mcp` client SDK. SQLite system database, no runs, no Basic Memory needed.

Run: .venv/bin/python benchmarks/mcp_latency.py [--calls 100]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import anyio
import httpx
from _common import ROOT, machine, percentile, table  # noqa: I001
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

TOKEN = "bench-token"


def base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPECMILL_", "DBOS_"))}
    env.update(
        SPECMILL_DATA_DIR=str(data_dir),
        SPECMILL_API_TOKENS=TOKEN,
        SPECMILL_PROJECT="specs",
        SPECMILL_SWEEP_CRON="",
        PYTHONPATH=str(ROOT / "src"),
    )
    return env


@asynccontextmanager
async def stdio(data_dir: Path) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "specmill", "mcp", "--no-worker"], env=base_env(data_dir)
    )
    with open(data_dir.parent / "stdio.stderr", "w") as err:
        async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


@asynccontextmanager
async def http(data_dir: Path) -> AsyncIterator[ClientSession]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with open(data_dir.parent / "serve.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "specmill", "serve", "--port", str(port)],
            env=base_env(data_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code in (200, 503):
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        async with (
            create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"}) as client,
            streamable_http_client(f"{url}/mcp", http_client=client) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session
    finally:
        proc.terminate()
        proc.wait(30)


async def measure(open_session: Callable[[Path], AbstractAsyncContextManager[ClientSession]], calls: int) -> list:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        started = time.perf_counter()
        async with open_session(data_dir) as session:
            ready_s = time.perf_counter() - started
            figures: list[object] = [f"{ready_s:.2f}"]
            for tool, arguments in (("list_runs", {}), ("get_run", {"run_id": "no-such-run"})):
                times = []
                for _ in range(calls):
                    t0 = time.perf_counter()
                    answer = await session.call_tool(tool, arguments)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert answer.is_error == (tool == "get_run"), answer
                figures += [f"{percentile(times, 50):.1f}", f"{percentile(times, 99):.1f}"]
            return figures


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    rows = [["stdio", *await measure(stdio, args.calls)], ["streamable HTTP", *await measure(http, args.calls)]]
    print(machine())
    headers = ["transport", "ready s", "list_runs p50 ms", "p99 ms", "get_run (error) p50 ms", "p99 ms"]
    print(table(headers, rows))


if __name__ == "__main__":
    anyio.run(main)
