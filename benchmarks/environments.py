"""Provisioning a repository's environment: cold, with uv's cache warm, and cached, for uv and pip.

Two projects with the same dependencies (fastapi, httpx, pytest): one locked with `uv lock`
(a uv project on the highest installed Python 3.12), one with a requirements.txt (specmill's own
Python). For each, `RepoEnvironments.prepare` is timed
1. cold: an empty environments folder and an empty uv cache (everything comes from the index);
2. warm cache: a new environments folder, uv's cache kept (the wheels are local, the venv is new);
3. cached: the same lock again, as a second run would (the median of --repeat calls).
The figures include the interpreter discovery every call makes.

Run: .venv/bin/python benchmarks/environments.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _common import machine, median, table  # noqa: I001

from specmill.adapters.environments.interpreters import PythonRequest, find_interpreter
from specmill.adapters.repo_environments import RepoEnvironments, find_uv

DEPENDENCIES = ["fastapi", "httpx"]
PYPROJECT = f"""[project]
name = "bench"
version = "0.1.0"
requires-python = ">=3.12"
dependencies = {DEPENDENCIES!r}

[dependency-groups]
dev = ["pytest"]

[tool.pytest.ini_options]
testpaths = ["tests"]
""".replace("'", '"')


def uv_project(folder: Path, cache: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(PYPROJECT)
    (folder / ".python-version").write_text("3.12\n")
    python = find_interpreter(PythonRequest("3.12", "the benchmark"), None).path
    subprocess.run([find_uv(), "lock", "--quiet", "--python", python], cwd=folder, env=_env(cache), check=True)
    return folder


def pip_project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "requirements.txt").write_text("\n".join([*DEPENDENCIES, "pytest"]) + "\n")
    (folder / "tests").mkdir()
    (folder / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    return folder


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "UV_CACHE_DIR": str(cache), "UV_PYTHON_DOWNLOADS": "never"}


def timed(environments: RepoEnvironments, root: Path) -> tuple[float, bool]:
    started = time.perf_counter()
    environment = environments.prepare(root)
    return time.perf_counter() - started, environment.cached


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="specmill-bench-env-") as folder:
        base = Path(folder)
        lock_cache = base / "lock-cache"
        projects = {
            "uv (uv.lock)": uv_project(base / "uv", lock_cache),
            "pip (requirements.txt)": pip_project(base / "pip"),
        }
        for name, root in projects.items():
            cache = base / f"cache-{root.name}"
            cold, _ = timed(RepoEnvironments(base / f"envs-{root.name}-1", cache_dir=cache), root)
            warm, _ = timed(RepoEnvironments(base / f"envs-{root.name}-2", cache_dir=cache), root)
            again = RepoEnvironments(base / f"envs-{root.name}-2", cache_dir=cache)
            cached = [timed(again, root) for _ in range(args.repeat)]
            assert all(hit for _, hit in cached)
            rows.append([name, f"{cold:.2f}", f"{warm:.2f}", f"{median([t for t, _ in cached]):.3f}"])
            shutil.rmtree(cache, ignore_errors=True)
    print(f"# Environment provisioning ({', '.join(DEPENDENCIES)}, pytest)\n\n{machine()}\n")
    print(table(["project", "cold (s)", "uv cache warm, new env (s)", f"cached, median of {args.repeat} (s)"], rows))


if __name__ == "__main__":
    main()
