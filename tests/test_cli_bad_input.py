"""Bad input through the CLI: one line on stderr, exit code 2 (3 when a service is down),
and no half-written note."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import scenarios

pytestmark = pytest.mark.basic_memory


def specmill(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "specmill", *args], env=env, capture_output=True, text=True, timeout=120
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The error is one line, and nothing else reaches the terminal: no traceback, no DBOS log."""
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("specmill: ")]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and len(lines) <= 2, proc.stderr
    return errors[0]


def error_object(proc: subprocess.CompletedProcess[str]) -> dict:
    """With --json, stdout is one error object."""
    body = json.loads(proc.stdout)
    assert body["status"] == "error" and set(body["error"]) >= {"code", "message"}, body
    return body["error"]


def no_branch_made(repo: Path) -> None:
    branches = subprocess.run(
        ["git", "-C", str(repo), "branch", "--list", "specmill/*"], capture_output=True, text=True
    )
    assert branches.stdout.strip() == ""


@pytest.fixture
def env(basic_memory, tmp_path: Path) -> dict[str, str]:
    env = basic_memory.specmill_env()
    env.update(
        SPECMILL_DATA_DIR=str(tmp_path / "data"), ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL="http://127.0.0.1:9"
    )
    env.pop("DBOS_SYSTEM_DATABASE_URL", None)
    return env


def test_a_path_that_is_not_a_git_repository(env, tmp_path: Path) -> None:
    proc = specmill(["run", "specs/x", "--repo", str(tmp_path)], env)
    assert proc.returncode == 2
    assert "is not a git repository" in one_error_line(proc)


def test_a_repository_path_that_does_not_exist(env, tmp_path: Path) -> None:
    proc = specmill(["run", "specs/x", "--repo", str(tmp_path / "nowhere")], env)
    assert proc.returncode == 2
    assert "is not a directory" in one_error_line(proc)


def test_an_unknown_playbook(env, calc_repo: Path) -> None:
    proc = specmill(["run", "specs/x", "--repo", str(calc_repo), "--playbook", "no-such-agent"], env)
    assert proc.returncode == 2
    assert "unknown playbook 'no-such-agent'" in one_error_line(proc)


def test_an_unknown_base_ref(env, calc_repo: Path) -> None:
    proc = specmill(["run", "specs/x", "--repo", str(calc_repo), "--base", "no-such-branch"], env)
    assert proc.returncode == 2
    assert "unknown ref 'no-such-branch'" in one_error_line(proc)


def test_a_missing_note(env, calc_repo: Path) -> None:
    proc = specmill(["run", "specs/does-not-exist", "--repo", str(calc_repo)], env)
    assert proc.returncode == 2, proc.stderr
    assert "'specs/does-not-exist' not found" in one_error_line(proc)
    as_json = specmill(["run", "specs/does-not-exist", "--repo", str(calc_repo), "--json"], env)
    assert as_json.returncode == 2 and "not found" in error_object(as_json)["message"]
    no_branch_made(calc_repo)
    assert not (Path(env["SPECMILL_DATA_DIR"]) / "worktrees").exists()


def test_a_missing_model_key_is_found_before_anything_is_read(env, basic_memory, calc_repo: Path) -> None:
    title = "Keyless spec"
    note = basic_memory.write_spec(title, scenarios.spec_note(title))
    env.pop("ANTHROPIC_API_KEY")
    env.pop("ANTHROPIC_AUTH_TOKEN", None)
    proc = specmill(["run", note.permalink, "--repo", str(calc_repo), "--json"], env)
    assert proc.returncode == 2, proc.stderr
    assert "ANTHROPIC_API_KEY" in one_error_line(proc) and error_object(proc)["code"] == "bad_input"
    assert basic_memory.store.read_note(note.permalink, basic_memory.project).checksum == note.checksum
    no_branch_made(calc_repo)


def test_a_spec_without_criteria_is_refused_and_left_untouched(env, basic_memory, calc_repo: Path) -> None:
    note = basic_memory.write_spec("Vague wish", "# Vague wish\n\n## What\nMake it better.\n")
    proc = specmill(["run", note.permalink, "--repo", str(calc_repo)], env)
    assert proc.returncode == 2, proc.stderr
    assert "no success criteria" in one_error_line(proc)
    assert basic_memory.store.read_note(note.permalink, basic_memory.project).checksum == note.checksum
    no_branch_made(calc_repo)


def test_a_basic_memory_server_that_fails_to_start(env, basic_memory, calc_repo: Path, tmp_path: Path) -> None:
    title = "Unreachable spec"
    note = basic_memory.write_spec(title, scenarios.spec_note(title))
    env.pop("SPECMILL_BASIC_MEMORY_URL")
    env["SPECMILL_BASIC_MEMORY_COMMAND"] = str(tmp_path / "no-such-basic-memory") + " mcp"
    proc = specmill(["run", note.permalink, "--repo", str(calc_repo)], env)
    assert proc.returncode == 3, proc.stderr
    assert "SPECMILL_BASIC_MEMORY_COMMAND" in one_error_line(proc)
    assert basic_memory.store.read_note(note.permalink, basic_memory.project).checksum == note.checksum


def test_a_repository_the_spec_names_must_exist_and_one_must_be_named(env, basic_memory, tmp_path: Path) -> None:
    title = "Spec naming a missing repository"
    text = scenarios.spec_note(title).replace("status: ready\n", "status: ready\nrepo: ./nowhere\n")
    note = basic_memory.write_spec(title, text)
    env["SPECMILL_REPOS_DIR"] = str(tmp_path)
    proc = specmill(["run", note.permalink, "--json"], env)
    assert proc.returncode == 2, proc.stderr
    expected = f"the spec's 'repo: ./nowhere' is {tmp_path / 'nowhere'}, which is not a directory"
    assert expected in one_error_line(proc) and error_object(proc)["code"] == "not_a_git_repository"
    assert basic_memory.store.read_note(note.permalink, basic_memory.project).checksum == note.checksum
    assert not (Path(env["SPECMILL_DATA_DIR"]) / "worktrees").exists()

    plain = basic_memory.write_spec("Spec naming no repository", scenarios.spec_note("Spec naming no repository"))
    proc = specmill(["run", plain.permalink, "--json"], env)
    assert proc.returncode == 2, proc.stderr
    assert "no repository: pass --repo PATH, or add 'repo: PATH' to the spec's frontmatter" in one_error_line(proc)
    assert error_object(proc)["code"] == "no_repo"  # as `POST /runs` answers it
