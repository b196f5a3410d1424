"""Centrality in the import graph, personalised toward the files the spec is about.

A file the spec names is the place to start, but the change usually also touches what
that file leans on and what leans on it. PageRank with a personalisation vector (the
walk restarts at spec-relevant files, not anywhere) scores exactly that: how close a file
is, through imports, to what the spec talks about, and how much other code depends on it.

Plain power iteration over sorted adjacency lists: no numpy or networkx, deterministic to
the last bit, and about 15 ms for Django's 2,900 files.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import sub
from typing import NamedTuple

DAMPING = 0.85
REVERSE_WEIGHT = 0.5
"""An importer is related to what it imports, but more weakly than the import is to its importer's task."""
MAX_ITERATIONS = 20
TOLERANCE = 1e-4
"""Stop when the scores move less than this in total: on Django's 2,900 files the first 100 files come
out in the same order as at 1e-6 and 40 iterations, in a fraction of the time."""


def import_edges(imports: Mapping[str, set[str]]) -> dict[str, dict[str, float]]:
    """Weighted out-edges: importer -> imported (1.0) and imported -> importer (REVERSE_WEIGHT)."""
    edges: dict[str, dict[str, float]] = {path: {} for path in imports}
    for importer in sorted(imports):
        for imported in sorted(imports[importer]):
            if imported == importer:
                continue
            edges.setdefault(imported, {})
            edges[importer][imported] = edges[importer].get(imported, 0.0) + 1.0
            edges[imported][importer] = edges[imported].get(importer, 0.0) + REVERSE_WEIGHT
    return edges


class Graph(NamedTuple):
    """The import graph ready for the power iteration: the files with an edge (sorted), those of them with
    no out-edge, and the out-edges of the others, normalised and grouped by weight. It depends on the
    tree alone, so the tree's outline keeps it (plain tuples, see `outline`)."""

    nodes: tuple[str, ...]
    dead_ends: tuple[int, ...]
    linked: tuple[tuple[int, tuple[tuple[float, tuple[int, ...]], ...]], ...]

    def pagerank(self, personalisation: Mapping[str, float]) -> dict[str, float]:
        """The connected files' scores (see `personalised_pagerank`)."""
        if not self.nodes:
            return {}
        total = sum(max(v, 0.0) for v in personalisation.values())
        if total > 0:
            restart = [max(personalisation.get(node, 0.0), 0.0) / total for node in self.nodes]
        else:
            restart = [1.0 / len(self.nodes)] * len(self.nodes)
        rank = list(restart)
        base = 1.0 - DAMPING
        damping = DAMPING
        for _ in range(MAX_ITERATIONS):
            # the same additions in the same order as the plain loop, so the scores are the same to the last bit:
            # a file's share times a weight is one product, added to each target with that weight
            dangling = sum(map(rank.__getitem__, self.dead_ends))
            teleport = base + damping * dangling
            spread = list(map(teleport.__mul__, restart))
            for i, groups in self.linked:
                share = damping * rank[i]
                for weight, targets in groups:
                    part = share * weight
                    for j in targets:
                        spread[j] += part
            change = sum(map(abs, map(sub, spread, rank)))
            rank = spread
            if change < TOLERANCE:
                break
        return dict(zip(self.nodes, rank))


def prepare(nodes: list[str], edges: Mapping[str, Mapping[str, float]]) -> Graph:
    """The graph of `nodes` with an import edge: a file nothing imports and that imports nothing has no
    centrality to speak of (it scores 0)."""
    linked = {node for node, targets in edges.items() if targets} | {t for ts in edges.values() for t in ts}
    connected = [node for node in nodes if node in linked]
    index = {node: i for i, node in enumerate(connected)}
    dead_ends: list[int] = []
    grouped: list[tuple[int, tuple[tuple[float, tuple[int, ...]], ...]]] = []
    for i, node in enumerate(connected):
        targets = edges.get(node, {})
        weight = sum(targets.values())
        out = [(index[t], w / weight) for t, w in sorted(targets.items()) if t in index] if weight else []
        if not out:
            dead_ends.append(i)
            continue
        by_weight: dict[float, list[int]] = {}
        for j, w in out:
            by_weight.setdefault(w, []).append(j)
        grouped.append((i, tuple((w, tuple(js)) for w, js in by_weight.items())))
    return Graph(tuple(connected), tuple(dead_ends), tuple(grouped))


def personalised_pagerank(
    nodes: list[str], edges: Mapping[str, Mapping[str, float]], personalisation: Mapping[str, float]
) -> dict[str, float]:
    """PageRank whose random walk restarts (and leaves dead ends) toward `personalisation`.

    Only files with an import edge take part (see `prepare`). With no personalisation among them it
    is ordinary PageRank (restart anywhere). Scores sum to 1 over the connected files.
    """
    ranks = dict.fromkeys(nodes, 0.0)
    ranks.update(prepare(nodes, edges).pagerank(personalisation))
    return ranks
