"""One scanned repository: its files, their parsed facts and its configuration, for the detectors."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from specmill.adapters.repo_scan.index import Index, Plan
from specmill.adapters.repo_scan.symbols import PyFacts
from specmill.adapters.repo_scan.walk import RepoFile, module_name, walk

if TYPE_CHECKING:
    from specmill.adapters.repo_scan.configs import ProjectConfig


@dataclass(frozen=True)
class Repo:
    root: Path
    files: tuple[RepoFile, ...]
    config: ProjectConfig
    truncated: bool = False
    reparsed: tuple[str, ...] = ()
    subproject: str = ""
    """For a view of one sub-project (see `projects`): its folder in the repository; paths are relative to it."""

    @cached_property
    def parsed(self) -> list[tuple[RepoFile, PyFacts]]:
        return [(f, f.facts) for f in self.files if f.facts is not None]

    @cached_property
    def modules(self) -> dict[str, str]:
        """Dotted module name -> path, so imports can be followed to files.

        A file is known by its path (minus `src/`) and by its `__init__.py` chain, so
        `from greeting.routers import hello` finds `examples/svc/greeting/routers/hello.py`.
        """
        packages = {dirname(f.path) for f in self.files if f.name == "__init__.py"}
        names: dict[str, str] = {}
        for f in self.files:
            if not f.is_python:
                continue
            names.setdefault(module_name(f.path)[0], f.path)
            parts = f.path[: -len(".py")].split("/")
            start = len(parts) - 1
            while start > 0 and "/".join(parts[:start]) in packages:
                start -= 1
            chain = parts[start:-1] if parts[-1] == "__init__" else parts[start:]
            if chain:
                names.setdefault(".".join(chain), f.path)
        return names

    def resolve(self, dotted_name: str) -> str | None:
        return resolve_module(self.modules, dotted_name)

    def imported_paths(self, facts: PyFacts) -> set[str]:
        """The files `facts` imports (see `resolve`, inlined: a large tree resolves tens of thousands of names)."""
        modules = self.modules
        found = set()
        for name in facts.imports:
            path = modules.get(name)
            if path is None and (head := name.rpartition(".")[0]):
                path = modules.get(head)
            if path is not None:
                found.add(path)
        return found


def scan(root: Path, cache_dir: Path | None = None, plan: Plan | None = None) -> Repo:
    """The repository's files and facts; with `cache_dir`, through the on-disk index (see `index`).

    The cyclic garbage collector is paused meanwhile: parsing, or rebuilding ~100,000 small records
    from the index, otherwise sets off full collections that cost a third of the scan. Neither
    creates reference cycles, so nothing waits longer to be freed.
    """
    from specmill.adapters.repo_scan.configs import load  # here: a brief from a tree's outline reads no config

    paused = gc.isenabled()
    gc.disable()
    try:
        tree = Index(cache_dir).scan(root, plan) if cache_dir is not None else walk(root)
    finally:
        if paused:
            gc.enable()
    return Repo(root, tree.files, load(root, tree.files), tree.truncated, tree.reparsed)


def code(text: str) -> str:
    return f"`{text}`"


def listing(items: list[str], limit: int = 4, quote: bool = True) -> str:
    """`a`, `b`, `c` and 3 more: names in a summary stay short however large the repository."""
    shown = [code(i) if quote else i for i in items[:limit]]
    rest = len(items) - limit
    return ", ".join(shown) + (f" and {rest} more" if rest > 0 else "")


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def dirname(path: str) -> str:
    return path.rpartition("/")[0] or "."


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def resolve_module(modules: Mapping[str, str], dotted_name: str) -> str | None:
    """The file an import names: the module itself, or the module an imported attribute lives in."""
    if dotted_name in modules:
        return modules[dotted_name]
    head = dotted_name.rpartition(".")[0]
    return modules.get(head) if head else None
