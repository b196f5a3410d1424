"""The README's "Your first hour", command by command, as written, on a fresh HOME and data dir.

The commands come out of the README itself, so the section cannot drift from what works. The
model is the offline replay (`--offline`); Basic Memory is the real one, in the fresh HOME.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.basic_memory import basic_memory_executable
from tests.readme import commands, section

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Your first hour"
RUN_ELSEWHERE = {
    "scripts/bootstrap": "CI runs it before the tests (.ci/run), and scripts/test does",
}


def first_hour_commands(readme: str) -> list[str]:
    return commands(section(readme, SECTION))


def test_the_first_hour_section_is_a_complete_path() -> None:
    commands = first_hour_commands((ROOT / "README.md").read_text())
    words = [" ".join(c.split()[:2]) for c in commands]
    for expected in ("specmill init", "specmill run", "specmill runs", "specmill gc"):
        assert expected in words, f"the README's first hour lost `{expected}`"
    assert words.index("specmill init") < words.index("specmill run") < words.index("specmill gc")


def test_a_newcomer_follows_the_readme_from_init_to_gc(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DBOS_", "SPECMILL_", "XDG_"))}
    env.update(
        HOME=str(home),
        SPECMILL_DATA_DIR=str(tmp_path / "data"),  # the clone's .specmill stays the developer's
        SPECMILL_BASIC_MEMORY_COMMAND=shlex.join([str(basic_memory_executable()), "mcp"]),
        BASIC_MEMORY_AUTO_UPDATE="false",
        FASTMCP_CHECK_FOR_UPDATES="off",
    )
    for name in ("SPECMILL_TEST_SANDBOX", "SPECMILL_TEST_MAX_PROCESSES"):
        if name in os.environ:
            env[name] = os.environ[name]
    activate = ""
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    run_id = repo = ""
    for command in first_hour_commands((ROOT / "README.md").read_text()):
        if command in RUN_ELSEWHERE:
            continue
        if command.startswith("source "):
            assert (ROOT / command.split()[1]).is_file(), f"`{command}`: build it first with scripts/bootstrap"
            activate = command + " && "
            continue
        if "RUN_ID" in command:
            assert run_id, f"`{command}` comes before any run"
            command = command.replace("RUN_ID", run_id)
        proc = _bash(activate + command, env)
        assert proc.returncode == 0, f"`{command}` exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        outputs[command] = proc
        if command.startswith("specmill run "):
            newest = json.loads(_bash(activate + "specmill runs list --json", env).stdout)[0]
            run_id, repo = newest["run_id"], newest["repo"]
            assert (tmp_path / "data" / "worktrees" / run_id).is_dir()

    note = (home / "specs" / "specs" / "goodbye-endpoint.md").read_text()
    assert note.count("## Implementation Status") == 1 and "status: implemented" in note
    ran = next(p for c, p in outputs.items() if c.startswith("specmill run "))
    assert ran.stdout.startswith("succeeded: specs/goodbye-endpoint"), ran.stdout
    listing = outputs["specmill runs list"].stdout.splitlines()
    assert [w.lower() for w in listing[0].split()[:3]] == ["id", "spec", "repo"], listing
    assert any(run_id in line and "specs/goodbye-endpoint" in line for line in listing[1:]), listing
    assert "greeting/routers/goodbye.py" in outputs[f"specmill runs show {run_id} --diff"].stdout
    assert "Goodbye, Ada!" in outputs[f"specmill runs show {run_id} --verdict"].stdout
    assert run_id in outputs["specmill gc"].stdout
    assert not (tmp_path / "data" / "worktrees" / run_id).exists(), "gc --apply left the finished run's worktree"
    branches = subprocess.run(["git", "-C", repo, "branch", "--list", "specmill/*"], capture_output=True, text=True)
    assert branches.stdout.strip(), "gc keeps the run's branch unless --branches"


def _bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
