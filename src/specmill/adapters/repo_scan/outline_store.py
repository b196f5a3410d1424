"""Tree outlines (see `outline`) on disk: `outlines/<key>.marshal`, one per tree and code version.

The file is `marshal` of plain tuples, dicts, lists, strings, numbers and bytes after a header and
a CRC: loading it runs no code (never pickle), and a damaged, unreadable or foreign file is a miss,
never an error. What a brief reads for a few keys only stays marshalled until it is asked for: the
words and the symbol names in BUCKETS groups each (a brief reads a dozen of tens of thousands), the
symbols file by file (a brief shows a few hundred files).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import tempfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from specmill.adapters.repo_scan.graph import Graph
from specmill.adapters.repo_scan.outline import TreeOutline
from specmill.adapters.repo_scan.symbols import Symbol

KEEP_OUTLINES = 8
"""Outlines kept; the least recently used are deleted beyond this. Django's takes 7 MB."""
BUCKETS = 256
HEADER = b"specmill tree outline 1, marshal %d\n" % marshal.version

V = TypeVar("V")
_symbol = partial(tuple.__new__, Symbol)
"""A Symbol from its fields, without the Python-level constructor: a brief rebuilds thousands."""


def _bucket(key: str, buckets: int) -> int:
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % buckets


class _Buckets(Mapping[str, V]):
    """A mapping kept as marshalled groups of keys; a group is read back when one of its keys is asked for."""

    def __init__(self, groups: tuple[bytes, ...]) -> None:
        if not isinstance(groups, tuple) or not groups:
            raise TypeError("buckets are a non-empty tuple")
        self.groups = groups
        self._read: dict[int, dict[str, V]] = {}

    def _group(self, n: int) -> dict[str, V]:
        found = self._read.get(n)
        if found is None:
            found = self._read[n] = marshal.loads(self.groups[n])
        return found

    def __getitem__(self, key: str) -> V:
        return self._group(_bucket(key, len(self.groups)))[key]

    def __iter__(self) -> Iterator[str]:
        for n in range(len(self.groups)):
            yield from self._group(n)

    def __len__(self) -> int:
        return sum(len(self._group(n)) for n in range(len(self.groups)))


class _SymbolRows(Sequence["tuple[Symbol, ...] | None"]):
    """Each file's symbols, kept marshalled until the file is shown."""

    def __init__(self, rows: tuple[bytes | None, ...]) -> None:
        self.rows = rows

    def __getitem__(self, i: Any) -> Any:
        row = self.rows[i]
        return None if row is None else tuple(map(_symbol, marshal.loads(row)))

    def __len__(self) -> int:
        return len(self.rows)


def _grouped(values: Mapping[str, Any]) -> tuple[bytes, ...]:
    if isinstance(values, _Buckets):
        return values.groups
    groups: list[dict[str, Any]] = [{} for _ in range(BUCKETS)]
    for key in values:
        groups[_bucket(key, BUCKETS)][key] = values[key]
    return tuple(marshal.dumps(group) for group in groups)


def _rows(symbols: Sequence[tuple[Symbol, ...] | None]) -> tuple[bytes | None, ...]:
    if isinstance(symbols, _SymbolRows):
        return symbols.rows
    return tuple(None if found is None else marshal.dumps(tuple(map(tuple, found))) for found in symbols)


def save(path: Path, outline: TreeOutline) -> None:
    """Write `outline` atomically and keep the KEEP_OUTLINES most recently used; a failure only costs speed."""
    payload = marshal.dumps(
        (
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
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(HEADER + zlib.crc32(payload).to_bytes(4, "big") + payload)
        os.replace(tmp, path)
        kept = sorted(path.parent.glob("*.marshal"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    for old in kept[KEEP_OUTLINES:]:
        with contextlib.suppress(OSError):
            old.unlink()


def load(path: Path) -> TreeOutline | None:
    """The outline `save` wrote at `path`, or None when there is none or it is damaged."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    start = len(HEADER) + 4
    payload = memoryview(data)[start:]
    if data[: len(HEADER)] != HEADER or data[len(HEADER) : start] != zlib.crc32(payload).to_bytes(4, "big"):
        return None
    try:
        paths, notes, docstrings, rows, words, names, modules, graph, projects, with_python, anchors, layout = (
            marshal.loads(payload)
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
    except (EOFError, ValueError, TypeError):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # most recently used: pruned last
    return outline
