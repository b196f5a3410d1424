"""What a brief reads from one tree, whatever the spec: built once per tree, so a new brief skips the scan.

A brief ranks every file by the spec's words, its mentions and the import graph, then shows the
best files' symbols. All of that but the spec's part depends on the tree alone: the files each
word occurs in (each file's words, turned round), the import graph ready for PageRank, each
file's symbols, the modules by dotted name, the sub-projects, anchors and layout lines. A new
spec or budget on a known tree then costs the spec's part only: on Django, the outline loads in
about 15 ms where a scan through the index took a hundred. `outline_store` keeps it on disk.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from specmill.adapters.repo_scan.graph import Graph, import_edges, prepare
from specmill.adapters.repo_scan.repo import Repo, listing, resolve_module
from specmill.adapters.repo_scan.symbols import Symbol
from specmill.adapters.repo_scan.walk import MAX_FILES, MAX_PARSE_BYTES
from specmill.adapters.repo_scan.words import run_terms

Postings = tuple[Sequence[int], Sequence[int], Sequence[int]]
"""The files (by index, ascending) holding a term in their path, in their signatures or docstring, in their text."""
Definitions = Sequence[tuple[int, str]]
"""The files (by index, ascending) defining a name, each with the class it is defined in ("" at module level)."""


class Shown(NamedTuple):
    """A file as the brief shows it: its line and its symbols."""

    path: str
    note: str
    docstring: str
    symbols: tuple[Symbol, ...]
    parsed: bool

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class TreeOutline:
    """Everything a brief reads from one tree; files by their index in `paths` (the `Repo.files` order)."""

    paths: tuple[str, ...]
    notes: tuple[str, ...]
    docstrings: tuple[str, ...]
    symbols: Sequence[tuple[Symbol, ...] | None]
    """Each file's symbols; None for a file that was not parsed."""
    words: Mapping[str, Postings]
    names: Mapping[str, Definitions]
    """Symbol name -> where it is defined."""
    modules: Mapping[str, str]
    """Dotted module name -> path (see `Repo.modules`)."""
    graph: Graph
    projects: tuple[str, ...]
    """Sub-project folders (see `projects.subprojects`)."""
    python_projects: frozenset[str]
    """The projects ("" for the main one) that hold Python files."""
    anchors: frozenset[str]
    """The main project's anchor files (see `detect_code.anchor_paths`)."""
    layout: tuple[str, ...]
    """The Layout section's own lines: files per folder, root files, big files."""

    @cached_property
    def _shown(self) -> dict[str, Shown]:
        return {}

    @cached_property
    def _index(self) -> dict[str, int]:
        return {path: i for i, path in enumerate(self.paths)}

    def shown(self, path: str) -> Shown:
        found = self._shown.get(path)
        if found is None:
            i = self._index[path]
            symbols = self.symbols[i]
            found = Shown(path, self.notes[i], self.docstrings[i], symbols or (), symbols is not None)
            self._shown[path] = found
        return found

    def resolve(self, dotted_name: str) -> str | None:
        """The file an import names (see `resolve_module`)."""
        return resolve_module(self.modules, dotted_name)


def outline_of(repo: Repo) -> TreeOutline:
    """The outline of a scanned tree: on Django, a tenth of a second over the scan."""
    # here: a brief from a stored outline needs neither
    from specmill.adapters.repo_scan.detect_code import anchor_paths
    from specmill.adapters.repo_scan.projects import main_project, python_projects, subprojects

    in_path: defaultdict[str, list[int]] = defaultdict(list)
    in_symbols: defaultdict[str, list[int]] = defaultdict(list)
    in_text: defaultdict[str, list[int]] = defaultdict(list)
    names: defaultdict[str, list[tuple[int, str]]] = defaultdict(list)
    folders: dict[str, set[str]] = {}
    seen: dict[str, list[str]] = {}
    for i, f in enumerate(repo.files):
        # a path's terms (see `ranking`): no word spans a "/", so a folder's terms are split once for all its files
        folder, _, rest = f.path.rsplit(".", 1)[0].rpartition("/")
        above = folders.get(folder)
        if above is None:
            above = folders[folder] = set(run_terms(folder, seen))
        for term in above.union(run_terms(rest, seen)):
            in_path[term].append(i)
        facts = f.facts
        if facts is None:
            continue
        for term in facts.signature_words:
            in_symbols[term].append(i)
        for term in facts.words:
            in_text[term].append(i)
        for symbol in facts.symbols:
            if symbol.name:
                names[symbol.name].append((i, symbol.parent))
    words = {
        term: (in_path.get(term, ()), in_symbols.get(term, ()), in_text.get(term, ()))
        for term in in_text.keys() | in_path.keys() | in_symbols.keys()
    }
    imports = {f.path: repo.imported_paths(facts) for f, facts in repo.parsed}
    projects = subprojects(repo)
    return TreeOutline(
        paths=tuple(f.path for f in repo.files),
        notes=tuple(f.note for f in repo.files),
        docstrings=tuple(f.facts.docstring if f.facts is not None else "" for f in repo.files),
        symbols=tuple(f.facts.symbols if f.facts is not None else None for f in repo.files),
        words=words,
        names=dict(names),
        modules=repo.modules,
        graph=prepare(sorted(f.path for f in repo.files), import_edges(imports)),
        projects=tuple(projects),
        python_projects=python_projects(repo, projects),
        anchors=frozenset(anchor_paths(main_project(repo, projects))),
        layout=tuple(layout_lines(repo)),
    )


def layout_lines(repo: Repo) -> list[str]:
    """File counts per top-level folder, the root's files, Python files too big to parse, a cut listing."""
    counts: dict[str, Counter[str]] = {}
    subdirs: dict[str, set[str]] = {}
    root_files: list[str] = []
    for f in repo.files:
        top, _, rest = f.path.partition("/")
        if not rest:
            root_files.append(f.path)
            continue
        counts.setdefault(top, Counter())["python" if f.is_python else "other"] += 1
        if "/" in rest:
            subdirs.setdefault(top, set()).add(rest.split("/")[0] + "/")
    lines = []
    for top, c in sorted(counts.items()):
        line = f"- `{top}/`: {c['python'] + c['other']} files ({c['python']} Python)"
        if subdirs.get(top):
            line += "; subfolders " + listing(sorted(subdirs[top]), 8)
        lines.append(line)
    if root_files:
        lines.append("- root files: " + listing(root_files, 15))
    big = [f.path for f in repo.files if f.is_python and f.size > MAX_PARSE_BYTES]
    if big:
        lines.append(f"- Python files over {MAX_PARSE_BYTES // 1000} KB, not parsed: " + listing(big, 5))
    if repo.truncated:
        lines.append(f"- listing stopped after {MAX_FILES} files")
    return lines
