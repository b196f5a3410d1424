"""Implement: the pieces of the model/tool loop, as plain functions.

The loop itself lives in the workflow so that every model call and every tool
execution is its own checkpointed step; here are the requests it sends and the
tools it runs. Nothing volatile (run ids, timestamps) goes into the system prompt,
so tools + system + spec + brief form one stable, cacheable prefix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from specmill.models import (
    ModelRequest,
    PatternBrief,
    RepoEnvironment,
    Spec,
    TestReport,
    ToolOutcome,
    Verdict,
    WorkspaceState,
)
from specmill.phases.file_tools import run_editor_command
from specmill.phases.test_selection import selection_problem
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
                "errors and skipped with failure messages. Pass `selection` (test paths or node ids, "
                "for example `tests/test_x.py::test_y`; no options) to run part of the suite."
            ),
            "input_schema": {
                "type": "object",
                "properties": {"selection": {"type": "string", "description": "Test paths or node ids."}},
                "additionalProperties": False,
            },
        },
    ]


def system_blocks(
    playbook: Playbook, spec: Spec, brief: PatternBrief, test_command: str | None = None, plan: str = ""
) -> list[dict[str, Any]]:
    criteria = "\n".join(f"- [ ] {c.text}" for c in spec.criteria)
    text = (
        f"{playbook.prompt}\n\n"
        f"# The spec: {spec.title}\n\n{spec.body.strip()}\n\n"
        f"## Success criteria to satisfy\n{criteria}\n\n"
        f"# Pattern brief of the repository\n\n{brief.markdown.strip()}\n\n"
        + (f"{plan.strip()}\n\n" if plan else "")
        + "# Tools\nPaths are relative to the repository root; a leading '/' means the repository root. "
        f"The test command is `{test_command or playbook.test_command or 'python -m pytest'}`."
    )
    return [{"type": "text", "text": text}]


def opening_message(attempt: int, max_attempts: int, feedback: str) -> dict[str, Any]:
    text = f"Attempt {attempt} of {max_attempts}. Implement the spec in this repository."
    if feedback:
        text += f"\n\nThe previous attempt was not accepted:\n\n{feedback}\n\nFix these problems."
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def model_request(
    model: str,
    playbook: Playbook,
    system: list[dict[str, Any]],
    messages: list[dict[str, Any]],
    *,
    caching: bool = True,
    cache_ttl: str = "5m",
) -> ModelRequest:
    request = ModelRequest(
        model=model,
        system=system,
        messages=trim_old_tool_results(messages, playbook.keep_tool_results),
        tools=tool_definitions(),
        max_tokens=playbook.max_tokens,
    )
    return with_cache_breakpoints(request, cache_ttl) if caching else request


def with_cache_breakpoints(request: ModelRequest, ttl: str) -> ModelRequest:
    """Three breakpoints: after the tools, after the system prompt (spec and brief included),
    and on the newest message, so the stable prefix and the growing conversation are both cached."""
    marker: dict[str, Any] = {"type": "ephemeral", "ttl": ttl} if ttl == "1h" else {"type": "ephemeral"}
    tools = [dict(t) for t in request.tools]
    if tools:
        tools[-1]["cache_control"] = marker
    system = [dict(b) for b in request.system]
    if system:
        system[-1]["cache_control"] = marker
    messages = [dict(m) for m in request.messages]
    if messages and isinstance(messages[-1]["content"], list) and messages[-1]["content"]:
        blocks = [dict(b) for b in messages[-1]["content"]]
        blocks[-1]["cache_control"] = marker
        messages[-1]["content"] = blocks
    return request.model_copy(update={"tools": tools, "system": system, "messages": messages})


def trim_old_tool_results(messages: list[dict[str, Any]], keep: int) -> list[dict[str, Any]]:
    """Shrink old tool results to one line, `keep` at a time, so the cached prefix changes rarely.

    Between `keep` and `2 * keep - 1` recent results stay whole; each time another `keep`
    arrive, the oldest `keep` whole ones shrink together.
    """
    positions = [
        (i, j)
        for i, m in enumerate(messages)
        if m["role"] == "user" and isinstance(m["content"], list)
        for j, b in enumerate(m["content"])
        if b.get("type") == "tool_result"
    ]
    trimmed = max(0, (len(positions) - keep) // keep * keep)
    if not trimmed:
        return messages
    out = [dict(m) for m in messages]
    for i, j in positions[:trimmed]:
        blocks = [dict(b) for b in out[i]["content"]]
        size = len(str(blocks[j].get("content", "")))
        blocks[j]["content"] = f"[older tool result of {size} characters trimmed; run the tool again if you need it]"
        out[i]["content"] = blocks
    return out


def call_signature(tool_use: dict[str, Any], outcome: ToolOutcome) -> str:
    """Same tool, same input, same result: the shape of a loop."""
    payload = json.dumps([tool_use.get("name"), tool_use.get("input")], sort_keys=True, default=str)
    return hashlib.sha256((payload + "\x00" + outcome.content).encode()).hexdigest()


def execute_tool(
    workspace: Workspace,
    tests: TestRunner,
    state: WorkspaceState,
    commit: str,
    tool_use: dict[str, Any],
    test_command: str,
    test_timeout_s: float,
    protected: Sequence[str] | None = None,
    environment: RepoEnvironment | None = None,
) -> ToolOutcome:
    """Run one tool call from `commit`; a change becomes one new commit. `protected` paths
    (None: the file tools' defaults) cannot be changed."""
    root = workspace.checkout(state, commit)
    name, tool_input, use_id = tool_use.get("name"), tool_use.get("input"), tool_use["id"]
    if not isinstance(tool_input, dict):
        return ToolOutcome(
            tool_use_id=use_id,
            content=f"tool input must be a JSON object, got {type(tool_input).__name__}",
            is_error=True,
            commit=commit,
        )
    if name == EDITOR_TOOL:
        result = run_editor_command(root, tool_input, protected=protected)
        head = commit
        if result.changed and not result.is_error:
            head = workspace.commit_all(state, f"specmill: {tool_input.get('command')} {tool_input.get('path')}")
        return ToolOutcome(tool_use_id=use_id, content=result.text, is_error=result.is_error, commit=head)
    if name == RUN_TESTS_TOOL:
        selection = tool_input.get("selection")
        extra = set(tool_input) - {"selection"}
        if extra or (selection is not None and not isinstance(selection, str)):
            return ToolOutcome(
                tool_use_id=use_id,
                content="run_tests takes one optional string field, 'selection'",
                is_error=True,
                commit=commit,
            )
        refused = selection_problem(selection, root) if selection else None
        if refused:
            return ToolOutcome(tool_use_id=use_id, content=refused, is_error=True, commit=commit)
        report = tests.run(root, test_command, selection or None, test_timeout_s, environment=environment)
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


def feedback_for_next_attempt(report: TestReport, verdict: Verdict, round_detail: str = "") -> str:
    lines: list[str] = []
    if round_detail:
        lines.append(f"The round stopped early: {round_detail}.")
    if not report.ok:
        lines.append("Tests: " + summarize_report(report))
    unmet = [c for c in verdict.criteria if not c.met]
    if unmet:
        lines.append("Criteria not met:")
        lines += [f"- {c.criterion}: {c.evidence}" for c in unmet]
    if verdict.summary:
        lines.append(f"Reviewer: {verdict.summary}")
    return "\n".join(lines)
