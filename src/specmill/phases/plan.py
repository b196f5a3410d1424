"""Plan: one forced `record_plan` call turns the spec and the pattern brief into tasks a person approves.

Each task names the success criteria it serves and the files it expects to touch; a criterion no
task serves is flagged, so the person approving sees the gap. The approved plan then goes into the
implement phase's system prompt, and validate judges its tasks beside the spec's criteria.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from specmill.models import Criterion, ModelRequest, ModelTurn, PatternBrief, Spec, Usage

PLAN_TOOL = "record_plan"
APPROVE_LINE = "Approve this plan"
_TICKED = re.compile(r"^\s{0,3}[-*+]\s+\[[xX]\]\s+" + re.escape(APPROVE_LINE) + r"\s*$", re.MULTILINE)


class PlanTask(BaseModel):
    title: str
    criteria: list[str] = Field(default_factory=list, description="The success criteria this task serves.")
    files: list[str] = Field(default_factory=list, description="The files it expects to touch.")


class Plan(BaseModel):
    summary: str
    tasks: list[PlanTask]
    unserved: list[str] = Field(default_factory=list, description="Success criteria no task serves.")
    attempt: int = Field(default=1, description="1 for the first plan, one more for each re-plan.")
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0


def plan_tool() -> dict[str, Any]:
    return {
        "name": PLAN_TOOL,
        "description": "Record the plan: a summary, and the tasks with the criteria each serves and its files.",
        "input_schema": {
            "type": "object",
            "properties": {
                "summary": {"type": "string"},
                "tasks": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "title": {"type": "string"},
                            "criteria": {"type": "array", "items": {"type": "string"}},
                            "files": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["title", "criteria", "files"],
                    },
                },
            },
            "required": ["summary", "tasks"],
        },
    }


def plan_request(model: str, spec: Spec, brief: PatternBrief, attempt: int, feedback: str) -> ModelRequest:
    criteria = "\n".join(f"{i}. {c.text}" for i, c in enumerate(spec.criteria, 1))
    text = (
        f"Plan {attempt}. Plan the implementation of the spec '{spec.title}' before any code is written.\n\n"
        f"# The spec\n\n{spec.body.strip()}\n\n## Success criteria\n{criteria}\n\n"
        f"# Pattern brief of the repository\n\n{brief.markdown.strip()}\n\n"
        "Split the work into a few tasks. For each, name the success criteria it serves (their exact text) "
        f"and the files it expects to touch. Answer with the {PLAN_TOOL} tool."
    )
    if feedback:
        text += f"\n\nA person rejected the previous plan, saying:\n\n{feedback}\n\nPlan again with that in mind."
    return ModelRequest(
        model=model,
        system=[{"type": "text", "text": "You are a careful engineer who plans work before doing it."}],
        messages=[{"role": "user", "content": [{"type": "text", "text": text}]}],
        tools=[plan_tool()],
        tool_choice={"type": "tool", "name": PLAN_TOOL},
        max_tokens=4096,
    )


def parse_plan(spec: Spec, turn: ModelTurn, attempt: int) -> Plan:
    """The tool input as a Plan; malformed entries are dropped, and unserved criteria listed."""
    raw: dict[str, Any] = {}
    for use in turn.tool_uses:
        if use.get("name") == PLAN_TOOL and isinstance(use.get("input"), dict):
            raw = use["input"]
            break
    tasks = [task for entry in raw.get("tasks") or [] if (task := _task(entry)) is not None]
    served = {_norm(text) for task in tasks for text in task.criteria}
    summary = str(raw.get("summary") or ("" if raw else f"the model did not call {PLAN_TOOL}"))
    return Plan(
        summary=summary,
        tasks=tasks,
        unserved=[c.text for c in spec.criteria if _norm(c.text) not in served],
        attempt=attempt,
        usage=turn.usage,
    )


def render_plan(plan: Plan) -> list[str]:
    """The plan as lines of the spec's status section (no headings: the section has one)."""
    lines = ["", f"**Plan {plan.attempt}:** {_inline(plan.summary)}", ""]
    for number, task in enumerate(plan.tasks, 1):
        lines.append(f"{number}. {_inline(task.title)}")
        if task.criteria:
            lines.append(f"   - Serves: {'; '.join(_inline(c) for c in task.criteria)}")
        if task.files:
            lines.append(f"   - Files: {', '.join(f'`{_inline(f)}`' for f in task.files)}")
    if plan.unserved:
        lines += ["", "Served by no task:"] + [f"- {_inline(text)}" for text in plan.unserved]
    return [*lines, "", f"- [ ] {APPROVE_LINE}"]


def approval_ticked(section: str) -> bool:
    """Whether a person ticked the approval checkbox in specmill's section of the note."""
    return bool(_TICKED.search(section))


def plan_prompt(plan: Plan) -> str:
    """The approved plan, for the implement phase's system prompt."""
    tasks = "\n".join(
        f"{n}. {t.title}" + (f" (files: {', '.join(t.files)})" if t.files else "") for n, t in enumerate(plan.tasks, 1)
    )
    return f"# The approved plan\n\n{plan.summary.strip()}\n\n{tasks}"


def with_plan_tasks(spec: Spec, plan: Plan | None) -> Spec:
    """The spec with each task of the approved plan as one more criterion, so validate judges them too."""
    if plan is None:
        return spec
    tasks = [Criterion(text=f"Plan task: {task.title}", section="Plan") for task in plan.tasks]
    return spec.model_copy(update={"criteria": [*spec.criteria, *tasks]})


def _task(entry: Any) -> PlanTask | None:
    if not isinstance(entry, dict) or not str(entry.get("title") or "").strip():
        return None
    return PlanTask(
        title=str(entry["title"]),
        criteria=[str(c) for c in entry.get("criteria") or [] if isinstance(c, str)],
        files=[str(f) for f in entry.get("files") or [] if isinstance(f, str)],
    )


def _inline(text: str) -> str:
    return " ".join(text.split())


def _norm(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .")
