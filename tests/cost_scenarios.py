"""A long implement session for the cost tests and the cost benchmark."""

from __future__ import annotations

from typing import Any

from specmill.models import PatternBrief
from tests import scenarios

FILES = ["/calc/__init__.py", "/tests/test_calc.py", "/pyproject.toml", "/README.md"]


def long_brief() -> PatternBrief:
    """About 2,500 tokens, the size a real pattern brief has at its default budget."""
    lines = ["## Layout", "- flat layout: package `calc/`, tests in `tests/`", "## Relevant files"]
    for i in range(120):
        lines.append(f"- `calc/module_{i:03d}.py` - helper {i}: `def helper_{i}(a: int, b: int) -> int`")
    text = "\n".join(lines)
    return PatternBrief(markdown=text, tokens=len(text) // 3, budget=4000)


def thirty_turns() -> dict[str, Any]:
    """29 distinct look-ups, then the answer; and a verdict that accepts."""
    turns: list[dict[str, Any]] = []
    for i in range(29):
        path = FILES[i % len(FILES)]
        turns.append(
            {
                "content": [
                    {"type": "text", "text": f"Step {i}: looking at {path} once more."},
                    {
                        "type": "tool_use",
                        "name": "str_replace_based_edit_tool",
                        "input": {"command": "view", "path": path, "view_range": [1, 1 + i // len(FILES)]},
                    },
                ]
            }
        )
    turns.append({"content": [{"type": "text", "text": "Nothing needs to change."}]})
    return {
        "min_cacheable_tokens": 1024,
        "conversations": [
            scenarios.conversation("implement-1", 1, turns),
            scenarios.conversation("verdict-1", 1, [scenarios.verdict(True, True)], forced="record_verdict"),
        ],
    }
