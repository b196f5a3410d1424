"""Building an environment into a folder outside the worktree, with uv as the installer.

Every build leaves the project itself out of the environment (`--no-install-workspace`, or built
once for its dependencies and then uninstalled), so a cached environment holds dependencies only
and each run puts its own worktree's code on the path. Builds may reach the package index.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from specmill.adapters.environments.detect import Plan
from specmill.adapters.environments.interpreters import Interpreter
from specmill.errors import EnvironmentSetupFailed

ERROR_LINES = 12


@dataclass(frozen=True)
class Builder:
    uv: str
    cache_dir: Path
    timeout_s: float = 900.0

    def build(self, plan: Plan, root: Path, python: Interpreter, target: Path, needs_pytest: bool) -> None:
        """Provision `target` for `root` as `plan` says; `EnvironmentSetupFailed` when it cannot be."""
        if plan.kind == "uv":
            env = {"UV_PROJECT_ENVIRONMENT": str(target)}
            self._run([self.uv, "sync", "--locked", "--no-install-workspace", "--python", python.path], root, env, plan)
            return
        seed = ["--seed"] if plan.kind == "setup_command" else []  # pip, for a setup command that calls it
        self._run([self.uv, "venv", "--quiet", *seed, "--python", python.path, str(target)], root, {}, plan)
        activated = {"VIRTUAL_ENV": str(target), "PATH": f"{target / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
        if plan.kind == "setup_command":
            assert plan.setup_command is not None
            activated["UV_PROJECT_ENVIRONMENT"] = str(target)
            self._run(["/bin/sh", "-c", plan.setup_command], root, activated, plan)
        elif plan.kind == "poetry":
            self._run(["poetry", "install", "--no-root", "--no-interaction"], root, activated, plan)
        else:
            self._pip(plan, root, target)
        if needs_pytest and not _imports(target, "pytest"):
            self._run([self.uv, "pip", "install", "--python", str(target / "bin" / "python"), "pytest"], root, {}, plan)

    def _pip(self, plan: Plan, root: Path, target: Path) -> None:
        install = [self.uv, "pip", "install", "--python", str(target / "bin" / "python")]
        args: list[str] = []
        if plan.build_project:
            args.append(f".[{','.join(plan.extras)}]" if plan.extras else ".")
        args += plan.dependencies
        for name in plan.requirements:
            args += ["-r", name]
        for group in plan.groups:
            args += ["--group", group]
        if args:
            self._run(install + args, root, {}, plan)
        if plan.build_project and plan.project_name:
            uninstall = [self.uv, "pip", "uninstall", "--python", str(target / "bin" / "python"), plan.project_name]
            self._run(uninstall, root, {}, plan)

    def _run(self, argv: list[str], cwd: Path, extra: dict[str, str], plan: Plan) -> None:
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")},
            "UV_CACHE_DIR": str(self.cache_dir),
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_PROGRESS": "1",
            **extra,
        }
        shown = " ".join([Path(argv[0]).name, *argv[1:]])
        try:
            done = subprocess.run(
                argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=self.timeout_s, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            raise EnvironmentSetupFailed(
                f"{plan.kind} setup did not finish within {self.timeout_s:g} s: `{shown}`; raise "
                "SPECMILL_SETUP_TIMEOUT_S or set a setup_command"
            ) from None
        except OSError as exc:
            raise EnvironmentSetupFailed(f"{plan.kind} setup could not start `{shown}`: {exc}") from None
        if done.returncode != 0:
            raise EnvironmentSetupFailed(_failure(plan, shown, done.returncode, done.stderr + done.stdout))


def _failure(plan: Plan, shown: str, code: int, output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    tail = "\n".join(lines[-ERROR_LINES:])
    if plan.kind == "uv" and "--locked" in output and "needs to be updated" in output:
        return f"uv.lock does not match pyproject.toml: run `uv lock` and commit uv.lock (`{shown}` said: {tail})"
    what = {"setup_command": "the setup command", "pip": "installing the project's dependencies"}.get(
        plan.kind, f"{plan.kind} setup"
    )
    return f"{what} failed: `{shown}` exited with code {code}:\n{tail}"


def _imports(target: Path, module: str) -> bool:
    check = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    done = subprocess.run([str(target / "bin" / "python"), "-c", check], capture_output=True)
    return done.returncode == 0


def base_prefix(target: Path) -> str:
    """Where the environment's interpreter lives: the sandbox must show it for the venv to work."""
    done = subprocess.run(
        [str(target / "bin" / "python"), "-c", "import sys; print(sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()
