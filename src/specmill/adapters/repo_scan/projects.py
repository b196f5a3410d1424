"""Which project of a repository the spec is about, so conventions come from that project alone.

A real repository often holds more than its package: a benchmark suite with its own
`pyproject.toml`, examples, docs, vendored code, plugins with their own build. Their CLIs,
tests and layouts are not where new code for the package goes, so the convention detectors see
one project at a time:
- the main project: every file outside a sub-project;
- a sub-project: a folder (not the root) with its own `pyproject.toml`, `setup.py` or
  `setup.cfg`; a top-level `benchmarks/`, `examples/`, `docs/` (and the like); or any folder
  named `vendor`, `_vendor`, `third_party`.

The spec is about the sub-project that holds most of the score of the top-ranked files, and
about the main project otherwise (or on a tie). A sub-project is seen from its own folder:
its paths are relative to it, and its configuration is its own.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from specmill.adapters.repo_scan.repo import Repo, code, listing
from specmill.adapters.repo_scan.walk import RepoFile
from specmill.models import Convention

PROJECT_FILES = frozenset({"pyproject.toml", "setup.py", "setup.cfg"})
ASIDE_TOP_DIRS = frozenset(
    {"benchmarks", "benchmark", "bench", "examples", "example", "docs", "doc", "samples", "sample", "demo", "demos"}
    | {"integrations", "plugins", "contrib", "scripts"}
)
"""Top-level folders that are never the package, whether or not they have a project file."""
VENDORED_DIRS = frozenset({"vendor", "vendored", "_vendor", "third_party", "thirdparty", "external"})
TOP_FILES = 10
"""How many of the best-ranked files vote for the project the spec is about."""


def subprojects(repo: Repo) -> list[str]:
    """Folders (repository-relative, no trailing slash) that are projects of their own, outermost first."""
    found: set[str] = set()
    for f in repo.files:
        folder, _, name = f.path.rpartition("/")
        if folder and name in PROJECT_FILES:
            found.add(folder)
        parts = folder.split("/") if folder else []
        if parts and parts[0] in ASIDE_TOP_DIRS:
            found.add(parts[0])
        for i, part in enumerate(parts):
            if part in VENDORED_DIRS:
                found.add("/".join(parts[: i + 1]))
                break
    outermost = [d for d in sorted(found) if not any(d.startswith(o + "/") for o in found if o != d)]
    return outermost


def owner(path: str, projects: Sequence[str]) -> str:
    """The sub-project folder a path lies in, or "" for the main project."""
    return next((p for p in projects if path.startswith(p + "/")), "")


def main_project(repo: Repo, projects: list[str] | None = None) -> Repo:
    """The repository without its sub-projects."""
    projects = subprojects(repo) if projects is None else projects
    if not projects:
        return repo
    return replace(repo, files=tuple(f for f in repo.files if not owner(f.path, projects)))


def focus(repo: Repo, folder: str, main: Repo | None = None, projects: list[str] | None = None) -> Repo:
    """The project at `folder` ("" for the main project; see `focus_folder`) as a Repo of its own; its
    `subproject` says which folder it is.

    `main` is `main_project(repo)` and `projects` is `subprojects(repo)` when the caller has them already."""
    projects = subprojects(repo) if projects is None else projects
    if not projects:
        return repo
    if folder == "":
        return main if main is not None else main_project(repo, projects)
    from specmill.adapters.repo_scan.configs import load  # here: a brief from a tree's outline reads no config

    prefix = folder + "/"
    inner = subprojects_within(repo, folder)
    files = tuple(
        RepoFile(f.path[len(prefix) :], f.size, f.facts, f.note)
        for f in repo.files
        if f.path.startswith(prefix) and not owner(f.path, inner)
    )
    root = repo.root / folder
    return Repo(root, files, load(root, files), subproject=folder)


def python_projects(repo: Repo, projects: list[str]) -> frozenset[str]:
    """The projects ("" for the main one) holding Python files: conventions are read from Python code."""
    return frozenset(owner(f.path, projects) for f in repo.files if f.is_python)


def focus_folder(ranked: list[tuple[str, float]], projects: Sequence[str], with_python: Collection[str]) -> str:
    """The folder of the project the spec is about ("" for the main project): the one that holds most of the
    score of the best-ranked files, among the projects `with_python` (see `python_projects`)."""
    votes: dict[str, float] = {}
    for path, score in ranked[:TOP_FILES]:
        project = owner(path, projects)
        if project in with_python:
            votes[project] = votes.get(project, 0.0) + score
    chosen = max(votes, key=lambda p: (votes[p], p == ""), default="")
    return "" if chosen == "" or votes[chosen] <= votes.get("", 0.0) else chosen


def subprojects_within(repo: Repo, folder: str) -> list[str]:
    """Sub-projects nested inside `folder` (its own `pyproject.toml` excepted)."""
    prefix = folder + "/"
    nested: set[str] = set()
    for f in repo.files:
        if not f.path.startswith(prefix):
            continue
        inner, _, name = f.path[len(prefix) :].rpartition("/")
        if inner and name in PROJECT_FILES:
            nested.add(prefix + inner)
    return sorted(nested)


def project_note(repo: Repo, project: Repo, projects: list[str] | None = None) -> list[Convention]:
    """One layout line that says which project the conventions describe and which folders are aside."""
    projects = subprojects(repo) if projects is None else projects
    if not projects:
        return []
    aside = listing([p + "/" for p in projects if p != project.subproject], 6)
    if project.subproject:
        summary = (
            f"the spec is about the sub-project {code(project.subproject + '/')}: the conventions below are its own, "
            f"with paths relative to it; other sub-projects: {aside}"
        )
    else:
        summary = f"sub-projects, not the place for the package's code: {aside}"
    return [Convention(kind="layout", summary=summary, files=[])]
