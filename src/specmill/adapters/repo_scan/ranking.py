"""Rank files by how much they share with the spec's words, weighted by rarity (a small tf-idf)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from specmill.adapters.repo_scan.repo import Repo, is_test_file
from specmill.models import Spec

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
STOP_WORDS = frozenset(
    """a an the and or but if then else when while of to in on at by for with from into onto as is are was
    were be been being it its this that these those there here we you they them our your their not no yes do
    does did done can could should would will shall may might must have has had so such than too very also just
    only each every any all some more most other same new add adds added adding use uses used using make makes
    ensure allow allows support supports given via per about after before over under up out which who what
    where why how one two get gets set sets let lets like need needs want wants way able etc eg ie py""".split()
)
PATH_WEIGHT, SYMBOL_WEIGHT, BODY_WEIGHT = 3.0, 1.5, 0.5
"""A spec word in a file's path says more than one in its signatures, which says more than one in its body."""
TEST_FACTOR = 0.8
"""Tests mirror the code they test; the code is what the spec changes, so it goes first on a tie."""
NEIGHBOUR_SHARE = 0.2
ANCHOR_BONUS = 0.5


def stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """camelCase and snake_case split, lower-cased, stop words and one-letter words dropped, plurals folded."""
    out = []
    for raw in _WORD.findall(text):
        word = raw.lower()
        if len(word) > 1 and word not in STOP_WORDS:
            out.append(stem(word))
    return out


def spec_terms(spec: Spec) -> dict[str, float]:
    """Term -> weight; the title counts thrice, and repetition helps only logarithmically."""
    counts: Counter[str] = Counter()
    for term in terms(spec.title):
        counts[term] += 3
    for text in [spec.body] + [c.text for c in spec.criteria]:
        counts.update(terms(text))
    return {t: 1.0 + math.log(n) for t, n in counts.items()}


@dataclass(frozen=True)
class FileTerms:
    path: frozenset[str]
    symbols: frozenset[str]
    body: frozenset[str]

    @property
    def all(self) -> frozenset[str]:
        return self.path | self.symbols | self.body


def file_terms(repo: Repo) -> dict[str, FileTerms]:
    found = {}
    for f in repo.files:
        path_terms = frozenset(terms(f.path.rsplit(".", 1)[0].replace("/", " ")))
        symbols: set[str] = set()
        body: set[str] = set()
        if f.facts is not None:
            symbols.update(terms(f.facts.docstring))
            for symbol in f.facts.symbols:
                symbols.update(terms(symbol.text))
            for ident in f.facts.identifiers:
                body.update(terms(ident))
        found[f.path] = FileTerms(path_terms, frozenset(symbols), frozenset(body))
    return found


def _base_score(wanted: dict[str, float], idf: dict[str, float], ft: FileTerms) -> float:
    score = 0.0
    for term in sorted(wanted):
        if term in ft.path:
            where = PATH_WEIGHT
        elif term in ft.symbols:
            where = SYMBOL_WEIGHT
        elif term in ft.body:
            where = BODY_WEIGHT
        else:
            continue
        score += wanted[term] * idf.get(term, 0.0) * where
    return score


def rank(repo: Repo, spec: Spec, anchors: Iterable[str]) -> list[tuple[str, float]]:
    """(path, score) for every file, best first; ties broken by path so the order is reproducible."""
    wanted = spec_terms(spec)
    per_file = file_terms(repo)
    df: Counter[str] = Counter()
    for ft in per_file.values():
        df.update(t for t in ft.all if t in wanted)
    n = len(per_file)
    idf = {t: math.log(1.0 + n / df[t]) for t in wanted if df[t]}
    base = {}
    for path, ft in per_file.items():
        factor = TEST_FACTOR if is_test_file(path) or path.rsplit("/", 1)[-1] == "conftest.py" else 1.0
        base[path] = _base_score(wanted, idf, ft) * factor
    neighbours: dict[str, set[str]] = {p: set() for p in base}
    for f, facts in repo.parsed:
        for other in repo.imported_paths(facts):
            if other != f.path:
                neighbours[f.path].add(other)
                neighbours[other].add(f.path)
    anchor_set = set(anchors)
    scored = []
    for path in base:
        bonus = NEIGHBOUR_SHARE * max((base[o] for o in neighbours[path]), default=0.0)
        bonus += ANCHOR_BONUS if path in anchor_set else 0.0
        scored.append((path, round(base[path] + bonus, 3)))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored


def symbol_relevance(text: str, wanted: dict[str, float]) -> float:
    return sum(wanted.get(t, 0.0) for t in sorted(set(terms(text))))
