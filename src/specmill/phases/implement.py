"""Implement: the pieces of the model/tool loop, as plain functions.

The loop itself lives in the workflow so that every model call and every tool
execution is its own checkpointed step; here are the requests it sends and the
tools it runs. Nothing volatile (run ids, timestamps) goes into the system prompt,
so tools + system + spec + brief form one stable, cacheable prefix.
"""

from __future__ import annotations

from typing import Any

from specmill.models import ModelRequest, PatternBrief, Spec, TestReport, ToolOutcome, Verdict, WorkspaceState
from specmill.phases.file_tools import run_editor_command
from specmill.phases.test_summary import summarize_report
from specmill.playbooks import Playbook
from specmill.ports import TestRunner, Workspace

EDITOR_TOOL = "str_replace_based_edit_tool"
RUN_TESTS_TOOL = "run_tests"
TOOL_NAMES = (EDITOR_TOOL, RUN_TESTS_TOOL)


def tool_definitions() -> list[dict[str, Any]]:
    return [
        {"type": "text_editor_20250728", "name": EDITOR_TOOL},
        {
            "name": RUN_TESTS_TOOL,
            "description": (
                "Run the repository's test command in the worktree and report passed, failed, "
                "errors and skipped with failure messages. Pass `selection` (for example a test "
                "file or a -k expression) to run part of the suite."
            ),
            "input_schema": {
                "type": "object",
                "properties": {"selection": {"type": "string", "description": "Extra arguments for the test command."}},
                "additionalProperties": False,
            },
            "cache_control": {"type": "ephemeral"},
        },
    ]


def system_blocks(playbook: Playbook, spec: Spec, brief: PatternBrief) -> list[dict[str, Any]]:
    criteria = "\n".join(f"- [ ] {c.text}" for c in spec.criteria)
    text = (
        f"{playbook.prompt}\n\n"
        f"# The spec: {spec.title}\n\n{spec.body.strip()}\n\n"
        f"## Success criteria to satisfy\n{criteria}\n\n"
        f"# Pattern brief of the repository\n\n{brief.markdown.strip()}\n\n"
        "# Tools\nPaths are relative to the repository root; a leading '/' means the repository root. "
        f"The test command is `{playbook.test_command}`."
    )
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


def opening_message(attempt: int, max_attempts: int, feedback: str) -> dict[str, Any]:
    text = f"Attempt {attempt} of {max_attempts}. Implement the spec in this repository."
    if feedback:
        text += f"\n\nThe previous attempt was not accepted:\n\n{feedback}\n\nFix these problems."
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def model_request(model: str, playbook: Playbook, system: list[dict[str, Any]], messages: list[dict[str, Any]]) -> ModelRequest:
    return ModelRequest(
        model=model,
        system=system,
        messages=_with_rolling_breakpoint(messages),
        tools=tool_definitions(),
        max_tokens=playbook.max_tokens,
    )


def _with_rolling_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark the last block of the newest message so the conversation is cached as it grows."""
    if not messages:
        return messages
    marked = [dict(m) for m in messages]
    last = marked[-1]
    content = last["content"]
    if isinstance(content, list) and content:
        blocks = [dict(b) for b in content]
        blocks[-1]["cache_control"] = {"type": "ephemeral"}
        last["content"] = blocks
    return marked


def execute_tool(
    workspace: Workspace,
    tests: TestRunner,
    state: WorkspaceState,
    commit: str,
    tool_use: dict[str, Any],
    test_command: str,
    test_timeout_s: float,
) -> ToolOutcome:
    """Run one tool call from `commit`; a change becomes one new commit."""
    root = workspace.checkout(state, commit)
    name, tool_input, use_id = tool_use.get("name"), tool_use.get("input"), tool_use["id"]
    if not isinstance(tool_input, dict):
        return ToolOutcome(tool_use_id=use_id, content=f"tool input must be a JSON object, got {type(tool_input).__name__}", is_error=True, commit=commit)
    if name == EDITOR_TOOL:
        result = run_editor_command(root, tool_input)
        head = commit
        if result.changed and not result.is_error:
            head = workspace.commit_all(state, f"specmill: {tool_input.get('command')} {tool_input.get('path')}")
        return ToolOutcome(tool_use_id=use_id, content=result.text, is_error=result.is_error, commit=head)
    if name == RUN_TESTS_TOOL:
        selection = tool_input.get("selection")
        extra = set(tool_input) - {"selection"}
        if extra or (selection is not None and not isinstance(selection, str)):
            return ToolOutcome(tool_use_id=use_id, content="run_tests takes one optional string field, 'selection'", is_error=True, commit=commit)
        report = tests.run(root, test_command, selection or None, test_timeout_s)
        workspace.checkout(state, commit)  # tests may leave files behind; the commit stays the truth
        return ToolOutcome(tool_use_id=use_id, content=summarize_report(report), commit=commit, test_report=report)
    return ToolOutcome(
        tool_use_id=use_id,
        content=f"unknown tool '{name}': the available tools are {', '.join(TOOL_NAMES)}",
        is_error=True,
        commit=commit,
    )


def tool_results_message(outcomes: list[ToolOutcome]) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": o.tool_use_id, "content": o.content, "is_error": o.is_error}
            for o in outcomes
        ],
    }


def feedback_for_next_attempt(report: TestReport, verdict: Verdict) -> str:
    lines: list[str] = []
    if not report.ok:
        lines.append("Tests: " + summarize_report(report))
    unmet = [c for c in verdict.criteria if not c.met]
    if unmet:
        lines.append("Criteria not met:")
        lines += [f"- {c.criterion}: {c.evidence}" for c in unmet]
    if verdict.summary:
        lines.append(f"Reviewer: {verdict.summary}")
    return "\n".join(lines)
