"""Tree outlines (see `outline`) on disk: `outlines/<key>.marshal`, one per tree and code version.

A `marshal_files` file of plain tuples, dicts, lists, strings, numbers and bytes: loading it runs
no code, and a damaged, unreadable or foreign file is a miss, never an error. What a brief reads
for a few keys only stays marshalled until it is asked for: the words and the symbol names in
BUCKETS groups each (a brief reads a dozen of tens of thousands), the symbols file by file (a
brief shows a few hundred files).
"""

from __future__ import annotations

import contextlib
import marshal
import os
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from specmill.adapters.repo_scan import marshal_files
from specmill.adapters.repo_scan.graph import Graph
from specmill.adapters.repo_scan.outline import TreeOutline
from specmill.adapters.repo_scan.symbols import Symbol

KEEP_OUTLINES = 8
"""Outlines kept; the least recently used are deleted beyond this. Django's takes 8 MB."""
BUCKETS = 256
KIND = "tree outline 1"

V = TypeVar("V")
_symbol = partial(tuple.__new__, Symbol)
"""A Symbol from its fields, without the Python-level constructor: a brief rebuilds thousands."""


class _Buckets(Mapping[str, V]):
    """A mapping kept as marshalled groups of keys, by sorted key; a group is read back when one of its
    keys is asked for."""

    def __init__(self, stored: tuple[tuple[str, ...], tuple[bytes, ...]]) -> None:
        firsts, groups = stored
        if not isinstance(firsts, tuple) or not isinstance(groups, tuple) or len(firsts) != len(groups):
            raise TypeError("buckets are their first keys and their groups")
        self.stored = stored
        self._read: dict[int, dict[str, V]] = {}

    def _group(self, n: int) -> dict[str, V]:
        found = self._read.get(n)
        if found is None:
            found = self._read[n] = marshal.loads(self.stored[1][n])
        return found

    def __getitem__(self, key: str) -> V:
        n = bisect_right(self.stored[0], key) - 1
        if n < 0:
            raise KeyError(key)
        return self._group(n)[key]

    def __iter__(self) -> Iterator[str]:
        for n in range(len(self.stored[1])):
            yield from self._group(n)

    def __len__(self) -> int:
        return sum(len(self._group(n)) for n in range(len(self.stored[1])))


class _SymbolRows(Sequence["tuple[Symbol, ...] | None"]):
    """Each file's symbols, kept marshalled until the file is shown."""

    def __init__(self, rows: tuple[bytes | None, ...]) -> None:
        self.rows = rows

    def __getitem__(self, i: Any) -> Any:
        row = self.rows[i]
        return None if row is None else tuple(map(_symbol, marshal.loads(row)))

    def __len__(self) -> int:
        return len(self.rows)


def _grouped(values: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[bytes, ...]]:
    if isinstance(values, _Buckets):
        return values.stored
    keys = sorted(values)
    size = max(1, -(-len(keys) // BUCKETS))
    chunks = [keys[start : start + size] for start in range(0, len(keys), size)]
    return tuple(chunk[0] for chunk in chunks), tuple(
        marshal_files.dumps({k: values[k] for k in chunk}) for chunk in chunks
    )


def _rows(symbols: Sequence[tuple[Symbol, ...] | None]) -> tuple[bytes | None, ...]:
    if isinstance(symbols, _SymbolRows):
        return symbols.rows
    return tuple(None if found is None else marshal.dumps(tuple(map(tuple, found))) for found in symbols)


def save(path: Path, outline: TreeOutline) -> None:
    """Write `outline` and keep the KEEP_OUTLINES most recently used; a failure only costs speed."""
    fields = (
        outline.paths,
        outline.notes,
        outline.docstrings,
        _rows(outline.symbols),
        _grouped(outline.words),
        _grouped(outline.names),
        dict(outline.modules),
        tuple(outline.graph),
        outline.projects,
        outline.python_projects,
        outline.anchors,
        outline.layout,
    )
    if marshal_files.write(path, KIND, fields):
        marshal_files.prune(path.parent, KEEP_OUTLINES)


def load(path: Path) -> TreeOutline | None:
    """The outline `save` wrote at `path`, or None when there is none or it is damaged."""
    try:
        paths, notes, docstrings, rows, words, names, modules, graph, projects, with_python, anchors, layout = (
            marshal_files.read(path, KIND)
        )
        if not all(isinstance(x, tuple) for x in (paths, notes, docstrings, rows, graph, projects, layout)):
            return None
        if not (len(paths) == len(notes) == len(docstrings) == len(rows)) or not isinstance(modules, dict):
            return None
        outline = TreeOutline(
            paths=paths,
            notes=notes,
            docstrings=docstrings,
            symbols=_SymbolRows(rows),
            words=_Buckets(words),
            names=_Buckets(names),
            modules=modules,
            graph=Graph(*graph),
            projects=projects,
            python_projects=frozenset(with_python),
            anchors=frozenset(anchors),
            layout=layout,
        )
    except (ValueError, TypeError):  # nothing stored (None), or not an outline
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # most recently used: pruned last
    return outline
