"""Find the Python a repository asks for on this machine, without downloading one.

The request comes from `.python-version` (a version such as `3.12` or `3.12.1`) or, failing that,
from `requires-python` (a specifier such as `>=3.11`). Candidates are looked for, in order:
the interpreter specmill runs under, `pythonX.Y` / `python3` / `python` on PATH (pyenv's shims
aside), pyenv's installed versions (`$PYENV_ROOT/versions/*`, else `~/.pyenv/versions/*`), and
uv's discovery with downloads off (`uv python find`, which also knows uv-managed Pythons).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from specmill.errors import EnvironmentSetupFailed

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
PROBE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class PythonRequest:
    """What the repository asks for, and where it says so (for messages)."""

    text: str
    source: str

    def accepts(self, version: Version) -> bool:
        exact = _VERSION.fullmatch(self.text.removeprefix("cpython-").removeprefix("python").strip())
        if exact:
            wanted = [int(part) for part in exact.groups() if part is not None]
            return list(version.release[: len(wanted)]) == wanted
        try:
            return SpecifierSet(self.text).contains(version, prereleases=True)
        except InvalidSpecifier:
            return False


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str


def request_of(root: Path, requires_python: str | None) -> PythonRequest | None:
    pinned = root / ".python-version"
    if pinned.is_file():
        lines = [line.strip() for line in pinned.read_text(encoding="utf-8").splitlines()]
        first = next((line for line in lines if line and not line.startswith("#")), "")
        if first:
            return PythonRequest(first, ".python-version")
    if requires_python:
        return PythonRequest(requires_python, "requires-python in pyproject.toml")
    return None


def find_interpreter(request: PythonRequest | None, uv: str | None) -> Interpreter:
    """The first candidate the request accepts; specmill's own Python when nothing is asked for.
    Raises `EnvironmentSetupFailed` naming the version and every place looked at."""
    own = Interpreter(getattr(sys, "_base_executable", sys.executable), ".".join(map(str, sys.version_info[:3])))
    if request is None or request.accepts(Version(own.version)):
        return own
    for candidate in _on_path(request) + _in_pyenv():
        if request.accepts(Version(candidate.version)):
            return candidate
    found = _from_uv(request, uv)
    if found is not None:
        return found
    pyenv = _pyenv_versions_dir()
    seen = ", ".join(sorted(p.name for p in pyenv.iterdir() if p.is_dir())) if pyenv.is_dir() else "not installed"
    raise EnvironmentSetupFailed(
        f"no Python matching {request.text!r} (from {request.source}) on this machine: looked at specmill's own "
        f"Python {own.version}, on PATH (python3.N, python3, python), in pyenv ({pyenv}: {seen}) and in uv's "
        f"installed Pythons (downloads off); install it (`pyenv install {request.text}` or "
        f"`uv python install {request.text}`) or change {request.source}"
    )


def _on_path(request: PythonRequest) -> list[Interpreter]:
    names = ["python3", "python"]
    exact = _VERSION.match(request.text.removeprefix("cpython-"))
    if exact:
        names.insert(0, f"python{exact.group(1)}.{exact.group(2)}")
    found: list[Interpreter] = []
    for name in names:
        path = shutil.which(name)
        if path is None or "/shims/" in path:  # pyenv's shims: its versions are read directly below
            continue
        version = _version_of(path)
        if version:
            found.append(Interpreter(path, version))
    return found


def _pyenv_versions_dir() -> Path:
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    return Path(root) / "versions"


def _in_pyenv() -> list[Interpreter]:
    versions = _pyenv_versions_dir()
    if not versions.is_dir():
        return []
    found: list[tuple[Version, Interpreter]] = []
    for folder in versions.iterdir():
        python = folder / "bin" / "python"
        if not python.exists():
            continue
        try:
            version = Version(folder.name)
        except InvalidVersion:  # a virtualenv or a named build: ask it
            text = _version_of(str(python))
            if not text:
                continue
            version = Version(text)
        found.append((version, Interpreter(str(python), str(version))))
    return [interpreter for _, interpreter in sorted(found, key=lambda pair: pair[0], reverse=True)]


def _from_uv(request: PythonRequest, uv: str | None) -> Interpreter | None:
    if uv is None:
        return None
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    try:
        done = subprocess.run(
            [uv, "python", "find", "--no-project", request.text],
            capture_output=True,
            text=True,
            env=env,
            timeout=PROBE_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = done.stdout.strip()
    version = _version_of(path) if done.returncode == 0 and path else ""
    return Interpreter(path, version) if version and request.accepts(Version(version)) else None


def _version_of(python: str) -> str:
    try:
        done = subprocess.run(
            [python, "-I", "-S", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
