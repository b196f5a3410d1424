"""DirectoryWorkspace: the in-memory fake behaves like the git workspace where phases can tell."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from specmill.adapters.directory_workspace import DirectoryWorkspace
from specmill.errors import NotAGitRepository, UnknownRef
from specmill.models import WorkspaceState


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "calc").mkdir(parents=True)
    (root / "calc" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


@pytest.fixture
def workspace(tmp_path: Path) -> DirectoryWorkspace:
    return DirectoryWorkspace(tmp_path / "data")


@pytest.fixture
def state(workspace: DirectoryWorkspace, repo: Path) -> WorkspaceState:
    return workspace.prepare("run-1", str(repo), "specmill/x", None)


def test_prepare_snapshots_the_repo_without_git(workspace, state) -> None:
    assert state.base_commit == state.head_commit
    assert workspace.files(state.base_commit) == {"calc/__init__.py": "def add(a, b):\n    return a + b\n"}
    assert (Path(state.path) / "calc" / "__init__.py").exists()
    assert not (Path(state.path) / ".git").exists()


def test_prepare_is_idempotent(workspace, repo, state) -> None:
    root = workspace.checkout(state, state.base_commit)
    (root / "new.py").write_text("x = 1\n")
    head = workspace.commit_all(state, "new")
    (repo / "calc" / "__init__.py").write_text("changed meanwhile\n")
    again = workspace.prepare("run-1", str(repo), "specmill/x", None)
    assert again.base_commit == state.base_commit and again.head_commit == head


def test_bad_inputs(workspace, tmp_path, state) -> None:
    with pytest.raises(NotAGitRepository):
        workspace.prepare("r", str(tmp_path / "missing"), "b", None)
    with pytest.raises(UnknownRef, match="'nope'"):
        workspace.prepare("r", str(state.repo), "b", "nope")
    with pytest.raises(UnknownRef):
        workspace.checkout(state, "0" * 40)


def test_commits_are_content_addressed(workspace, state) -> None:
    root = workspace.checkout(state, state.base_commit)
    assert workspace.commit_all(state, "nothing") == state.base_commit
    (root / "a.txt").write_text("a\n")
    first = workspace.commit_all(state, "a")
    (root / "a.txt").unlink()
    assert workspace.commit_all(state, "back") == state.base_commit
    (root / "a.txt").write_text("a\n")
    assert workspace.commit_all(state, "again") == first
    assert workspace.tree_id(state, first) == first


def test_checkout_restores_exactly(workspace, state) -> None:
    root = workspace.checkout(state, state.base_commit)
    (root / "calc" / "__init__.py").write_text("half-writ")
    (root / "junk").mkdir()
    (root / "junk" / "x.py").write_text("")
    (root / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "run.sh", 0o755)
    os.symlink("calc", root / "link")
    head = workspace.commit_all(state, "stuff")

    workspace.checkout(state, state.base_commit)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["calc", "calc/__init__.py"]
    workspace.checkout(state, head)
    assert (root / "calc" / "__init__.py").read_text() == "half-writ"
    assert os.access(root / "run.sh", os.X_OK)
    assert os.readlink(root / "link") == "calc"


def test_missing_directory_is_recreated(workspace, state) -> None:
    root = workspace.checkout(state, state.base_commit)
    (root / "b.py").write_text("b = 2\n")
    head = workspace.commit_all(state, "b")
    shutil.rmtree(workspace.data_dir)
    assert (workspace.checkout(state, head) / "b.py").read_text() == "b = 2\n"


def test_diff_is_git_style(workspace, state) -> None:
    root = workspace.checkout(state, state.base_commit)
    (root / "calc" / "__init__.py").write_text("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b")
    (root / "new.txt").write_text("hello\n")
    (root / "blob.bin").write_bytes(b"\xff\xfe\0")
    diff = workspace.diff(state, workspace.commit_all(state, "sub"))
    assert "diff --git a/calc/__init__.py b/calc/__init__.py" in diff
    assert "+def sub(a, b):" in diff and "\\ No newline at end of file" in diff
    assert "--- /dev/null\n+++ b/new.txt\n" in diff
    assert "Binary files a/blob.bin and b/blob.bin differ" in diff
    assert workspace.diff(state, state.base_commit) == ""
