"""`specmill run` end to end: the CLI in its own process, real Basic Memory over MCP, the real
anthropic SDK against the loopback Messages API server, real git and pytest, DBOS on SQLite
and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specmill.replay.request_log import completed_counts
from tests import scenarios
from tests.fixtures.cli import kill_when_called, specmill
from tests.fixtures.git_repos import CALC_FILES, git, init_repo

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]


def expected_tree(tmp_path: Path) -> str:
    files = dict(CALC_FILES)
    files["calc/__init__.py"] = scenarios.CALC_INIT + scenarios.GOOD
    files["tests/test_multiply.py"] = scenarios.TEST
    repo = init_repo(tmp_path / "expected", files)
    return git(repo, "rev-parse", "HEAD^{tree}")


def note_text(basic_memory, permalink: str) -> str:
    return basic_memory.store.read_note(permalink, basic_memory.project).content


def test_run_implements_a_spec_and_prints_the_json_contract(
    cli_env, spec, calc_repo, messages_server, basic_memory, tmp_path
) -> None:
    server = messages_server(scenarios.succeeds_first_time())
    cli_env["ANTHROPIC_BASE_URL"] = server.base_url
    proc = specmill(["run", spec, "--repo", str(calc_repo), "--json", "--run-id", "e2e-ok"], cli_env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) == {
        "run_id",
        "status",
        "spec",
        "branch",
        "head_commit",
        "tests",
        "criteria",
        "iterations",
        "usage",
        "cost_usd",
        "ledger",
        "stops",
        "reason",
        "pull_request",
    }
    assert result["cost_usd"] > 0 and set(result["ledger"]["phases"]) == {"implement", "validate"}
    assert result["cost_usd"] == round(result["cost_usd"], 6)  # money is rounded where it is shown
    assert result["status"] == "succeeded" and result["spec"] == spec and result["iterations"] == 1
    assert result["tests"] == {"passed": 2, "failed": 0, "errors": 0, "skipped": 0}
    assert all(c["met"] for c in result["criteria"]) and len(result["criteria"]) == 2
    assert result["usage"]["input_tokens"] > 0 and result["usage"]["output_tokens"] > 0
    assert git(calc_repo, "rev-parse", f"{result['branch']}^{{tree}}") == expected_tree(tmp_path)
    text = note_text(basic_memory, spec)
    assert text.count("## Implementation Status") == 1
    assert "status: implemented" in text and result["head_commit"] in text
    assert "implement.model_call" in proc.stderr  # live progress went to stderr
    assert proc.stderr.startswith(f"specmill: preparing a run of {spec}"), "the first line comes before the slow work"
    again = specmill(["run", spec, "--repo", str(calc_repo), "--json", "--run-id", "e2e-ok"], cli_env)
    assert again.returncode == 0 and json.loads(again.stdout)["run_id"] == result["run_id"], again.stderr
    assert f"already ran as {result['run_id']} (success); showing that result" in again.stderr


def test_a_failing_first_attempt_succeeds_in_the_second(
    cli_env, spec, calc_repo, messages_server, basic_memory
) -> None:
    server = messages_server(scenarios.fails_then_fixes())
    cli_env["ANTHROPIC_BASE_URL"] = server.base_url
    proc = specmill(["run", spec, "--repo", str(calc_repo), "--json"], cli_env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "succeeded" and result["iterations"] == 2
    assert "status: implemented" in note_text(basic_memory, spec)


def test_a_criterion_never_met_ends_failed_with_the_reason_in_the_spec(
    cli_env, calc_repo, messages_server, basic_memory, tmp_path
) -> None:
    """The spec names its own repository (relative to SPECMILL_REPOS_DIR) and playbook (two rounds, where
    the bundled one has three): `specmill run SPEC` needs neither flag."""
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    bundled = (Path(__file__).resolve().parents[1] / "workflows" / "python-developer.md").read_text()
    two_rounds = bundled.replace("name: python-developer", "name: two-rounds").replace(
        "max_iterations: 3", "max_iterations: 2"
    )
    assert "max_iterations: 2" in two_rounds
    (playbooks / "two-rounds.md").write_text(two_rounds)
    cli_env.update(SPECMILL_PLAYBOOKS_DIR=str(playbooks), SPECMILL_REPOS_DIR=str(calc_repo.parent))
    title = f"Multiply {tmp_path.name}"
    own_choices = f"status: ready\nrepo: ./{calc_repo.name}\nplaybook: two-rounds\n"
    spec = basic_memory.write_spec(title, scenarios.spec_note(title).replace("status: ready\n", own_choices)).permalink
    server = messages_server(scenarios.never_meets(2))
    cli_env["ANTHROPIC_BASE_URL"] = server.base_url
    proc = specmill(["run", spec, "--json"], cli_env)
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "failed" and result["iterations"] == 2
    assert git(calc_repo, "rev-parse", "--verify", result["branch"])  # the run worked in the note's repository
    text = note_text(basic_memory, spec)
    assert "status: needs-attention" in text and text.count("## Implementation Status") == 1
    assert "no docs" in text


def test_sigkill_during_implement_then_resume_finishes_without_paying_twice(
    cli_env, spec, calc_repo, messages_server, basic_memory, tmp_path
) -> None:
    server = messages_server(
        scenarios.succeeds_first_time(delay_on_turn=2, delay_s=3.0), log_path=tmp_path / "log.jsonl"
    )
    cli_env["ANTHROPIC_BASE_URL"] = server.base_url
    kill_when_called(["run", spec, "--repo", str(calc_repo), "--run-id", "killed"], cli_env, server, "implement-1", 2)

    resumed = specmill(["resume", "killed", "--json"], cli_env)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["status"] == "succeeded"

    entries = server.wait_settled()
    assert max(completed_counts(entries).values()) == 1, "a completed model call was made twice"
    assert any(e["event"] == "aborted" for e in entries), "the killed call should show as aborted"
    assert git(calc_repo, "rev-parse", f"{result['branch']}^{{tree}}") == expected_tree(tmp_path)
    assert note_text(basic_memory, spec).count("## Implementation Status") == 1
