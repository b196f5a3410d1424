"""Time to the first line a person sees: `specmill run` (its first stderr line, and its first progress line
once the spec is being read) and `specmill serve` (its "listening on" line, and its first healthy /healthz).

The run is pointed at a repository that exists and a spec that does not, so it ends right after its
first lines without a model; serve runs with its Basic Memory command pointing nowhere, so only the
listening line and the process start are measured, which is what a person waits for before anything.

Run: .venv/bin/python benchmarks/first_output.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, median, table  # noqa: I001


def first_lines(argv: list[str], env: dict[str, str], wanted: list[str], timeout: float = 60.0) -> list[float]:
    """Seconds from process start to the first stderr line starting with each of `wanted` (in order)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, start_new_session=True
    )
    seen: list[float] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if len(seen) < len(wanted) and line.startswith(wanted[len(seen)]):
                seen.append(time.perf_counter() - start)
                if len(seen) == len(wanted):
                    break
            if time.perf_counter() - start > timeout:
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    return seen + [float("nan")] * (len(wanted) - len(seen))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        subprocess.run(
            ["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "x"],
            check=True,
            env={
                **os.environ,
                "GIT_AUTHOR_NAME": "b",
                "GIT_AUTHOR_EMAIL": "b@x",
                "GIT_COMMITTER_NAME": "b",
                "GIT_COMMITTER_EMAIL": "b@x",
            },
        )
        env = {
            **os.environ,
            "SPECMILL_DATA_DIR": str(Path(tmp) / "data"),
            "ANTHROPIC_API_KEY": "benchmark",
            "SPECMILL_PROJECT": "none",
            "SPECMILL_BASIC_MEMORY_COMMAND": f"{tmp}/no-basic-memory mcp",
        }
        env.pop("DBOS_SYSTEM_DATABASE_URL", None)
        run = [sys.executable, "-m", "specmill", "run", "specs/missing", "--repo", str(repo)]
        runs = [first_lines(run, env, ["specmill: preparing", "specmill: reading"]) for _ in range(args.repeat)]
        serves = []
        for _ in range(args.repeat):
            serve = [sys.executable, "-m", "specmill", "serve", "--port", str(free_port())]
            serves.append(first_lines(serve, env, ["specmill serve: listening on"]))
    rows = [
        ["specmill run: first line", f"{median([r[0] for r in runs]):.2f}"],
        ["specmill run: reading the spec", f"{median([r[1] for r in runs]):.2f}"],
        ["specmill serve: listening on", f"{median([s[0] for s in serves]):.2f}"],
    ]
    print(f"time to first output, median of {args.repeat} ({machine()})")
    print(table(["what", "seconds"], rows))


if __name__ == "__main__":
    main()
