"""The repository's own configuration files, parsed with the standard library only."""

from __future__ import annotations

import configparser
import contextlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specmill.adapters.repo_scan.walk import RepoFile, read_text

INI_FILES = ("setup.cfg", "tox.ini", "mypy.ini", ".mypy.ini", "pytest.ini", ".flake8", ".isort.cfg")
TOML_FILES = ("pyproject.toml", "ruff.toml", ".ruff.toml")
TEXT_FILES = ("Makefile", "justfile", ".pre-commit-config.yaml", "noxfile.py")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class ProjectConfig:
    """Root-level configuration: parsed TOML and INI files, a few texts, and the root's file names."""

    toml: dict[str, dict[str, Any]] = field(default_factory=dict)
    ini: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    json: dict[str, dict[str, Any]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    root_names: frozenset[str] = frozenset()
    requirements: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def pyproject(self) -> dict[str, Any]:
        return self.toml.get("pyproject.toml", {})

    def tool(self, name: str) -> dict[str, Any]:
        section = self.pyproject.get("tool", {}).get(name, {})
        return section if isinstance(section, dict) else {}


def _ini(text: str) -> dict[str, dict[str, str]] | None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return {name: dict(parser[name]) for name in parser.sections()}


def requirement_name(spec: str) -> str:
    """`psycopg[binary]>=3.2` -> `psycopg`; normalized the way package indexes compare names."""
    match = _REQUIREMENT_NAME.match(spec)
    return re.sub(r"[._]+", "-", match.group(1)).lower() if match else ""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def _pyproject_requirements(data: dict[str, Any]) -> list[str]:
    project = data.get("project", {})
    found = _strings(project.get("dependencies", [])) + _strings(project.get("optional-dependencies", {}))
    found += _strings(data.get("dependency-groups", {}))
    poetry = data.get("tool", {}).get("poetry", {})
    found += list(poetry.get("dependencies", {})) + list(poetry.get("dev-dependencies", {}))
    for group in poetry.get("group", {}).values():
        if isinstance(group, dict):
            found += list(group.get("dependencies", {}))
    return found


def _setup_cfg_requirements(sections: dict[str, dict[str, str]]) -> list[str]:
    options = sections.get("options", {})
    found = options.get("install_requires", "").splitlines()
    for extra in sections.get("options.extras_require", {}).values():
        found += extra.splitlines()
    return found


def load(root: Path, files: tuple[RepoFile, ...]) -> ProjectConfig:
    """Parse the root's configuration; a file that does not parse is treated as absent."""
    toml: dict[str, dict[str, Any]] = {}
    for name in TOML_FILES:
        text = read_text(root / name)
        if text is not None:
            with contextlib.suppress(tomllib.TOMLDecodeError):
                toml[name] = tomllib.loads(text)
    ini = {name: parsed for name in INI_FILES if (text := read_text(root / name)) and (parsed := _ini(text))}
    texts = {name: text for name in TEXT_FILES if (text := read_text(root / name)) is not None}
    json_files: dict[str, dict[str, Any]] = {}
    if (text := read_text(root / "pyrightconfig.json")) is not None:
        try:
            loaded = json.loads(text)
            if isinstance(loaded, dict):
                json_files["pyrightconfig.json"] = loaded
        except ValueError:
            pass
    requirements: dict[str, tuple[str, ...]] = {}
    if "pyproject.toml" in toml:
        requirements["pyproject.toml"] = tuple(_pyproject_requirements(toml["pyproject.toml"]))
    if "setup.cfg" in ini:
        requirements["setup.cfg"] = tuple(_setup_cfg_requirements(ini["setup.cfg"]))
    req_files = [f.path for f in files if re.fullmatch(r"(requirements[^/]*|requirements/[^/]+)\.(txt|in)", f.path)]
    for path in req_files[:10]:
        text = read_text(root / path) or ""
        requirements[path] = tuple(line for line in text.splitlines() if line.strip() and line[0] not in "#-")
    cleaned = {k: tuple(n for n in (requirement_name(s) for s in v) if n) for k, v in requirements.items()}
    try:
        root_names = frozenset(p.name for p in root.iterdir())
    except OSError:
        root_names = frozenset()
    return ProjectConfig(toml, ini, json_files, texts, root_names, {k: v for k, v in cleaned.items() if v})
