"""The file tools may read but never change how the tests run, CI, or the playbooks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specmill.phases.file_tools import run_editor_command
from specmill.phases.protected_paths import DEFAULT_PROTECTED

PYPROJECT = """[project]
name = "calc"
dependencies = []

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.ruff]
line-length = 100
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    for rel, text in {
        "pytest.ini": "[pytest]\naddopts = -q\n",
        "pyproject.toml": PYPROJECT,
        "setup.cfg": "[metadata]\nname = calc\n\n[tool:pytest]\naddopts = -q\n",
        ".github/workflows/ci.yml": "on: push\n",
        "workflows/python-developer.md": "---\nname: x\n---\nBe good.\n",
        "calc.py": "x = 1\n",
    }.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    return repo


def run(root: Path, protected: list[str] | None = None, **tool_input: object):
    return run_editor_command(root, dict(tool_input), protected=protected)


@pytest.mark.parametrize(
    "path",
    [
        "pytest.ini",
        "/pytest.ini",
        ".github/workflows/ci.yml",
        ".GitHub/workflows/ci.yml",
        ".github/workflows/new.yml",
        "workflows/python-developer.md",
        "tox.ini",
        "Jenkinsfile",
    ],
)
def test_protected_paths_can_be_read_but_not_changed(root: Path, path: str) -> None:
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    for tool_input in (
        {"command": "create", "path": path, "file_text": "[pytest]\naddopts = -k 'not slow'\n"},
        {"command": "str_replace", "path": path, "old_str": "a", "new_str": "b"},
        {"command": "insert", "path": path, "insert_line": 0, "insert_text": "# hi\n"},
    ):
        result = run(root, **tool_input)
        assert result.is_error and not result.changed and "is protected" in result.text, (path, tool_input)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    assert not (root / ".github" / "workflows" / "new.yml").exists() and not (root / "tox.ini").exists()
    if (root / path.lstrip("/")).exists() and path == path.lower():
        assert not run(root, command="view", path=path).is_error


def test_a_symlink_to_a_protected_path_is_protected_too(root: Path) -> None:
    os.symlink("pytest.ini", root / "settings.ini")
    os.symlink(".github", root / "ci")
    for path in ("settings.ini", "ci/workflows/ci.yml"):
        result = run(root, command="create", path=path, file_text="changed\n")
        assert result.is_error and "is protected" in result.text
    assert (root / "pytest.ini").read_text() == "[pytest]\naddopts = -q\n"


def test_the_pytest_section_of_pyproject_is_protected_but_the_rest_is_not(root: Path) -> None:
    dep = run(
        root,
        command="str_replace",
        path="pyproject.toml",
        old_str="dependencies = []",
        new_str='dependencies = ["attrs"]',
    )
    assert dep.changed and not dep.is_error
    ruff = run(
        root, command="str_replace", path="pyproject.toml", old_str="line-length = 100", new_str="line-length = 120"
    )
    assert ruff.changed
    cheat = run(
        root,
        command="str_replace",
        path="pyproject.toml",
        old_str='testpaths = ["tests"]',
        new_str='testpaths = ["tests"]\naddopts = "-k not failing"',
    )
    assert cheat.is_error and "[tool.pytest] section of pyproject.toml is protected" in cheat.text
    added = run(
        root, command="insert", path="pyproject.toml", insert_line=0, insert_text="[tool.pytest.ini_options]\nx = 1\n"
    )
    assert added.is_error
    text = (root / "pyproject.toml").read_text()
    assert 'dependencies = ["attrs"]' in text and "line-length = 120" in text and "addopts" not in text
    assert run(root, command="str_replace", path="setup.cfg", old_str="addopts = -q", new_str="addopts = -x").is_error
    assert run(root, command="str_replace", path="setup.cfg", old_str="name = calc", new_str="name = calc2").changed


def test_a_new_pyproject_may_not_bring_a_pytest_section(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    result = run(
        tmp_path, command="create", path="pyproject.toml", file_text="[tool.pytest.ini_options]\naddopts = '-x'\n"
    )
    assert result.is_error and not (tmp_path / "pyproject.toml").exists()
    assert run(tmp_path, command="create", path="pyproject.toml", file_text="[project]\nname = 'a'\n").changed


def test_the_protected_list_is_configurable(root: Path) -> None:
    assert run(root, protected=[], command="create", path="pytest.ini", file_text="[pytest]\n").changed
    custom = ["calc.py", "docs/*.md"]
    assert run(root, protected=custom, command="create", path="calc.py", file_text="x = 2\n").is_error
    assert run(root, protected=custom, command="create", path="docs/guide/intro.md", file_text="# hi\n").is_error
    assert run(root, protected=custom, command="create", path=".github/workflows/ci.yml", file_text="on: pr\n").changed


def test_the_defaults_cover_test_configuration_ci_and_playbooks() -> None:
    for rule in ("pytest.ini", "pyproject.toml#tool.pytest", ".github", ".gitlab-ci.yml", "workflows/*.md"):
        assert rule in DEFAULT_PROTECTED
