"""Project-wide conventions: layout, entry points, frameworks, lint/format/type settings, test command."""

from __future__ import annotations

import re
from typing import Any

from specmill.adapters.repo_scan.repo import Repo, code, is_test_file, listing, plural
from specmill.models import Convention

FRAMEWORKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fastapi", ("fastapi",)),
    ("starlette", ("starlette",)),
    ("typer", ("typer",)),
    ("click", ("click",)),
    ("dbos", ("dbos",)),
    ("pydantic", ("pydantic",)),
    ("pydantic-settings", ("pydantic_settings",)),
    ("sqlalchemy", ("sqlalchemy",)),
    ("sqlmodel", ("sqlmodel",)),
    ("alembic", ("alembic",)),
    ("django", ("django",)),
    ("flask", ("flask",)),
    ("celery", ("celery",)),
    ("httpx", ("httpx",)),
    ("uvicorn", ("uvicorn",)),
    ("anthropic", ("anthropic",)),
    ("rich", ("rich",)),
    ("structlog", ("structlog",)),
    ("pytest", ("pytest",)),
    ("pytest-asyncio", ("pytest_asyncio",)),
    ("hypothesis", ("hypothesis",)),
)
"""(distribution name, import names) in the order the brief lists them."""


def detect_layout(repo: Repo) -> list[Convention]:
    inits = [f.path for f in repo.files if f.path.endswith("/__init__.py")]
    src = [p for p in inits if p.startswith("src/") and p.count("/") == 2]
    flat = [p for p in inits if p.count("/") == 1 and not p.startswith("src/")]
    tests = [p for p in flat if p.split("/")[0] in ("tests", "test")]
    flat = [p for p in flat if p not in tests]
    py_dirs = sorted({f.path.split("/")[0] for f in repo.files if f.is_python and "/" in f.path})
    loose = [d for d in py_dirs if d not in ("src", "tests", "test") and f"{d}/__init__.py" not in inits]
    parts: list[str] = []
    if src:
        parts.append("src layout: import packages under `src/`: " + listing([p.rsplit("/", 1)[0] + "/" for p in src]))
    if flat:
        packages = listing([p.split("/")[0] + "/" for p in flat])
        parts.append(("also " if src else "flat layout: ") + "packages at the root: " + packages)
    if loose:
        parts.append("Python dirs without `__init__.py`: " + listing([d + "/" for d in loose]))
    root_modules = [f.path for f in repo.files if f.is_python and "/" not in f.path]
    if root_modules and not (src or flat):
        parts.append("modules at the root: " + listing(root_modules))
    if tests:
        parts.append("test package " + listing([p.split("/")[0] + "/" for p in tests]))
    if not parts:
        parts.append("no Python code" if repo.files else "empty repository")
    return [Convention(kind="layout", summary="; ".join(parts), files=(src + flat + tests)[:12])]


def detect_entry_points(repo: Repo) -> list[Convention]:
    project = repo.config.pyproject.get("project", {})
    scripts: dict[str, Any] = dict(project.get("scripts", {}))
    scripts.update(repo.config.tool("poetry").get("scripts", {}))
    parts: list[str] = []
    files: list[str] = []
    by_target: dict[str, list[str]] = {}
    for name, target in sorted(scripts.items()):
        if isinstance(target, str):
            by_target.setdefault(target, []).append(name)
    for target, names in by_target.items():  # one line per target: `bm` and `basic-memory` may share one
        path = repo.resolve(target.split(":")[0])
        label = "console script" + ("s " if len(names) > 1 else " ") + ", ".join(code(n) for n in names)
        parts.append(f"{label} -> `{target}`" + (f" (`{path}`)" if path and path not in files else ""))
        files += [path] if path and path not in files else []
    for f in repo.files:
        if f.name == "__main__.py":
            module = f.path.removeprefix("src/").rsplit("/", 1)[0].replace("/", ".")
            parts.append(f"`python -m {module}` runs `{f.path}`")
            files.append(f.path)
    if not parts:
        return []
    return [Convention(kind="entry-points", summary="; ".join(parts[:6]), files=files[:12])]


def detect_frameworks(repo: Repo) -> list[Convention]:
    declared: dict[str, str] = {}
    for path, names in repo.config.requirements.items():
        for name in names:
            declared.setdefault(name, path)
    importers: dict[str, list[str]] = {}
    for f, facts in repo.parsed:
        for top in {i.split(".")[0] for i in facts.imports}:
            importers.setdefault(top, []).append(f.path)
    parts: list[str] = []
    files: list[str] = []
    for dist, imports in FRAMEWORKS:
        users = sorted({p for i in imports for p in importers.get(i, [])})
        where = declared.get(dist)
        if not where and not users:
            continue
        detail = [where] if where else ["not declared"]
        if users:
            detail.append(f"imported in {plural(len(users), 'file')}")
        parts.append(f"{dist} ({', '.join(detail)})")
        files.append(where or users[0])
    if not parts:
        return []
    return [Convention(kind="frameworks", summary=", ".join(parts), files=sorted(set(files)))]


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            if prefix.count(".") < 1:
                flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _render_settings(table: dict[str, Any], keys: tuple[str, ...], limit: int = 6) -> str:
    flat = _flatten(table)
    chosen = [k for k in keys if k in flat] or sorted(flat)[:4]
    shown = []
    for key in chosen[:limit]:
        value = flat[key]
        if isinstance(value, list):
            text = "[" + ", ".join(map(str, value[:8])) + (", ..." if len(value) > 8 else "") + "]"
        else:
            text = str(value)
        shown.append(f"{key}={' '.join(text.split())[:60]}")
    more = len(flat) - len(shown)
    return ", ".join(shown) + (f" (+{more} more)" if more > 0 else "")


_TOOLS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "lint",
        "ruff",
        (
            "line-length",
            "target-version",
            "src",
            "select",
            "extend-select",
            "ignore",
            "lint.select",
            "lint.extend-select",
            "lint.ignore",
            "format.quote-style",
        ),
    ),
    ("lint", "flake8", ("max-line-length", "select", "extend-select", "ignore", "extend-ignore")),
    ("format", "black", ("line-length", "target-version", "skip-string-normalization")),
    ("format", "isort", ("profile", "line_length", "known_first_party", "force_single_line")),
    (
        "types",
        "mypy",
        ("strict", "python_version", "disallow_untyped_defs", "plugins", "files", "ignore_missing_imports"),
    ),
    ("types", "pyright", ("typeCheckingMode", "pythonVersion", "include", "strict")),
)
_INI_SECTIONS = {
    "flake8": (("setup.cfg", "flake8"), ("tox.ini", "flake8"), (".flake8", "flake8")),
    "isort": ((".isort.cfg", "settings"), ("setup.cfg", "isort")),
    "mypy": (("mypy.ini", "mypy"), (".mypy.ini", "mypy"), ("setup.cfg", "mypy")),
}


def _tool_source(repo: Repo, tool: str) -> tuple[str, dict[str, Any]] | None:
    if table := repo.config.tool(tool):
        return f"pyproject.toml [tool.{tool}]", table
    if tool == "ruff":
        for name in ("ruff.toml", ".ruff.toml"):
            if name in repo.config.toml:
                return name, repo.config.toml[name]
    if tool == "pyright" and "pyrightconfig.json" in repo.config.json:
        return "pyrightconfig.json", repo.config.json["pyrightconfig.json"]
    for file, section in _INI_SECTIONS.get(tool, ()):
        if section in repo.config.ini.get(file, {}):
            return f"{file} [{section}]", repo.config.ini[file][section]
    return None


def detect_tooling(repo: Repo) -> list[Convention]:
    found: list[Convention] = []
    for kind, tool, keys in _TOOLS:
        source = _tool_source(repo, tool)
        if source is None:
            continue
        where, table = source
        settings = _render_settings(table, keys)
        summary = f"{tool} ({where})" + (f": {settings}" if settings else "")
        found.append(Convention(kind=kind, summary=summary, files=[where.split(" ")[0]]))
    hooks = re.findall(r"-\s*id:\s*([\w.-]+)", repo.config.texts.get(".pre-commit-config.yaml", ""))
    if hooks:
        found.append(
            Convention(
                kind="pre-commit",
                summary="pre-commit hooks: " + listing(sorted(set(hooks)), 8),
                files=[".pre-commit-config.yaml"],
            )
        )
    return found


def _pytest_config(repo: Repo) -> tuple[str, dict[str, Any]] | None:
    options = repo.config.tool("pytest").get("ini_options")
    if isinstance(options, dict):
        return "pyproject.toml [tool.pytest.ini_options]", options
    for file, section in (("pytest.ini", "pytest"), ("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        if section in repo.config.ini.get(file, {}):
            return f"{file} [{section}]", repo.config.ini[file][section]
    return None


def _make_target(text: str) -> str | None:
    match = re.search(r"^test[\w-]*:[^\n]*\n\t([^\n]+)", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def detect_test_command(repo: Repo) -> list[Convention]:
    names = repo.config.root_names
    prefix = next(
        (
            p
            for lock, p in (
                ("uv.lock", "uv run "),
                ("poetry.lock", "poetry run "),
                ("pdm.lock", "pdm run "),
                ("Pipfile.lock", "pipenv run "),
            )
            if lock in names
        ),
        "",
    )
    config = _pytest_config(repo)
    uses_pytest = (
        config is not None
        or any(
            "pytest" in facts.imports or any(i.startswith("pytest.") for i in facts.imports) for _, facts in repo.parsed
        )
        or any(is_test_file(f.path) or f.name == "conftest.py" for f in repo.files)
    )
    uses_unittest = any("unittest" in facts.imports for _, facts in repo.parsed)
    if not (uses_pytest or uses_unittest):
        return []
    command = f"{prefix}pytest" if uses_pytest else f"{prefix}python -m unittest"
    parts = [f"run {code(command)}"]
    files: list[str] = []
    if config is not None:
        where, options = config
        keys = [k for k in ("testpaths", "addopts", "asyncio_mode", "python_files") if k in options]
        detail = ", ".join(f"{k}={' '.join(str(options[k]).split())[:60]}" for k in keys)
        markers = options.get("markers", [])
        marker_lines = markers.splitlines() if isinstance(markers, str) else [str(m) for m in markers]
        marker_names = [m.split(":")[0].strip() for m in marker_lines if m.strip()]
        if marker_names:
            detail += ("; " if detail else "") + "markers " + listing(marker_names, 6, quote=False)
        parts.append(f"config in {where}" + (f": {detail}" if detail else ""))
        files.append(where.split(" ")[0])
    for file in ("Makefile", "justfile"):
        if (recipe := _make_target(repo.config.texts.get(file, ""))) is not None:
            parts.append(f"{file} target runs {code(recipe[:80])}")
            files.append(file)
    if "tox.ini" in names:
        parts.append("`tox` is configured (tox.ini)")
        files.append("tox.ini")
    if "noxfile.py" in names:
        parts.append("`nox` is configured (noxfile.py)")
        files.append("noxfile.py")
    return [Convention(kind="test-command", summary="; ".join(parts), files=files)]
