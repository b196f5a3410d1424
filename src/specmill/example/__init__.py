"""The bundled example: a small FastAPI + Typer service, a spec for it, and a recorded session.

`specmill demo` uses it to show a whole run on the embedded default without any account:
the example repository becomes a fresh git repository under the data dir, the spec goes
into an isolated Basic Memory project, and without ANTHROPIC_API_KEY the model is a
loopback replay of a recorded session.

The service and the spec ship inside this package as package data (see pyproject.toml), so
an installed specmill runs the demo from anywhere. They are found beside this file rather
than through `importlib.resources` because the service is copied as a whole directory tree,
which needs real files; pip installs specmill as plain files.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from specmill.adapters.safe_git import run_git
from specmill.errors import BadInput, ServiceUnavailable
from specmill.replay import RECORDINGS

_HERE = Path(__file__).resolve().parent
SERVICE = _HERE / "greeting-service"
SPECS = _HERE / "specs"
RECORDING = RECORDINGS / "demo.json"
SPEC_FILE = "goodbye-endpoint.md"
SPEC_PERMALINK = "specs/goodbye-endpoint"
PROJECT = "specmill-demo"
_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "specmill demo",
    "GIT_AUTHOR_EMAIL": "demo@specmill.invalid",
    "GIT_COMMITTER_NAME": "specmill demo",
    "GIT_COMMITTER_EMAIL": "demo@specmill.invalid",
}


def prepare_repository(root: Path, name: str = "greeting-service") -> Path:
    """A fresh git repository holding the example service, at root/name."""
    if not SERVICE.is_dir():
        raise BadInput(
            f"the bundled example is missing at '{SERVICE}': "
            "reinstall specmill (pip install --force-reinstall specmill)"
        )
    repo = root / name
    _remove_worktrees(repo)  # an earlier demo's runs: their worktrees would point at a repository that is gone
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(SERVICE, repo, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "greeting-service: hello"]):
        run_git(args, cwd=repo, identity=_GIT_IDENTITY)
    return repo


def _remove_worktrees(repo: Path) -> None:
    if not (repo / ".git").is_dir():
        return
    listed = run_git(["worktree", "list", "--porcelain"], git_dir=repo / ".git", work_tree=repo, check=False)
    paths = [line.removeprefix("worktree ") for line in listed.stdout.splitlines() if line.startswith("worktree ")]
    for path in paths[1:]:  # the first is the repository itself
        shutil.rmtree(path, ignore_errors=True)


def isolate_basic_memory(root: Path, command: str) -> dict[str, str]:
    """Give this process (and the MCP server it starts) a Basic Memory of its own holding the spec."""
    home = root / "basic-memory-home"
    notes = root / "notes"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(notes, ignore_errors=True)
    (notes / "specs").mkdir(parents=True)
    shutil.copy(SPECS / SPEC_FILE, notes / "specs" / SPEC_FILE)
    env = {
        "HOME": str(home),
        "BASIC_MEMORY_CONFIG_DIR": str(home / ".basic-memory"),
        "BASIC_MEMORY_HOME": str(home / "basic-memory"),
        "BASIC_MEMORY_AUTO_UPDATE": "false",
        "FASTMCP_CHECK_FOR_UPDATES": "off",
    }
    os.environ.update(env)
    executable = shlex.split(command)[0]
    if shutil.which(executable) is None:
        raise ServiceUnavailable(
            f"basic-memory not found as '{executable}': run scripts/demo, or set SPECMILL_BASIC_MEMORY_COMMAND"
        )
    proc = subprocess.run(
        [executable, "project", "add", PROJECT, str(notes)], capture_output=True, text=True, env=os.environ.copy()
    )
    if proc.returncode != 0:
        raise ServiceUnavailable(f"basic-memory could not create the demo project: {proc.stderr.strip()[-300:]}")
    return env


@contextlib.contextmanager
def offline_model(log_dir: Path) -> Iterator[str]:
    """Serve the recorded session of the example spec on loopback and point the `anthropic` SDK at it.

    Every phase of a run stays real (worktree, tests, spec updates); only the model's replies come
    from the recording, so it fits the example spec in the example service and nothing else."""
    from specmill.replay.server import MessagesServer

    log_dir.mkdir(parents=True, exist_ok=True)
    replay = MessagesServer(RECORDING, log_path=log_dir / "replay-log.jsonl")
    saved = {name: os.environ.get(name) for name in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY")}
    os.environ["ANTHROPIC_BASE_URL"] = replay.start()
    os.environ["ANTHROPIC_API_KEY"] = "offline-replay"
    try:
        yield os.environ["ANTHROPIC_BASE_URL"]
    finally:
        replay.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
