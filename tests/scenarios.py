"""Scripted model sessions that implement a `multiply` spec in the calc repository.

The same scripts drive the in-process ScriptedModel and the loopback Messages API
server, so unit and end-to-end tests tell the same story.
"""

from __future__ import annotations

from typing import Any

SPEC_TITLE = "Multiply"
SPEC = """---
title: Multiply
type: spec
status: ready
---

# Multiply

## Why
People want to multiply as easily as they add.

## What
A `multiply(a, b)` function in the `calc` package.

## How to Evaluate
- [ ] `calc.multiply(a, b)` returns the product of a and b
- [ ] `tests/test_multiply.py` covers multiply and the whole suite passes
"""

CALC_INIT = '"""A tiny calculator."""\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n'
GOOD = "\n\ndef multiply(a: int, b: int) -> int:\n    return a * b\n"
BAD = "\n\ndef multiply(a: int, b: int) -> int:\n    return a + b\n"
TEST = "from calc import multiply\n\n\ndef test_multiply():\n    assert multiply(3, 4) == 12\n"
EDITOR = "str_replace_based_edit_tool"


def _tool(name: str, **tool_input: Any) -> dict[str, Any]:
    return {"type": "tool_use", "name": name, "input": tool_input}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def implement_turns(body: str, *, delay_on_turn: int | None = None, delay_s: float = 0.0) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = [
        {"content": [_text("Let me read the package first."), _tool(EDITOR, command="view", path="/calc/__init__.py")]},
        {
            "content": [
                _tool(
                    EDITOR,
                    command="str_replace",
                    path="calc/__init__.py",
                    old_str="    return a + b\n",
                    new_str="    return a + b\n" + body,
                )
            ]
        },
        {"content": [_tool(EDITOR, command="create", path="tests/test_multiply.py", file_text=TEST)]},
        {"content": [_tool("run_tests", selection="tests/test_multiply.py")]},
        {"content": [_text("multiply is implemented and tested.")]},
    ]
    if delay_on_turn is not None:
        turns[delay_on_turn]["delay_s"] = delay_s
    return turns


def fix_turns() -> list[dict[str, Any]]:
    return [
        {
            "content": [
                _tool(
                    EDITOR,
                    command="str_replace",
                    path="calc/__init__.py",
                    old_str="    return a + b\n\n\ndef multiply(a: int, b: int) -> int:\n    return a + b\n",
                    new_str="    return a + b\n" + GOOD,
                )
            ]
        },
        {"content": [_text("Fixed: multiply now multiplies.")]},
    ]


def verdict(*met: bool, summary: str = "reviewed") -> dict[str, Any]:
    criteria = [
        {
            "criterion": "`calc.multiply(a, b)` returns the product of a and b",
            "met": met[0],
            "evidence": "calc/__init__.py",
        },
        {
            "criterion": "`tests/test_multiply.py` covers multiply and the whole suite passes",
            "met": met[1],
            "evidence": "tests",
        },
    ]
    return {"content": [_tool("record_verdict", criteria=criteria, summary=summary)]}


def conversation(name: str, attempt: int, turns: list[dict[str, Any]], *, forced: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "match": {"first_user_contains": f"Attempt {attempt} of", "tool_choice": forced},
        "turns": turns,
    }


def succeeds_first_time(**delay: Any) -> dict[str, Any]:
    return {
        "conversations": [
            conversation("implement-1", 1, implement_turns(GOOD, **delay)),
            conversation("verdict-1", 1, [verdict(True, True)], forced="record_verdict"),
        ]
    }


def fails_then_fixes() -> dict[str, Any]:
    return {
        "conversations": [
            conversation("implement-1", 1, implement_turns(BAD)),
            conversation("verdict-1", 1, [verdict(False, False, summary="multiply adds")], forced="record_verdict"),
            conversation("implement-2", 2, fix_turns()),
            conversation("verdict-2", 2, [verdict(True, True)], forced="record_verdict"),
        ]
    }


def never_meets(attempts: int = 2) -> dict[str, Any]:
    conversations = []
    for n in range(1, attempts + 1):
        turns = implement_turns(GOOD) if n == 1 else [{"content": [_text("Nothing more I can do.")]}]
        conversations.append(conversation(f"implement-{n}", n, turns))
        conversations.append(
            conversation(f"verdict-{n}", n, [verdict(True, False, summary="no docs")], forced="record_verdict")
        )
    return {"conversations": conversations}


def tool_misuse() -> dict[str, Any]:
    """The model asks for a path outside the repo, an unknown tool and malformed input, then recovers."""
    turns = [
        {"content": [_tool(EDITOR, command="view", path="../../etc/passwd")]},
        {"content": [_tool("launch_missiles", target="moon")]},
        {"content": [_tool(EDITOR, command="str_replace", path="calc/__init__.py")]},
        {"content": [_tool("run_tests", selection=7)]},
        *implement_turns(GOOD),
    ]
    return {
        "conversations": [
            conversation("implement-1", 1, turns),
            conversation("verdict-1", 1, [verdict(True, True)], forced="record_verdict"),
        ]
    }


def spec_note(title: str) -> str:
    """The multiply spec under another title, so tests sharing one Basic Memory don't collide."""
    return SPEC.replace("title: Multiply", f"title: {title}").replace("# Multiply", f"# {title}")


PLAN_TASK = "Add multiply and its test"


def plan(attempt: int, title: str = PLAN_TASK, *, serves_all: bool = True) -> dict[str, Any]:
    """A `record_plan` conversation for plan `attempt`; with `serves_all=False` a criterion is left unserved."""
    criteria = [
        "`calc.multiply(a, b)` returns the product of a and b",
        "`tests/test_multiply.py` covers multiply and the whole suite passes",
    ]
    task = {"title": title, "criteria": criteria if serves_all else criteria[:1], "files": ["calc/__init__.py"]}
    answer = {"content": [_tool("record_plan", summary=f"plan {attempt}", tasks=[task])]}
    return {
        "name": f"plan-{attempt}",
        "match": {"first_user_contains": f"Plan {attempt}.", "tool_choice": "record_plan"},
        "turns": [answer],
    }


def verdict_with_tasks(*met: bool, tasks: tuple[str, ...] = (PLAN_TASK,)) -> dict[str, Any]:
    """A verdict that also judges the approved plan's tasks (validate checks them beside the criteria)."""
    turn = verdict(*met)
    entries = [{"criterion": f"Plan task: {t}", "met": True, "evidence": "diff"} for t in tasks]
    turn["content"][0]["input"]["criteria"] += entries
    return turn


def planned(*plan_titles: str) -> dict[str, Any]:
    """Plans (one per title: the first ones rejected), then the first-time success judged with the last plan."""
    return {
        "conversations": [
            *(plan(n, title) for n, title in enumerate(plan_titles, 1)),
            conversation("implement-1", 1, implement_turns(GOOD)),
            conversation(
                "verdict-1", 1, [verdict_with_tasks(True, True, tasks=plan_titles[-1:])], forced="record_verdict"
            ),
        ]
    }
