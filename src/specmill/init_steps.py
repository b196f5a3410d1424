"""The parts of `specmill init`: find Basic Memory, list and add its projects, write the settings
file, and put a sample spec where a run can find it. Each is plain Python over subprocesses and
files; the command (`cli/init.py`) asks the questions and prints.

Basic Memory is driven through its own CLI (`basic-memory project list --json`, `project add`):
a project must exist before a server starts to be watched, and the CLI needs no MCP handshake.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import specmill
from specmill.adapters.basic_memory import basic_memory_env
from specmill.config_file import render_config
from specmill.errors import BadInput, ServiceUnavailable

BASIC_MEMORY_PIN = "basic-memory==0.24.1"
INSTALL_COMMAND = f"uv tool install {BASIC_MEMORY_PIN}"
DEFAULT_COMMAND = "basic-memory mcp"
CLI_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class BasicMemory:
    executable: str
    found_by: str

    @property
    def command(self) -> str:
        """The MCP command specmill starts: the executable found, by absolute path."""
        return shlex.join([self.executable, "mcp"])


@dataclass(frozen=True)
class Project:
    name: str
    path: str
    default: bool = False


def checkout_basic_memory() -> Path:
    """`.venv-basic-memory/bin/basic-memory` beside a specmill checkout (src/specmill -> the checkout)."""
    return Path(specmill.__file__).resolve().parents[2] / ".venv-basic-memory" / "bin" / "basic-memory"


def find_basic_memory(configured_command: str) -> tuple[BasicMemory | None, str]:
    """(found, "") or (None, why not): the configured command, else `basic-memory` on PATH, else
    the checkout's own venv."""
    if configured_command.strip() and configured_command.strip() != DEFAULT_COMMAND:
        first = shlex.split(configured_command)[0]
        found = shutil.which(first) or (first if os.path.isfile(first) and os.access(first, os.X_OK) else None)
        if found is None:
            return None, f"SPECMILL_BASIC_MEMORY_COMMAND names '{first}', which is not an executable"
        return BasicMemory(str(Path(found).absolute()), "SPECMILL_BASIC_MEMORY_COMMAND"), ""
    on_path = shutil.which("basic-memory")
    if on_path:
        return BasicMemory(str(Path(on_path).absolute()), "PATH"), ""
    checkout = checkout_basic_memory()
    if checkout.is_file() and os.access(checkout, os.X_OK):
        return BasicMemory(str(checkout), "the checkout's .venv-basic-memory"), ""
    return None, "basic-memory is not on PATH"


def install_basic_memory() -> BasicMemory:
    """`uv tool install basic-memory==0.24.1`, with the uv on PATH or the one installed beside specmill."""
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not os.path.isfile(uv):
        raise ServiceUnavailable(
            f"uv is not installed: install uv (https://docs.astral.sh/uv/), then {INSTALL_COMMAND}"
        )
    proc = subprocess.run([uv, "tool", "install", BASIC_MEMORY_PIN], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ServiceUnavailable(f"{INSTALL_COMMAND} failed: {_tail(proc)}")
    bin_dir = subprocess.run([uv, "tool", "dir", "--bin"], capture_output=True, text=True).stdout.strip()
    executable = Path(bin_dir) / "basic-memory"
    if not executable.is_file():
        raise ServiceUnavailable(f"{INSTALL_COMMAND} ran, but {executable} is not there: {_tail(proc)}")
    return BasicMemory(str(executable), "uv tool install")


def list_projects(executable: str) -> list[Project]:
    proc = _basic_memory(executable, "project", "list", "--json", "--local")
    try:
        rows = json.loads(proc.stdout)["projects"]
    except (ValueError, KeyError, TypeError):
        raise ServiceUnavailable(f"'basic-memory project list --json' answered no project list: {_tail(proc)}")
    return [Project(str(r["name"]), str(r.get("local_path") or ""), bool(r.get("is_default"))) for r in rows]


def add_project(executable: str, name: str, path: Path) -> None:
    """Add the project and index what its folder already holds (a sample spec written first)."""
    path.mkdir(parents=True, exist_ok=True)
    _basic_memory(executable, "project", "add", name, str(path))


def index_project(executable: str, name: str) -> None:
    _basic_memory(executable, "project", "index", name)


def _basic_memory(executable: str, *args: str) -> subprocess.CompletedProcess[str]:
    where = f"basic-memory {' '.join(args[:2])}"
    try:
        proc = subprocess.run(
            [executable, *args],
            capture_output=True,
            text=True,
            env=basic_memory_env(os.environ),
            timeout=CLI_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceUnavailable(f"{where} could not run: {exc}") from exc
    if proc.returncode != 0:
        raise ServiceUnavailable(f"{where} failed ({proc.returncode}): {_tail(proc)}")
    return proc


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    text = (proc.stderr or proc.stdout or "").strip()
    return " | ".join(line.strip() for line in text.splitlines()[-3:] if line.strip()) or "no output"


# --- the settings file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigPlan:
    """What writing the settings file would do: the file's settings after, and each change."""

    path: Path
    values: dict[str, Any]
    changes: list[str]
    exists: bool

    @property
    def unchanged(self) -> bool:
        return self.exists and not self.changes


def plan_config(
    path: Path, proposed: Mapping[str, Any], known: Collection[str], replace_unreadable: bool = False
) -> ConfigPlan:
    """The existing file's settings with the proposed ones over them; its other keys are kept. With
    `replace_unreadable`, a file that is not TOML is replaced and keys that are not settings are dropped."""
    current: dict[str, Any] = {}
    changes: list[str] = []
    if path.is_file():
        try:
            current = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            if not replace_unreadable:
                raise BadInput(f"{path} is not valid TOML ({exc}): fix it, or replace it with --force") from None
            changes.append("! the unreadable file is replaced")
    if replace_unreadable:
        for key in [key for key in current if key not in known]:
            changes.append(f"- {key} (not a setting)")
            del current[key]
    was = dict(current)
    values = {**current, **{k: v for k, v in proposed.items() if v is not None}}
    for key, value in values.items():
        if key not in was:
            changes.append(f"+ {key} = {value!r}")
        elif was[key] != value:
            changes.append(f"~ {key}: {was[key]!r} -> {value!r}")
    return ConfigPlan(path=path, values=values, changes=changes, exists=path.is_file())


def write_config(plan: ConfigPlan) -> None:
    plan.path.parent.mkdir(parents=True, exist_ok=True)
    temporary = plan.path.with_suffix(".toml.tmp")
    temporary.write_text(render_config(plan.values), encoding="utf-8")
    os.replace(temporary, plan.path)


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    xdg = environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path(environ.get("HOME") or Path.home()) / ".local" / "share"
    return base / "specmill"


# --- the sample spec -----------------------------------------------------------------------------


SAMPLE_FOLDER = "specs"


def write_sample_spec(project_dir: Path, data_dir: Path) -> tuple[Path, Path]:
    """The bundled Goodbye endpoint spec, in the project's folder, naming a fresh copy of the example
    service (in the data dir) as its `repo:`; an existing note file is left as it is. Returns (note, repo)."""
    from specmill import example

    repo = data_dir.resolve() / "example" / "greeting-service"
    if not (repo / ".git").is_dir():  # a copy made before keeps its branches
        repo = example.prepare_repository(repo.parent)
    note = project_dir / SAMPLE_FOLDER / example.SPEC_FILE
    if not note.exists():
        text = (example.SPECS / example.SPEC_FILE).read_text(encoding="utf-8")
        head, sep, rest = text.partition("\n---\n")
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(f"{head}\nrepo: {json.dumps(str(repo))}{sep}{rest}", encoding="utf-8")
    return note, repo
