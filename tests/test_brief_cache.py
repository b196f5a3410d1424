"""Briefs and files made once: a repeated brief comes from the cache, and any change that could alter
it - a parsed file, a config file, the spec, the budget - makes it again; parsing on every core gives
the same facts as parsing in one process."""

from __future__ import annotations

import json
from pathlib import Path

from specmill.adapters.repo_map import RepoMapAnalyzer
from specmill.adapters.repo_scan import parallel
from specmill.adapters.repo_scan.index import Index
from specmill.adapters.repo_scan.walk import describe, list_files
from tests.repo_map_samples import SERVICE, make_spec, write_repo

SPEC = make_spec("Delete a user", "Add `DELETE /users/{user_id}`.", ("Missing users give 404",))


def _entries(index: Path) -> set[str]:
    return {p.name for p in (index / "briefs").glob("*.json")}


def test_a_repeated_brief_is_reused_and_any_change_makes_it_again(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", SERVICE)
    index = tmp_path / "index"
    analyzer = RepoMapAnalyzer(index)
    first = analyzer.analyze(root, SPEC, 2000)
    assert len(_entries(index)) == 1
    assert analyzer.analyze(root, SPEC, 2000) == first == RepoMapAnalyzer().analyze(root, SPEC, 2000)
    assert len(_entries(index)) == 1, "the same tree, spec and budget reuse the brief"

    analyzer.analyze(root, SPEC, 2001)
    analyzer.analyze(root, make_spec("Delete a tenant"), 2000)
    assert len(_entries(index)) == 3

    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.pytest.ini_options]\naddopts = "-q --strict-markers"\n')
    changed = analyzer.analyze(root, SPEC, 2000)
    assert changed == RepoMapAnalyzer().analyze(root, SPEC, 2000)
    assert len(_entries(index)) == 4, "a config file that is not parsed still keys the brief"

    (root / "app/main.py").write_text("def remove_account(user_id: int) -> None:\n    pass\n")
    edited = analyzer.analyze(root, SPEC, 2000)
    assert "remove_account" in edited.markdown and edited == RepoMapAnalyzer().analyze(root, SPEC, 2000)


def test_parsing_on_every_core_gives_the_facts_of_one_process(tmp_path: Path) -> None:
    files = {
        f"pkg/mod_{i}.py": f"class Thing{i}:\n    def run_{i}(self, n: int) -> int:\n        return n\n"
        for i in range(250)
    }
    files["pkg/broken.py"] = "def broken(:\n"
    root = write_repo(tmp_path, files)
    listed, _ = list_files(root)
    assert len(listed) >= parallel.MIN_PARALLEL_FILES
    shared = parallel.describe_all(root, listed, {})
    assert [f for f, _ in shared] == [describe(root, item) for item in listed]
    assert Index(tmp_path / "index").scan(root).files == tuple(sorted((f for f, _ in shared), key=lambda f: f.path))


def test_a_new_spec_on_a_known_tree_reuses_its_conventions(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", SERVICE)
    index = tmp_path / "index"
    analyzer = RepoMapAnalyzer(index)
    first = analyzer.analyze(root, SPEC, 2000)
    (entry,) = (index / "conventions").glob("*.json")
    assert [c.model_dump() for c in first.conventions] == json.loads(entry.read_text())
    entry.write_text(json.dumps([{"kind": "layout", "summary": "kept from the first brief", "files": []}]))
    assert "kept from the first brief" in analyzer.analyze(root, make_spec("Delete a tenant"), 2000).markdown
    entry.write_text("not json")
    assert analyzer.analyze(root, make_spec("Rename a tenant"), 2000).conventions == first.conventions
