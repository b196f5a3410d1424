"""The tree outline: stored and read back it gives the same brief, a damaged file is a miss, and the
grouped PageRank is the textbook power iteration to the last bit."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import pytest

from specmill.adapters.repo_map import RepoMapAnalyzer
from specmill.adapters.repo_scan import brief_cache, marshal_files, outline_store
from specmill.adapters.repo_scan.graph import DAMPING, MAX_ITERATIONS, TOLERANCE, import_edges, prepare
from specmill.adapters.repo_scan.outline import TreeOutline, outline_of
from specmill.adapters.repo_scan.repo import scan
from tests.repo_map_samples import SERVICE, make_spec, write_repo

SPEC = make_spec("Delete a user", "Add `DELETE /users/{user_id}` beside `get_user` in app/routers/users.py.")


@pytest.fixture
def service(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "svc", SERVICE)


def _read_back(outline: TreeOutline, path: Path) -> TreeOutline:
    outline_store.save(path, outline)
    loaded = outline_store.load(path)
    assert loaded is not None
    return loaded


def test_a_stored_outline_reads_back_the_same(service: Path, tmp_path: Path) -> None:
    built = outline_of(scan(service))
    loaded = _read_back(built, tmp_path / "outlines" / "tree.marshal")
    assert loaded.paths == built.paths and loaded.notes == built.notes and loaded.docstrings == built.docstrings
    assert list(loaded.symbols) == list(built.symbols)
    assert {t: tuple(map(tuple, p)) for t, p in loaded.words.items()} == {
        t: tuple(map(tuple, p)) for t, p in built.words.items()
    }
    assert {n: list(d) for n, d in loaded.names.items()} == {n: list(d) for n, d in built.names.items()}
    assert loaded.words.get("no-such-term") is None and "user" in loaded.words
    assert dict(loaded.modules) == dict(built.modules) and loaded.graph == built.graph
    assert (loaded.projects, loaded.python_projects, loaded.anchors, loaded.layout) == (
        built.projects,
        built.python_projects,
        built.anchors,
        built.layout,
    )


def test_a_brief_from_a_stored_outline_is_the_brief_made_from_a_scan(service: Path, tmp_path: Path) -> None:
    analyzer = RepoMapAnalyzer(tmp_path / "index")
    analyzer.analyze(service, SPEC, 3000)  # scans, and keeps the outline
    assert len(list((tmp_path / "index" / "outlines").glob("*.marshal"))) == 1
    for budget in (400, 1500, 6000):
        assert analyzer.analyze(service, SPEC, budget) == RepoMapAnalyzer().analyze(service, SPEC, budget)
    other = make_spec("List tenants", "The `list_tenants` command prints them.")
    assert analyzer.analyze(service, other, 2000) == RepoMapAnalyzer().analyze(service, other, 2000)


@pytest.mark.parametrize(
    "damage", ["truncated", "flipped", "header", "other-kind", "empty", "not-marshal", "wrong-shape", "folder"]
)
def test_a_damaged_outline_is_a_miss_not_an_error(damage: str, service: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    analyzer = RepoMapAnalyzer(index)
    first = analyzer.analyze(service, SPEC, 2000)
    (stored,) = (index / "outlines").glob("*.marshal")
    data = stored.read_bytes()
    if damage == "truncated":
        stored.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        stored.write_bytes(data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:])
    elif damage == "header":
        stored.write_bytes(b"x" + data[1:])
    elif damage == "other-kind":
        marshal_files.write(stored, "index tree 1", marshal_files.read(stored, outline_store.KIND))
    elif damage == "empty":
        stored.write_bytes(b"")
    elif damage == "not-marshal":
        payload = b"\xff\x00garbage"
        stored.write_bytes(marshal_files.header(outline_store.KIND) + zlib.crc32(payload).to_bytes(4, "big") + payload)
    elif damage == "wrong-shape":
        marshal_files.write(stored, outline_store.KIND, ("paths", 1))
    else:
        stored.unlink()
        stored.mkdir()
    assert outline_store.load(stored) is None
    for budget in (2100, 2000):  # a brief made again, and one from the brief cache
        assert analyzer.analyze(service, SPEC, budget) == RepoMapAnalyzer().analyze(service, SPEC, budget)
    assert analyzer.analyze(service, SPEC, 2000) == first
    if damage != "folder":
        assert outline_store.load(stored) is not None, "the outline is written again"
    assert not list((index / "outlines").glob(".tmp-*"))


def test_new_code_never_reads_an_old_outline(service: Path, tmp_path: Path, monkeypatch) -> None:
    index = tmp_path / "index"
    RepoMapAnalyzer(index).analyze(service, SPEC, 2000)
    monkeypatch.setattr(brief_cache, "_code_fingerprint", lambda: "another-version")
    RepoMapAnalyzer(index).analyze(service, SPEC, 2000)
    assert len(list((index / "outlines").glob("*.marshal"))) == 2


def test_old_outlines_are_pruned(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", {"a.py": "A = 0\n"})
    built = outline_of(scan(root))
    for i in range(outline_store.KEEP_OUTLINES + 3):
        outline_store.save(tmp_path / "outlines" / f"{i}.marshal", built)
    assert len(list((tmp_path / "outlines").glob("*.marshal"))) == outline_store.KEEP_OUTLINES


def _textbook_pagerank(nodes: list[str], edges: dict[str, dict[str, float]], personal: dict[str, float]) -> list[float]:
    """The plain power iteration, one edge at a time, as the ranking was first written."""
    linked = {n for n, ts in edges.items() if ts} | {t for ts in edges.values() for t in ts}
    nodes = [n for n in nodes if n in linked]
    index = {n: i for i, n in enumerate(nodes)}
    total = sum(max(v, 0.0) for v in personal.values())
    restart = [max(personal.get(n, 0.0), 0.0) / total for n in nodes]
    out = []
    for n in nodes:
        weight = sum(edges.get(n, {}).values())
        out.append([(index[t], w / weight) for t, w in sorted(edges.get(n, {}).items())] if weight else [])
    rank = list(restart)
    for _ in range(MAX_ITERATIONS):
        teleport = (1.0 - DAMPING) + DAMPING * sum(rank[i] for i, ts in enumerate(out) if not ts)
        spread = [teleport * r for r in restart]
        for i, targets in enumerate(out):
            for j, w in targets:
                spread[j] += DAMPING * rank[i] * w
        change = sum(abs(a - b) for a, b in zip(spread, rank))
        rank = spread
        if change < TOLERANCE:
            break
    return rank


def test_the_grouped_power_iteration_is_the_textbook_one_to_the_last_bit() -> None:
    rng = random.Random(7)
    nodes = [f"m{i:03d}" for i in range(300)]
    imports = {n: {rng.choice(nodes) for _ in range(rng.randint(0, 6))} for n in nodes}
    edges = import_edges(imports)
    personal = {n: rng.random() * 5 for n in rng.sample(nodes, 20)}
    graph = prepare(nodes, edges)
    assert list(graph.pagerank(personal).values()) == _textbook_pagerank(nodes, edges, personal)
