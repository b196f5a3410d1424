"""A budget across a crash: `specmill run --budget-usd` killed mid-run, resumed, stopped at the
cap with what it had spent, then resumed with a higher cap to the end. Real Basic Memory, the
real anthropic SDK against the loopback server, DBOS on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specmill.replay.request_log import completed_counts
from tests import scenarios
from tests.fixtures.cli import kill_when_called, specmill

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]

SHORT_ANSWERS = "---\nname: short-answers\nmodel: claude-sonnet-5\nmax_tokens: 300\n---\nWrite code.\n"
# The scripted session's calls cost about $0.0012-0.0020 each here; with a 300-token output cap
# the worst case before the fourth call is about $0.0100 and before the third about $0.0077.
CAP_USD = 0.0085


def test_a_killed_run_keeps_what_it_spent_stops_at_the_cap_and_finishes_with_a_higher_one(
    cli_env, spec, calc_repo: Path, messages_server, tmp_path: Path
) -> None:
    playbook = tmp_path / "short-answers.md"
    playbook.write_text(SHORT_ANSWERS)
    server = messages_server(
        scenarios.succeeds_first_time(delay_on_turn=1, delay_s=3.0), log_path=tmp_path / "log.jsonl"
    )
    cli_env["ANTHROPIC_BASE_URL"] = server.base_url
    args = [
        "run",
        spec,
        "--repo",
        str(calc_repo),
        "--run-id",
        "capped",
        "--playbook",
        str(playbook),
        "--budget-usd",
        str(CAP_USD),
    ]
    kill_when_called(args, cli_env, server, "implement-1", 1)

    stopped = specmill(["resume", "capped", "--json"], cli_env)
    assert stopped.returncode == 1, stopped.stderr
    result = json.loads(stopped.stdout)
    assert result["status"] == "budget_exhausted"
    assert result["cost_usd"] <= CAP_USD
    assert result["ledger"]["phases"]["implement"]["calls"] == 3  # a reset ledger would have allowed more
    assert "budget exhausted" in result["reason"]

    finished = specmill(["resume", "capped", "--budget-usd", "1", "--json"], cli_env)
    assert finished.returncode == 0, finished.stderr
    done = json.loads(finished.stdout)
    assert done["status"] == "succeeded" and done["ledger"]["phases"]["implement"]["calls"] == 5
    assert done["cost_usd"] > result["cost_usd"]
    assert max(completed_counts(server.wait_settled()).values()) == 1, "a completed model call was made twice"
