"""Environments port on uv: the repository's own environment, cached per lock and Python version.

An environment is built once per (lock hash, Python version) in `<environments dir>/<key>/`, with
uv's cache shared beside it (`<environments dir>/uv-cache`), and reused by every later run and
iteration on the same lock. It holds the dependencies only: each run gets the environment with its
own worktree's source roots on PYTHONPATH, so the tests import the worktree's code and never the
main checkout's. Nothing is written into the worktree (whatever a setup command leaves there is
wiped by the next checkout), so nothing of it can land on the run's branch. A file lock per key lets
concurrent runs on the same lock wait for one build instead of building twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from specmill.adapters.environments.build import Builder, base_prefix
from specmill.adapters.environments.detect import Plan, detect, read_pyproject
from specmill.adapters.environments.interpreters import Interpreter, find_interpreter, request_of
from specmill.adapters.environments.test_command import PYTEST, detect_test_command
from specmill.config import Settings
from specmill.models import RepoEnvironment

log = logging.getLogger("specmill.environments")
READY = "specmill-ready.json"


def find_uv() -> str:
    """The uv binary that ships with the `uv` package specmill depends on."""
    from uv import find_uv_bin

    return find_uv_bin()


class RepoEnvironments:
    def __init__(
        self, root: Path, *, uv: str | None = None, cache_dir: Path | None = None, setup_timeout_s: float = 900.0
    ) -> None:
        """`cache_dir` is uv's cache: `root/uv-cache` unless given."""
        self.root = Path(root).resolve()
        self.uv = uv or find_uv()
        self.builder = Builder(self.uv, Path(cache_dir or self.root / "uv-cache").resolve(), setup_timeout_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> RepoEnvironments:
        return cls(settings.environments_root(), setup_timeout_s=settings.setup_timeout_s)

    def prepare(
        self,
        worktree: Path,
        *,
        setup_command: str | None = None,
        environment: str | None = None,
        test_command: str | None = None,
    ) -> RepoEnvironment:
        worktree = Path(worktree).resolve()
        plan = detect(worktree, setup_command, environment)
        detected = None if test_command else detect_test_command(worktree, read_pyproject(worktree), plan.kind)
        command = detected.command if detected else None
        tests = (
            f"tests: `{test_command}` (the playbook's)"
            if test_command
            else (
                f"tests: `{detected.command}` ({detected.reason})" if detected else f"tests: `{PYTEST}` (the default)"
            )
        )
        if plan.kind == "none":
            return RepoEnvironment(kind="none", reason=f"{plan.reason}; {tests}", test_command=command)
        request = request_of(worktree, plan.requires_python)
        python = find_interpreter(request, self.uv)
        target = self.root / _key(plan, python)
        started = time.monotonic()
        with _exclusive(target.with_name(target.name + ".lock")):
            ready = target / READY
            cached = ready.is_file()
            if not cached:
                shutil.rmtree(target, ignore_errors=True)
                needs_pytest = _uses_pytest(test_command or command or PYTEST)
                self.builder.build(plan, worktree, python, target, needs_pytest)
                ready.write_text(json.dumps({"reason": plan.reason, "base_prefix": base_prefix(target)}))
            record = json.loads(ready.read_text())
        took = 0.0 if cached else round(time.monotonic() - started, 3)
        asked = f"{request.text!r} from {request.source}" if request else "nothing asked: specmill's own"
        log.info("environment %s %s (%s) in %.1f s", target.name, "reused" if cached else "built", plan.kind, took)
        bin_dir = str(target / "bin")
        return RepoEnvironment(
            kind=plan.kind,
            reason=f"{plan.reason}; Python {python.version} ({asked}); {tests}",
            python=str(target / "bin" / "python"),
            venv=str(target),
            variables={
                "VIRTUAL_ENV": str(target),
                "PYTHONPATH": os.pathsep.join(str((worktree / r).resolve()) for r in plan.source_roots),
            },
            path_prefix=[bin_dir],
            read_only=list(dict.fromkeys([str(target), record["base_prefix"]])),
            test_command=command,
            setup_s=took,
            cached=cached,
        )


def _uses_pytest(command: str) -> bool:
    return any(Path(word).name in ("pytest", "py.test") for word in command.split())


def _key(plan: Plan, python: Interpreter) -> str:
    where = hashlib.sha256(python.path.encode()).hexdigest()[:6]
    return f"{plan.kind}-{plan.lock_hash()}-py{python.version}-{where}"


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
