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
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter

from specmill.adapters.repo_scan.outline import TreeOutline
from specmill.adapters.repo_scan.repo import is_test_file
from specmill.adapters.repo_scan.symbols import Symbol
from specmill.adapters.repo_scan.words import STOP_WORDS, run_terms, stem, terms
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


def _prefixes(wanted: Iterable[str]) -> tuple[str, ...]:
    """A term's stem minus its last letter is in the lower-cased text of any word that folds to it."""
    return tuple({t[:-1] if len(t) > 3 else t for t in wanted})


Found = dict[int, tuple[set[str], set[str], set[str]]]
"""File (by index) -> the spec's terms it holds, those of them in its path, and those in its signatures."""


def _found_terms(outline: TreeOutline, wanted: Iterable[str]) -> Found:
    """Each file's share of the spec's terms, from the files each term occurs in.

    A path's terms count only when it may hold one of the spec's terms at all (`_prefixes`): the rule a
    file-by-file scan of the paths used to skip splitting most of them, kept so the scores stay the same."""
    may_hold = re.compile("|".join(map(re.escape, _prefixes(wanted)))).search
    held: dict[int, bool] = {}
    in_path: defaultdict[int, set[str]] = defaultdict(set)
    in_symbols: defaultdict[int, set[str]] = defaultdict(set)
    in_text: defaultdict[int, set[str]] = defaultdict(set)
    for term in wanted:
        by_path, by_symbols, by_text = outline.words.get(term, ((), (), ()))
        for i in by_path:
            holds = held.get(i)
            if holds is None:
                holds = held[i] = may_hold(outline.paths[i].rsplit(".", 1)[0].lower()) is not None
            if holds:
                in_path[i].add(term)
        for i in by_symbols:
            in_symbols[i].add(term)
        for i in by_text:
            in_text[i].add(term)
    none: set[str] = set()
    return {
        i: (
            in_text.get(i, none) | in_path.get(i, none) | in_symbols.get(i, none),
            in_path.get(i, none),
            in_symbols.get(i, none),
        )
        for i in in_text.keys() | in_path.keys() | in_symbols.keys()
    }


def _word_score(
    hits: Iterable[str], wanted: dict[str, float], idf: dict[str, float], in_path: set[str], in_symbols: set[str]
) -> float:
    score = 0.0
    for term in sorted(hits):
        where = PATH_WEIGHT if term in in_path else SYMBOL_WEIGHT if term in in_symbols else BODY_WEIGHT
        score += wanted[term] * idf.get(term, 0.0) * where
    return score


def _mentioned_files(outline: TreeOutline, names: frozenset[str]) -> dict[str, float]:
    """Files the spec names by path, by module (`pkg.mod`, `pkg.mod.attr`) or by a top-level symbol."""
    hits: Counter[str] = Counter()
    if not names:
        return {}
    by_suffix: dict[str, list[str]] = {}
    if any("/" in name or name.endswith(".py") for name in names):
        for path in outline.paths:
            parts = path.split("/")
            for i in range(len(parts)):
                by_suffix.setdefault("/".join(parts[i:]), []).append(path)
    for name in sorted(names):
        if "/" in name or name.endswith(".py"):
            candidates = by_suffix.get(name.lstrip("./"), [])
            if len(candidates) <= 3:
                hits.update({p: 1.0 for p in candidates})
        elif "." in name and (path := outline.resolve(name)):
            hits[path] += 1.0
    # `get_user`, `Theme.get_config` or `theme.get_config`: the files defining that symbol share the hit.
    # `bulk_update` and `QuerySet.bulk_update` both mentioned: the qualified one is meant (in every process alike)
    wanted = {name.rsplit(".", 1)[-1]: name for name in sorted(names, key=lambda n: (n.count("."), n))}
    definers: dict[str, set[str]] = {}
    for name, mention in wanted.items():
        owner = mention.rsplit(".", 2)[-2].lower() if "." in mention else ""
        for i, parent in outline.names.get(name, ()):
            if not parent or owner == parent.lower() or (not owner and "_" in name):
                definers.setdefault(mention, set()).add(outline.paths[i])
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
            found = set(run_terms(symbol.text, self._seen))
            score = sum(self.wanted[t] * self.idf.get(t, 1.0) for t in sorted(found) if t in self.wanted)
        if symbol.name and (
            symbol.name in self.mentioned or any(m.endswith("." + symbol.name) for m in self.mentioned)
        ):
            score += SYMBOL_MENTION
        return score


def rank(outline: TreeOutline, spec: Spec, anchors: Iterable[str]) -> Ranking:
    """Score every file; ties are broken by path so the order is reproducible."""
    wanted = spec_terms(spec)
    mentioned = mentioned_names(spec_text(spec))
    paths = outline.paths
    found = _found_terms(outline, wanted)
    df: Counter[str] = Counter()
    for hits, _, _ in found.values():
        df.update(hits)
    n = len(paths)
    idf = {t: math.log(1.0 + n / df[t]) for t in wanted if df[t]}
    words = [0.0] * n
    for i, (hits, in_path, in_symbols) in found.items():
        path = paths[i]
        factor = TEST_FACTOR if is_test_file(path) or path.rsplit("/", 1)[-1] == "conftest.py" else 1.0
        words[i] = _word_score(hits, wanted, idf, in_path, in_symbols) * factor
    best_words = max(words, default=0.0)
    mention_unit = MENTION_SHARE * max(best_words, 1.0)
    mentions = {p: mention_unit * m for p, m in _mentioned_files(outline, mentioned).items()}
    base = {path: words[i] + mentions.get(path, 0.0) for i, path in enumerate(paths)}
    nodes = sorted(paths)
    centrality = dict.fromkeys(nodes, 0.0)
    centrality.update(outline.graph.pagerank(base))
    top = max(centrality.values(), default=0.0)
    scale = PAGERANK_SHARE * max(max(base.values(), default=0.0), 1.0) / top if top else 0.0
    anchor_set = set(anchors)
    scored = [
        (path, round(base[path] + scale * centrality[path] + (ANCHOR_BONUS if path in anchor_set else 0.0), 3))
        for path in nodes
    ]
    scored.sort(key=itemgetter(1), reverse=True)  # stable: a tie keeps the order of `nodes`, by path
    return Ranking(scored, wanted, idf, mentioned)
