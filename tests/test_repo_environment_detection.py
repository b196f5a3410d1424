"""How the environment and the test command are chosen, and what a setup command's environment is."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from specmill.adapters.environments.detect import detect
from specmill.adapters.environments.interpreters import PythonRequest, find_interpreter, request_of
from specmill.adapters.environments.test_command import detect_test_command
from specmill.adapters.repo_environments import RepoEnvironments
from specmill.errors import EnvironmentSetupFailed
from specmill.playbooks import parse_playbook

PROJECT = '[project]\nname = "calc"\nversion = "0.1.0"\n'


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "kind", "says"),
    [
        (
            {"pyproject.toml": PROJECT + '[tool.specmill]\nsetup_command = "make env"\n', "uv.lock": ""},
            "setup_command",
            "[tool.specmill] setup_command",
        ),
        ({"pyproject.toml": PROJECT, "uv.lock": "", "poetry.lock": ""}, "uv", "uv.lock"),
        ({"pyproject.toml": PROJECT, "requirements-dev.txt": "pytest\n"}, "pip", "requirements-dev.txt"),
        (
            {"pyproject.toml": PROJECT + '[tool.specmill]\nenvironment = "none"\n', "uv.lock": ""},
            "none",
            "environment = none",
        ),
        ({"script.py": "print(1)\n"}, "none", "no pyproject.toml"),
    ],
)
def test_the_environment_kind_follows_the_detection_order_and_says_why(
    tmp_path: Path, files: dict[str, str], kind: str, says: str
) -> None:
    plan = detect(write(tmp_path, files))
    assert plan.kind == kind and says in plan.reason


def test_the_playbook_setup_command_wins_and_poetry_without_poetry_falls_back_to_a_venv(tmp_path: Path) -> None:
    root = write(tmp_path, {"pyproject.toml": PROJECT, "poetry.lock": ""})
    assert detect(root, setup_command="./bootstrap").kind == "setup_command"
    plan = detect(root)
    if shutil.which("poetry"):
        assert plan.kind == "poetry"
    else:
        assert plan.kind == "pip" and plan.reason.startswith("poetry.lock, but poetry is not installed")


def test_test_extras_groups_and_src_layout_are_read_from_pyproject(tmp_path: Path) -> None:
    pyproject = PROJECT.replace('version = "0.1.0"\n', 'version = "0.1.0"\ndependencies = ["humanize"]\n') + (
        '[project.optional-dependencies]\ntest = ["pytest"]\ndocs = ["mkdocs"]\n[dependency-groups]\ndev = ["ruff"]\n'
    )
    plan = detect(write(tmp_path, {"pyproject.toml": pyproject, "src/calc/__init__.py": ""}))
    assert plan.kind == "pip" and not plan.build_project
    assert plan.dependencies == ("humanize", "pytest") and plan.groups == ("dev",)
    assert plan.source_roots == ("src", ".")


def test_a_changed_lock_changes_the_environment_key(tmp_path: Path) -> None:
    root = write(tmp_path, {"pyproject.toml": PROJECT, "uv.lock": "one"})
    before = detect(root).lock_hash()
    (root / "uv.lock").write_text("two")
    assert detect(root).lock_hash() != before


@pytest.mark.parametrize(
    ("files", "command"),
    [
        ({"pyproject.toml": "[tool.pytest.ini_options]\n"}, "python -m pytest"),
        ({"pyproject.toml": "[tool.pytest]\n"}, "python -m pytest"),
        ({"setup.cfg": "[tool:pytest]\n"}, "python -m pytest"),
        ({"Makefile": "test:\n\tsh run-tests.sh\n"}, "make test"),
        ({"tox.ini": "[tox]\nenvlist = py312\n"}, "tox"),
        ({"noxfile.py": ""}, "nox"),
        ({"README.md": ""}, None),
    ],
)
def test_the_repository_test_command_is_detected(tmp_path: Path, files: dict[str, str], command: str | None) -> None:
    import tomllib

    root = write(tmp_path, files)
    pyproject = tomllib.loads(files.get("pyproject.toml", ""))
    found = detect_test_command(root, pyproject, "uv")
    assert (found.command if found else None) == command


def test_the_playbook_test_command_is_optional_and_setup_is_a_playbook_key() -> None:
    book = parse_playbook("---\nname: p\nsetup_command: make env\nenvironment: none\n---\nWork.\n")
    assert book.test_command is None and book.setup_command == "make env" and book.environment == "none"


def test_the_python_request_comes_from_python_version_then_requires_python(tmp_path: Path) -> None:
    assert request_of(tmp_path, ">=3.11") == PythonRequest(">=3.11", "requires-python in pyproject.toml")
    (tmp_path / ".python-version").write_text("# pinned\n3.12\n")
    request = request_of(tmp_path, ">=3.11")
    assert request == PythonRequest("3.12", ".python-version")
    found = find_interpreter(request, None)
    assert found.version.startswith("3.12.") and Path(found.path).exists()


def test_a_missing_interpreter_names_the_version_and_where_it_looked() -> None:
    with pytest.raises(EnvironmentSetupFailed) as caught:
        find_interpreter(PythonRequest("3.4", ".python-version"), None)
    message = str(caught.value)
    assert "'3.4'" in message and ".python-version" in message
    assert "PATH" in message and "pyenv" in message and "uv" in message


def test_a_setup_command_runs_in_an_activated_venv_outside_the_worktree_once(tmp_path: Path, uv_cache: Path) -> None:
    command = (
        'python -c "import os, sys; open(os.environ[\\"VIRTUAL_ENV\\"] + \\"/built\\", \\"w\\").write(sys.prefix)"'
    )
    root = write(tmp_path / "repo", {"pyproject.toml": PROJECT + f"[tool.specmill]\nsetup_command = '{command}'\n"})
    environments = RepoEnvironments(tmp_path / "envs", cache_dir=uv_cache)
    first = environments.prepare(root, test_command="python -m unittest")
    assert first.kind == "setup_command" and not first.cached and first.venv
    assert Path(first.venv, "built").read_text() == first.venv and not Path(first.venv).is_relative_to(root)
    assert first.variables["VIRTUAL_ENV"] == first.venv and first.path_prefix == [f"{first.venv}/bin"]
    assert first.read_only == [first.venv, sys.base_prefix]  # what the sandbox shows, read-only
    again = environments.prepare(root, test_command="python -m unittest")
    assert again.cached and again.setup_s == 0.0 and again.venv == first.venv


def test_a_failing_setup_command_is_a_setup_failure(tmp_path: Path, uv_cache: Path) -> None:
    root = write(tmp_path / "repo", {"pyproject.toml": PROJECT})
    with pytest.raises(EnvironmentSetupFailed, match="the setup command failed: `sh -c exit 3` exited with code 3"):
        RepoEnvironments(tmp_path / "envs", cache_dir=uv_cache).prepare(root, setup_command="exit 3")
