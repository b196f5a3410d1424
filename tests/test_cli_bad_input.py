"""Bad input through the CLI: one line on stderr, exit code 2 (3 when a service is down),
and no half-written note."""

from __future__ import annotations

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
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


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


def test_a_spec_without_criteria_is_refused_and_left_untouched(env, basic_memory, calc_repo: Path) -> None:
    note = basic_memory.write_spec("Vague wish", "# Vague wish\n\n## What\nMake it better.\n")
    proc = specmill(["run", note.permalink, "--repo", str(calc_repo)], env)
    assert proc.returncode == 2, proc.stderr
    assert "no success criteria" in one_error_line(proc)
    assert basic_memory.store.read_note(note.permalink, basic_memory.project).checksum == note.checksum


def test_a_basic_memory_server_that_fails_to_start(env, basic_memory, calc_repo: Path, tmp_path: Path) -> None:
    title = "Unreachable spec"
    note = basic_memory.write_spec(title, scenarios.spec_note(title))
    env.pop("SPECMILL_BASIC_MEMORY_URL")
    env["SPECMILL_BASIC_MEMORY_COMMAND"] = str(tmp_path / "no-such-basic-memory") + " mcp"
    proc = specmill(["run", note.permalink, "--repo", str(calc_repo)], env)
    assert proc.returncode == 3, proc.stderr
    assert "SPECMILL_BASIC_MEMORY_COMMAND" in one_error_line(proc)
    assert basic_memory.store.read_note(note.permalink, basic_memory.project).checksum == note.checksum
