"""Models that refuse a forced `tool_choice`: the adapter falls back to `auto` with the one tool, and asks
once more when the answer does not use it. Driven through the real SDK against the scripted server."""

from __future__ import annotations

from collections.abc import Callable

import anthropic

from specmill.adapters.anthropic_model import AnthropicModel
from specmill.models import PatternBrief, Spec, TestReport
from specmill.phases.plan import parse_plan, plan_request
from specmill.phases.validate import VERDICT_TOOL, parse_verdict, verdict_request
from specmill.replay.scripts import canonical_json, estimate_tokens
from specmill.replay.server import MessagesServer
from tests import scenarios

MODEL = "claude-sonnet-5-5"
SPEC = Spec(
    project="specs",
    permalink="specs/multiply",
    title="Multiply",
    body="multiply",
    criteria=[
        {"text": "`calc.multiply(a, b)` returns the product of a and b", "section": "How to Evaluate"},
        {"text": "`tests/test_multiply.py` covers multiply and the whole suite passes", "section": "How to Evaluate"},
    ],
)


def _model(server: MessagesServer) -> AnthropicModel:
    return AnthropicModel(anthropic.Anthropic(base_url=server.base_url, api_key="test-key", max_retries=0))


def _request(attempt: int):
    return verdict_request(MODEL, SPEC, "+def multiply", TestReport(command="pytest", exit_code=0), attempt, 2)


def test_a_refused_forced_call_falls_back_to_auto_and_asks_again_when_the_answer_uses_no_tool(
    messages_server: Callable[..., MessagesServer],
) -> None:
    server = messages_server(
        {
            "refuse_forced_tool": True,
            "conversations": [
                {
                    "name": "verdict-1",
                    "match": {"first_user_contains": "Attempt 1 of", "tool_choice": VERDICT_TOOL},
                    "turns": [{"content": "The change looks right to me."}, scenarios.verdict(True, True)],
                },
                scenarios.conversation("verdict-2", 2, [scenarios.verdict(True, False)], forced=VERDICT_TOOL),
            ],
        }
    )
    model = _model(server)

    turn = model.complete(_request(1))
    verdict = parse_verdict(SPEC, turn)
    assert [c.met for c in verdict.criteria] == [True, True]
    said, answer = "The change looks right to me.", scenarios.verdict(True, True)["content"][0]
    both = estimate_tokens(len(said)) + estimate_tokens(len(VERDICT_TOOL) + len(canonical_json(answer["input"])))
    assert turn.usage.output_tokens == both  # the usage of both calls

    second = parse_verdict(SPEC, model.complete(_request(2)))
    assert [c.met for c in second.criteria] == [True, False]

    log = [(e["turn"], e["status"]) for e in server.wait_settled() if e["event"] == "completed"]
    # one refusal (400), then the fallback and its one retry; the second verdict goes straight to auto
    assert log == [(None, 400), (0, 200), (1, 200), (0, 200)]


def test_a_model_that_forces_tools_gets_the_forced_call_unchanged(
    messages_server: Callable[..., MessagesServer],
) -> None:
    verdict_1 = scenarios.conversation("verdict-1", 1, [scenarios.verdict(True, True)], forced=VERDICT_TOOL)
    server = messages_server({"conversations": [verdict_1]})
    verdict = parse_verdict(SPEC, _model(server).complete(_request(1)))
    assert verdict.all_met
    assert [e["status"] for e in server.wait_settled() if e["event"] == "completed"] == [200]


def test_the_plan_call_falls_back_too(messages_server: Callable[..., MessagesServer]) -> None:
    server = messages_server({"refuse_forced_tool": True, "conversations": [scenarios.plan(1)]})
    brief = PatternBrief(markdown="calc is flat", tokens=3, budget=100)
    plan = parse_plan(SPEC, _model(server).complete(plan_request(MODEL, SPEC, brief, 1, "")), 1)
    assert [t.title for t in plan.tasks] == [scenarios.PLAN_TASK] and plan.unserved == []
    assert [e["status"] for e in server.wait_settled() if e["event"] == "completed"] == [400, 200]
