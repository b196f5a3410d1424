"""What a repository asks for: how its environment is built, and why.

In order: an explicit setup command (the playbook's `setup_command`, else `[tool.specmill]
setup_command` in pyproject.toml); `uv.lock` (uv); `poetry.lock` with poetry installed; and
otherwise a venv with the project's dependencies, its test extras, its `requirements*.txt` and its
test dependency groups. `environment = "none"` (playbook or `[tool.specmill]`) turns it off: tests
then run under specmill's own interpreter.
"""

from __future__ import annotations

import hashlib
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from specmill.errors import EnvironmentSetupFailed

Kind = Literal["setup_command", "uv", "poetry", "pip", "none"]
TEST_EXTRAS = ("test", "tests", "testing", "dev")
"""Optional-dependency extras and dependency groups installed for the tests, when the project has them."""
LOCK_INPUTS = ("pyproject.toml", "uv.lock", "poetry.lock", "setup.py", "setup.cfg", ".python-version")


@dataclass(frozen=True)
class Plan:
    kind: Kind
    reason: str
    requires_python: str | None = None
    setup_command: str | None = None
    build_project: bool = False
    """The project has a build (a build system or setup.py): it is built once to get its dependencies."""
    project_name: str | None = None
    dependencies: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    source_roots: tuple[str, ...] = (".",)
    inputs: dict[str, str] = field(default_factory=dict)

    def lock_hash(self) -> str:
        """What the environment is built from: the kind, the command and the lock and project files."""
        digest = hashlib.sha256(f"{self.kind}\0{self.setup_command or ''}\0".encode())
        for name in sorted(self.inputs):
            digest.update(f"{name}\0{self.inputs[name]}\0".encode())
        return digest.hexdigest()[:16]


def read_pyproject(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EnvironmentSetupFailed(f"pyproject.toml cannot be read ({exc}): fix its TOML") from None


def detect(root: Path, setup_command: str | None = None, environment: str | None = None) -> Plan:
    """The plan for `root`; the playbook's `setup_command` / `environment` win over the repository's."""
    pyproject = read_pyproject(root)
    own = pyproject.get("tool", {}).get("specmill", {})
    project = pyproject.get("project", {})
    requires = project.get("requires-python")
    inputs = _inputs(root)
    switch = environment or own.get("environment")
    if switch == "none":
        where = "the playbook" if environment else "[tool.specmill] in pyproject.toml"
        return Plan("none", f"environment = none in {where}: tests run under specmill's own interpreter")
    roots = _source_roots(root, pyproject)
    if setup_command or own.get("setup_command"):
        where = "the playbook's setup_command" if setup_command else "[tool.specmill] setup_command in pyproject.toml"
        command = setup_command or str(own["setup_command"])
        return Plan("setup_command", f"{where}: `{command}`", requires, command, source_roots=roots, inputs=inputs)
    if (root / "uv.lock").is_file():
        return Plan("uv", "uv.lock: `uv sync --locked`", requires, source_roots=roots, inputs=inputs)
    if (root / "poetry.lock").is_file():
        if shutil.which("poetry"):
            return Plan("poetry", "poetry.lock: `poetry install`", requires, source_roots=roots, inputs=inputs)
        fallback = "poetry.lock, but poetry is not installed: "
    else:
        fallback = ""
    requirements = tuple(sorted(p.name for p in root.glob("requirements*.txt") if p.is_file()))
    has_setup = (root / "setup.py").is_file() or (root / "setup.cfg").is_file()
    if not project and not requirements and not has_setup:
        return Plan("none", "no pyproject.toml [project], setup.py or requirements*.txt: specmill's own interpreter")
    for name in requirements:
        inputs[name] = _digest(root / name)
    dynamic = "dependencies" in project.get("dynamic", [])
    extras = tuple(e for e in TEST_EXTRAS if e in project.get("optional-dependencies", {}))
    groups = tuple(g for g in TEST_EXTRAS if g in pyproject.get("dependency-groups", {}))
    build = has_setup or "build-system" in pyproject or dynamic
    parts = [f"the project's dependencies{' and extras ' + ', '.join(extras) if extras else ''}"] if project else []
    parts += [", ".join(requirements)] if requirements else []
    parts += [f"dependency groups {', '.join(groups)}"] if groups else []
    return Plan(
        "pip",
        f"{fallback}a venv with {'; '.join(parts) or 'the project'} (`uv pip install`)",
        requires,
        build_project=build,
        project_name=project.get("name"),
        dependencies=() if build else _static_dependencies(project, extras),
        extras=extras,
        groups=groups,
        requirements=requirements,
        source_roots=roots,
        inputs=inputs,
    )


def _static_dependencies(project: dict[str, Any], extras: tuple[str, ...]) -> tuple[str, ...]:
    optional = project.get("optional-dependencies", {})
    return tuple([*project.get("dependencies", []), *(r for extra in extras for r in optional.get(extra, []))])


def _inputs(root: Path) -> dict[str, str]:
    return {name: _digest(root / name) for name in LOCK_INPUTS if (root / name).is_file()}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _source_roots(root: Path, pyproject: dict[str, Any]) -> tuple[str, ...]:
    """Where the project's importable code lives in the worktree: `src/` in a src layout (also when
    the build tool says so), the repository root otherwise; both when both hold packages."""
    tool = pyproject.get("tool", {})
    declared = tool.get("setuptools", {}).get("packages", {})
    where = declared.get("find", {}).get("where") if isinstance(declared, dict) else None
    roots = [str(w) for w in where] if isinstance(where, list) else []
    for package in tool.get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {}).get("packages", []):
        roots.append(str(Path(package).parent))
    if not roots and (root / "src").is_dir() and any((root / "src").glob("*/__init__.py")):
        roots.append("src")
    return tuple(dict.fromkeys([*roots, "."]))
