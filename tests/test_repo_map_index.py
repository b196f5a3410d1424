"""The on-disk index: a warm scan equals a cold one, and only changed files are parsed again."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from specmill.adapters.repo_map import RepoMapAnalyzer
from specmill.adapters.repo_scan import index as index_module
from specmill.adapters.repo_scan import marshal_files
from specmill.adapters.repo_scan.index import KEEP_TREES, Index, blob_id, git_blobs
from specmill.adapters.repo_scan.walk import walk
from tests.repo_map_samples import SERVICE, make_spec, write_repo

SPEC = make_spec("Delete a user", "Add `DELETE /users/{user_id}`.", ("Missing users give 404",))
HOUR_AGO = time.time() - 3600


def _age(root: Path) -> None:
    """Backdate every file, as an untouched checkout is: recent mtimes are never trusted (racy)."""
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (HOUR_AGO, HOUR_AGO))


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), *args],
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    )


@pytest.fixture
def service(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "svc", SERVICE)


def test_cold_warm_and_uncached_briefs_are_equal(service: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    plain = RepoMapAnalyzer().analyze(service, SPEC, 2500)
    cold = RepoMapAnalyzer(cache).analyze(service, SPEC, 2500)
    warm = RepoMapAnalyzer(cache).analyze(service, SPEC, 2500)
    assert plain == cold == warm
    assert len(list((cache / "trees").glob("*.marshal"))) == 1


def test_scan_through_the_index_equals_a_walk(service: Path, tmp_path: Path) -> None:
    cold = Index(tmp_path / "index").scan(service)
    warm = Index(tmp_path / "index").scan(service)
    assert cold.files == warm.files == walk(service).files
    assert len(cold.reparsed) == sum(1 for f in cold.files if f.is_python)
    assert warm.reparsed == ()


def test_only_the_changed_file_is_parsed_again(service: Path, tmp_path: Path) -> None:
    index = Index(tmp_path / "index")
    index.scan(service)
    users = service / "app" / "routers" / "users.py"
    users.write_text(users.read_text() + "\n\ndef delete_user(user_id: int) -> None: ...\n")
    (service / "app" / "audit.py").write_text("def record() -> None: ...\n")
    again = index.scan(service)
    assert again.reparsed == ("app/audit.py", "app/routers/users.py")
    by_path = {f.path: f for f in again.files}
    assert any(s.name == "delete_user" for s in by_path["app/routers/users.py"].facts.symbols)
    assert again.files == walk(service).files


def test_an_unchanged_stat_skips_reading_outside_git(service: Path, tmp_path: Path, monkeypatch) -> None:
    _age(service)
    index = Index(tmp_path / "index")
    index.scan(service)
    hashed: list[int] = []
    monkeypatch.setattr(index_module, "blob_id", lambda data: hashed.append(len(data)) or blob_id(data))
    assert index.scan(service).reparsed == ()
    assert hashed == []
    (service / "app" / "models.py").touch()  # new mtime, same bytes: read and hashed, not parsed
    assert index.scan(service).reparsed == ()
    assert len(hashed) == 1


def test_a_fresh_worktree_of_the_same_commit_parses_nothing(service: Path, tmp_path: Path) -> None:
    _git(service, "init", "-q")
    _git(service, "add", "-A")
    _git(service, "commit", "-q", "-m", "init")
    blobs = git_blobs(service)
    assert blobs["app/main.py"] == blob_id((service / "app" / "main.py").read_bytes())
    index = Index(tmp_path / "index")
    index.scan(service)
    clone = tmp_path / "clone"
    _git(service, "worktree", "add", "-q", str(clone))
    assert index.scan(clone).reparsed == ()
    (clone / "app" / "config.py").write_text("X = 1\n")
    assert "app/config.py" not in git_blobs(clone)
    assert index.scan(clone).reparsed == ("app/config.py",)


def test_a_damaged_cache_is_a_miss_not_an_error(service: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    first = Index(cache).scan(service)
    (tree,) = (cache / "trees").glob("*.marshal")
    (state,) = (cache / "roots").glob("*.marshal")
    good = tree.read_bytes()
    for damaged in (good[: len(good) // 2], good[:-1] + bytes([good[-1] ^ 1]), b"", b'{"parser": "x", "files": [['):
        tree.write_bytes(damaged)
        state.write_bytes(damaged)
        again = Index(cache).scan(service)
        assert again.files == first.files and len(again.reparsed) == len(first.reparsed)
    data = marshal_files.read(tree, index_module.TREE)
    data["files"] = [[blob, ["broken"]] for blob, _ in data["files"]]
    marshal_files.write(tree, index_module.TREE, data)
    shutil.rmtree(cache / "roots")
    assert Index(cache).scan(service).files == first.files
    marshal_files.write(tree, index_module.TREE, ["not", "a", "tree"])
    assert Index(cache).scan(service).files == first.files


def test_a_new_parser_never_reads_an_old_index(service: Path, tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "index"
    Index(cache).scan(service)
    monkeypatch.setattr(index_module, "_parser_fingerprint", lambda: "another-version")
    assert len(Index(cache).scan(service).reparsed) > 0


def test_old_trees_are_pruned(tmp_path: Path) -> None:
    cache = tmp_path / "index"
    root = write_repo(tmp_path / "repo", {"a.py": "A = 0\n"})
    for i in range(KEEP_TREES + 3):
        (root / "a.py").write_text(f"A = {i}\n")
        assert Index(cache).scan(root).reparsed == ("a.py",)
    assert len(list((cache / "trees").glob("*.marshal"))) == KEEP_TREES


@pytest.mark.parametrize("kind", ["huge-file", "no-python"])
def test_a_cached_brief_fits_its_budget_too(kind: str, tmp_path: Path) -> None:
    from tests.test_repo_map_budget import _repo

    (tmp_path / "repo").mkdir()
    root = _repo(kind, tmp_path / "repo")
    analyzer = RepoMapAnalyzer(tmp_path / "index")
    for budget in (200, 333, 1000, 4000):
        cached, plain = analyzer.analyze(root, SPEC, budget), RepoMapAnalyzer().analyze(root, SPEC, budget)
        assert cached == plain and cached.tokens <= budget
