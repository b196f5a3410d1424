"""RepoFile <-> JSON for the on-disk index.

JSON rather than pickle: the index lives in a data directory that other tools and people may
write to, and loading it must never run code. Word sets are stored as one space-joined
string each, which `json` reads and `str.split` splits at C speed; a warm scan of a
6,000-file tree spends most of its time here, so the format is kept flat.
"""

from __future__ import annotations

from typing import Any

from specmill.adapters.repo_scan.symbols import CallSite, ClassInfo, DecoratorUse, PyFacts, Symbol
from specmill.adapters.repo_scan.walk import RepoFile


def _words(items: frozenset[str]) -> str:
    return " ".join(sorted(items))


def encode(f: RepoFile) -> list[Any]:
    if f.facts is None:
        return [f.path, f.size, f.note]
    x = f.facts
    return [
        f.path,
        f.size,
        f.note,
        x.docstring,
        list(x.imports),
        [[s.text, s.name, s.lineno, s.parent, s.kind] for s in x.symbols],
        [[c.func, c.text, c.target] for c in x.calls],
        [[d.func, d.text, d.target] for d in x.decorators],
        [[c.name, list(c.bases), c.config] for c in x.classes],
        [list(a) for a in x.aliases],
        _words(x.identifiers),
        _words(x.words),
        _words(x.signature_words),
    ]


def decode(row: list[Any]) -> RepoFile:
    """The inverse of `encode`; raises (KeyError, IndexError, TypeError, ValueError) on a damaged row."""
    path, size, note = row[0], row[1], row[2]
    if len(row) == 3:
        return RepoFile(path, size, note=note)
    docstring, imports, symbols, calls, decorators, classes, aliases, identifiers, words, signature = row[3:]
    facts = PyFacts(
        docstring=docstring,
        imports=tuple(imports),
        symbols=tuple(Symbol(*s) for s in symbols),
        calls=tuple(CallSite(*c) for c in calls),
        decorators=tuple(DecoratorUse(*d) for d in decorators),
        classes=tuple(ClassInfo(name, tuple(bases), config) for name, bases, config in classes),
        aliases=tuple((a, b) for a, b in aliases),
        identifiers=frozenset(identifiers.split()),
        words=frozenset(words.split()),
        signature_words=frozenset(signature.split()),
    )
    return RepoFile(path, size, facts=facts, note=note)
