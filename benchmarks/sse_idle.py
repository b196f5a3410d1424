"""CPU of idle Server-Sent Event streams: what 100 followers of runs that make no progress cost.

The API runs under uvicorn in this process (DBOS on SQLite, or PostgreSQL with --database), with an
in-memory spec store and a model that never answers, so one run sits in its implement phase and the
others wait in the queue behind it (one repository). The script measures the process's CPU time
over a quiet window with no stream open, then with `--streams` raw SSE connections spread over the
runs, and prints both as a share of one core. The streams' clients are plain sockets that only
read, so the figure is the server's.

Run: .venv/bin/python benchmarks/sse_idle.py [--streams 100] [--runs 10] [--seconds 10] [--database URL]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from specmill.adapters.git_worktree import GitWorktreeWorkspace  # noqa: E402
from specmill.adapters.pytest_runner import SubprocessTestRunner  # noqa: E402
from specmill.api.app import create_app  # noqa: E402
from specmill.config import Settings  # noqa: E402
from specmill.container import Container  # noqa: E402
from specmill.models import ModelRequest, ModelTurn, PatternBrief  # noqa: E402
from specmill.ports.model import ScriptedModel  # noqa: E402
from specmill.ports.repo_analysis import FixedRepoAnalyzer  # noqa: E402
from specmill.ports.spec_store import MemorySpecStore  # noqa: E402
from tests import scenarios  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    (repo / "calc").mkdir(parents=True)
    (repo / "calc" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "c"],
    ):
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    return repo


def cpu_share(seconds: float) -> float:
    start_cpu, start = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return (time.process_time() - start_cpu) / (time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--database", default=None, help="PostgreSQL URL; SQLite in a temporary folder when unset")
    args = parser.parse_args()
    never = threading.Event()

    def stall(request: ModelRequest) -> ModelTurn:
        never.wait()
        raise RuntimeError("stopped")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = make_repo(root)
        settings = Settings(
            data_dir=root / "data",
            system_database_url=args.database,
            project="specs",
            max_event_streams=args.streams + 10,
            serve_works_queue=True,
        )
        store = MemorySpecStore()
        store.write_note("specs", scenarios.SPEC_TITLE, "specs", scenarios.SPEC)
        container = Container(
            settings,
            store,
            ScriptedModel(stall),
            GitWorktreeWorkspace(settings.data_dir),
            SubprocessTestRunner(),
            FixedRepoAnalyzer(PatternBrief(markdown="flat", tokens=1, budget=4000)),
            note_index=store,
        )
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(container=container), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        run_ids = [
            httpx.post(f"{base}/runs", json={"spec": "specs/multiply", "repo": str(repo)}).json()["run_id"]
            for _ in range(args.runs)
        ]
        time.sleep(3)  # the first run reaches its model call; the others wait in the queue
        quiet = cpu_share(args.seconds)
        sockets = []
        for n in range(args.streams):
            sock = socket.create_connection(("127.0.0.1", port))
            request = f"GET /runs/{run_ids[n % len(run_ids)]}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
            sock.sendall(request.encode())
            sock.settimeout(30)
            assert b"200" in sock.recv(4096).split(b"\r\n", 1)[0], "a stream was refused"
            sockets.append(sock)
        time.sleep(2)
        streaming = cpu_share(args.seconds)
        print(f"database: {'postgresql' if args.database else 'sqlite'}; {args.runs} runs, {args.streams} streams")
        print(f"CPU, no stream open:      {quiet * 100:6.1f} % of a core")
        print(f"CPU, {args.streams} idle streams:   {streaming * 100:6.1f} % of a core")
        print(f"per stream:               {(streaming - quiet) * 100 / args.streams:6.2f} % of a core")
        for sock in sockets:
            sock.close()
        server.should_exit = True
        thread.join(30)
    sys.stdout.flush()
    os._exit(0)  # the stalled model call holds a worker thread; there is nothing to finish


if __name__ == "__main__":
    main()
