"""Cost control: prompt caching pays off, budgets hold, loops stop. The real anthropic SDK
talks to the loopback Messages API server, which accounts caching as the API documents it."""

from __future__ import annotations

import anthropic
import pytest
from dbos import DBOS

from specmill import runtime
from specmill.adapters.anthropic_model import AnthropicModel
from specmill.models import Budget, Ledger, Usage
from specmill.pricing import cost_usd
from tests import cost_scenarios, scenarios


def _model(server) -> AnthropicModel:
    return AnthropicModel(anthropic.Anthropic(base_url=server.base_url, api_key="test-key", max_retries=0))


def _implement_usage(ledger: Ledger) -> Usage:
    return ledger.phases["implement"].usage


def test_a_30_turn_session_reads_most_input_from_the_cache_and_costs_under_30_percent(world, messages_server) -> None:
    brief = cost_scenarios.long_brief()
    cached, _ = world(_model(messages_server(cost_scenarios.thirty_turns())), run_id="cached", brief=brief)
    uncached, _ = world(
        _model(messages_server(cost_scenarios.thirty_turns())),
        run_id="uncached",
        brief=brief,
        settings={"prompt_caching": False},
    )
    assert cached.ledger.phases["implement"].calls == uncached.ledger.phases["implement"].calls == 30

    u = _implement_usage(cached.ledger)
    total_input = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens
    assert u.cache_read_input_tokens / total_input >= 0.85
    off = _implement_usage(uncached.ledger)
    assert off.cache_read_input_tokens == off.cache_creation_input_tokens == 0
    assert off.input_tokens == total_input  # the same prompts, billed in full
    assert cached.ledger.phases["implement"].cost_usd < 0.30 * uncached.ledger.phases["implement"].cost_usd


def test_the_ledger_prices_every_call_and_appears_in_the_spec(world, messages_server) -> None:
    result, _ = world(_model(messages_server(scenarios.succeeds_first_time())))
    steps = [s for s in DBOS.list_workflow_steps(result.run_id) if s["function_name"] == "implement.model_call"]
    recorded = sum(s["output"].cost_usd for s in steps)
    assert recorded == pytest.approx(result.ledger.phases["implement"].cost_usd)
    assert all(s["output"].cost_usd == pytest.approx(cost_usd(s["output"].model, s["output"].usage)) for s in steps)
    assert result.cost_usd == pytest.approx(result.ledger.cost_usd, abs=1e-6) and result.cost_usd > 0
    note = world.store.content("specs", "specs/multiply")
    assert f"- Cost: ${result.ledger.cost_usd:.4f}" in note and "implement $" in note and "validate $" in note


SHORT_ANSWERS = """---
name: short-answers
model: claude-sonnet-5
max_tokens: 300
---
Write code.
"""


def test_a_budget_stops_the_run_before_the_call_that_would_cross_it_and_a_higher_cap_finishes_it(
    world, messages_server, tmp_path
) -> None:
    playbook = tmp_path / "short-answers.md"
    playbook.write_text(SHORT_ANSWERS)  # a small output cap keeps the worst case of a call close to its real cost
    server = messages_server(scenarios.succeeds_first_time())
    reference, _ = world(_model(server), run_id="reference", playbook=str(playbook))
    per_call = [
        s["output"].cost_usd
        for s in DBOS.list_workflow_steps("reference")
        if s["function_name"] == "implement.model_call"
    ]
    cap = sum(per_call[:3]) + 0.2 * reference.cost_usd  # room for about three calls, never the whole run
    before = len(server.wait_settled())

    result, _ = world(_model(server), run_id="capped", budget_usd=cap, playbook=str(playbook))
    assert result.status == "budget_exhausted"
    assert result.cost_usd <= cap
    assert "budget exhausted" in result.reason and result.stops == ["budget_exhausted"]
    note = world.store.content("specs", "specs/multiply")
    assert "budget exhausted" in note and "status: needs-attention" in note
    paid = _paid_calls(server.wait_settled()[before:])
    assert 0 < len(paid) < len(per_call) + 1

    finished = runtime.continue_run("capped", Budget(usd=10.0))
    assert finished.status == "succeeded"
    assert finished.ledger.phases["implement"].calls == reference.ledger.phases["implement"].calls
    assert finished.cost_usd > result.cost_usd  # what was spent before the cap stays spent
    after = _paid_calls(server.wait_settled()[before:])
    assert after[: len(paid)] == paid
    assert not {e["request_sha256"] for e in after[len(paid) :]} & {e["request_sha256"] for e in paid}, (
        "a paid call was made again"
    )


def _paid_calls(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["event"] == "completed" and e["path"] == "/v1/messages"]


def test_a_model_that_repeats_the_same_tool_call_is_stopped_with_that_reason(world) -> None:
    same = {
        "content": [
            {
                "type": "tool_use",
                "name": "str_replace_based_edit_tool",
                "input": {"command": "view", "path": "/README.md"},
            }
        ]
    }
    script = {
        "conversations": [
            {**scenarios.conversation("implement-1", 1, [same]), "repeat_last": True},
            scenarios.conversation(
                "verdict-1", 1, [scenarios.verdict(False, False, summary="nothing was done")], forced="record_verdict"
            ),
        ]
    }
    result, model = world(script, max_iterations=1)
    assert result.stops == ["repeated_tool_call"]
    assert "same str_replace_based_edit_tool call with the same result 3 times" in result.reason
    implement_calls = [r for r in model.requests if r.tool_choice is None]
    assert len(implement_calls) == 3
