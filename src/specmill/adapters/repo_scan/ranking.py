"""Rank files and symbols by relevance to the spec.

A file's score has three parts:
- words: the spec's words it shares, weighted by rarity (a small tf-idf) and by where they
  occur: path, then signatures and docstrings, then the rest of the text;
- mentions: files and symbols the spec names verbatim (`app/routers/users.py`,
  `flask.json.provider`, `get_user`) - the strongest evidence there is;
- centrality: personalised PageRank over the import graph, restarting at the files the two
  parts above point to, so the code those files lean on (and the code leaning on them)
  comes next, ahead of files that merely share a common word.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from specmill.adapters.repo_scan.graph import import_edges, personalised_pagerank
from specmill.adapters.repo_scan.repo import Repo, is_test_file
from specmill.adapters.repo_scan.symbols import Symbol
from specmill.adapters.repo_scan.words import STOP_WORDS, stem, terms
from specmill.models import Spec

__all__ = ["STOP_WORDS", "Ranking", "rank", "spec_terms", "stem", "terms"]

PATH_WEIGHT, SYMBOL_WEIGHT, BODY_WEIGHT = 3.0, 1.5, 0.5
"""A spec word in a file's path says more than one in its signatures, which says more than one in its body."""
TEST_FACTOR = 0.8
"""Tests mirror the code they test; the code is what the spec changes, so it goes first on a tie."""
MENTION_SHARE = 1.0
"""A file the spec names gets the best word score on top of its own: naming beats sharing words."""
SYMBOL_MENTION = 100.0
"""A symbol the spec names goes before any symbol that only shares its words."""
PAGERANK_SHARE = 0.35
"""The most central file gets this share of the best word score on top of its own."""
ANCHOR_BONUS = 0.5
_MENTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:[./][A-Za-z_][A-Za-z0-9_]*)*(?:\.py)?")
_QUOTED = re.compile(r"`([^`\n]{1,200})`")


def spec_text(spec: Spec) -> str:
    return "\n".join([spec.title, spec.body, *(c.text for c in spec.criteria)])


def spec_terms(spec: Spec) -> dict[str, float]:
    """Term -> weight; the title counts thrice, and repetition helps only logarithmically."""
    counts: Counter[str] = Counter()
    for term in terms(spec.title):
        counts[term] += 3
    for text in [spec.body] + [c.text for c in spec.criteria]:
        counts.update(terms(text))
    return {t: 1.0 + math.log(n) for t, n in counts.items()}


def mentioned_names(text: str) -> frozenset[str]:
    """Identifiers the spec names on purpose: quoted in backticks, or shaped like code (`a_b`, `aB`, `a.b`)."""
    quoted = {m for q in _QUOTED.findall(text) for m in _MENTION.findall(q)}
    found: set[str] = set()
    for token in set(_MENTION.findall(text)) | quoted:
        codelike = "_" in token or "." in token or "/" in token or any(c.isupper() for c in token[1:])
        if (token in quoted or codelike) and len(token) > 2:
            found.add(token)
    return frozenset(found)


_LETTERS = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class FileTerms:
    path: frozenset[str]
    symbols: frozenset[str]
    body: frozenset[str]

    @property
    def all(self) -> frozenset[str]:
        return self.path | self.symbols | self.body


def _prefixes(wanted: Iterable[str]) -> tuple[str, ...]:
    """A term's stem minus its last letter is in the lower-cased text of any word that folds to it."""
    return tuple({t[:-1] if len(t) > 3 else t for t in wanted})


def file_terms(repo: Repo, wanted: Iterable[str] | None = None) -> dict[str, FileTerms]:
    """Each file's terms; with `wanted`, a path's terms only when it may hold one of them (the rest never score)."""
    may_hold = re.compile("|".join(map(re.escape, _prefixes(wanted)))).search if wanted is not None else None
    found = {}
    seen: dict[str, list[str]] = {}
    for f in repo.files:
        stem = f.path.rsplit(".", 1)[0]
        if may_hold is not None and not may_hold(stem.lower()):
            path_terms: frozenset[str] = frozenset()
        else:
            path_terms = frozenset(_run_terms(stem, seen))
        facts = f.facts
        if facts is None:
            found[f.path] = FileTerms(path_terms, frozenset(), frozenset())
        else:
            found[f.path] = FileTerms(path_terms, facts.signature_words, facts.words)
    return found


def _run_terms(text: str, seen: dict[str, list[str]]) -> list[str]:
    """`terms(text)`, the same list: a word never spans a non-letter, so each run of letters (a folder
    or a parameter name comes back often) is split once and kept in `seen`."""
    found: list[str] = []
    for run in _LETTERS.findall(text):
        split = seen.get(run)
        if split is None:
            split = seen[run] = terms(run)
        found += split
    return found


def _word_score(hits: Iterable[str], wanted: dict[str, float], idf: dict[str, float], ft: FileTerms) -> float:
    score = 0.0
    for term in sorted(hits):
        where = PATH_WEIGHT if term in ft.path else SYMBOL_WEIGHT if term in ft.symbols else BODY_WEIGHT
        score += wanted[term] * idf.get(term, 0.0) * where
    return score


def _mentioned_files(repo: Repo, names: frozenset[str]) -> dict[str, float]:
    """Files the spec names by path, by module (`pkg.mod`, `pkg.mod.attr`) or by a top-level symbol."""
    hits: Counter[str] = Counter()
    if not names:
        return {}
    by_suffix: dict[str, list[str]] = {}
    if any("/" in name or name.endswith(".py") for name in names):
        for f in repo.files:
            parts = f.path.split("/")
            for i in range(len(parts)):
                by_suffix.setdefault("/".join(parts[i:]), []).append(f.path)
    for name in sorted(names):
        if "/" in name or name.endswith(".py"):
            candidates = by_suffix.get(name.lstrip("./"), [])
            if len(candidates) <= 3:
                hits.update({p: 1.0 for p in candidates})
        elif "." in name and (path := repo.resolve(name)):
            hits[path] += 1.0
    # `get_user`, `Theme.get_config` or `theme.get_config`: the files defining that symbol share the hit.
    # `bulk_update` and `QuerySet.bulk_update` both mentioned: the qualified one is meant (in every process alike)
    wanted = {name.rsplit(".", 1)[-1]: name for name in sorted(names, key=lambda n: (n.count("."), n))}
    definers: dict[str, set[str]] = {}
    for f, facts in repo.parsed:
        for symbol in facts.symbols:
            mention = wanted.get(symbol.name)
            if mention is None:
                continue
            owner = mention.rsplit(".", 2)[-2].lower() if "." in mention else ""
            if not symbol.parent or owner == symbol.parent.lower() or (not owner and "_" in symbol.name):
                definers.setdefault(mention, set()).add(f.path)
    for name, paths in sorted(definers.items()):
        for path in paths:
            hits[path] += 1.0 / len(paths)
    return dict(hits)


@dataclass(frozen=True)
class Ranking:
    """Every file's score, best first, and what scoring a symbol needs."""

    files: list[tuple[str, float]]
    wanted: dict[str, float]
    idf: dict[str, float]
    mentioned: frozenset[str]

    @cached_property
    def prefixes(self) -> tuple[str, ...]:
        return _prefixes(self.wanted)

    @cached_property
    def _seen(self) -> dict[str, list[str]]:
        return {}

    def symbol_score(self, symbol: Symbol) -> float:
        """Spec words in the symbol's line, weighted by rarity; a symbol the spec names outranks them all."""
        lowered = symbol.text.lower()
        score = 0.0
        if any(prefix in lowered for prefix in self.prefixes):  # most symbols share no word: skip splitting them
            found = set(_run_terms(symbol.text, self._seen))
            score = sum(self.wanted[t] * self.idf.get(t, 1.0) for t in found if t in self.wanted)
        if symbol.name and (
            symbol.name in self.mentioned or any(m.endswith("." + symbol.name) for m in self.mentioned)
        ):
            score += SYMBOL_MENTION
        return score


def rank(repo: Repo, spec: Spec, anchors: Iterable[str]) -> Ranking:
    """Score every file; ties are broken by path so the order is reproducible."""
    wanted = spec_terms(spec)
    wanted_keys = frozenset(wanted)
    mentioned = mentioned_names(spec_text(spec))
    per_file = file_terms(repo, wanted)
    hits = {
        path: (wanted_keys & ft.path) | (wanted_keys & ft.symbols) | (wanted_keys & ft.body)
        for path, ft in per_file.items()
    }
    df: Counter[str] = Counter()
    for found in hits.values():
        df.update(found)
    n = len(per_file)
    idf = {t: math.log(1.0 + n / df[t]) for t in wanted if df[t]}
    words = {}
    for path, ft in per_file.items():
        factor = TEST_FACTOR if is_test_file(path) or path.rsplit("/", 1)[-1] == "conftest.py" else 1.0
        words[path] = _word_score(hits[path], wanted, idf, ft) * factor
    best_words = max(words.values(), default=0.0)
    mention_unit = MENTION_SHARE * max(best_words, 1.0)
    mentions = {p: mention_unit * m for p, m in _mentioned_files(repo, mentioned).items()}
    base = {path: words[path] + mentions.get(path, 0.0) for path in per_file}
    imports = {f.path: repo.imported_paths(facts) for f, facts in repo.parsed}
    nodes = sorted(per_file)
    centrality = personalised_pagerank(nodes, import_edges(imports), base)
    top = max(centrality.values(), default=0.0)
    scale = PAGERANK_SHARE * max(max(base.values(), default=0.0), 1.0) / top if top else 0.0
    anchor_set = set(anchors)
    scored = [
        (path, round(base[path] + scale * centrality[path] + (ANCHOR_BONUS if path in anchor_set else 0.0), 3))
        for path in nodes
    ]
    scored.sort(key=lambda item: (-item[1], item[0]))
    return Ranking(scored, wanted, idf, mentioned)
