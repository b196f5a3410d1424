"""What the run page shows beyond the API's detail, computed from DBOS's step records and the
run's progress events. Plain functions, testable without a server or a database."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from specmill.api.schemas import StepView
from specmill.models import Ledger, ModelTurn, ToolOutcome
from specmill.names import phase_of
from specmill.queries import StepRecord

RESUMABLE = ("error", "cancelled", "budget_exhausted", "awaiting_budget")
CANCELLABLE = ("queued", "running", "awaiting_approval", "awaiting_budget")


@dataclass
class ToolCall:
    name: str
    summary: str
    result: str = ""
    is_error: bool = False


@dataclass
class Round:
    number: int
    calls: list[ToolCall] = field(default_factory=list)
    model_calls: int = 0


@dataclass
class Bar:
    phase: str
    cost_usd: float
    tokens: int
    calls: int
    y: int
    width: float


def rounds(steps: list[StepRecord]) -> list[Round]:
    """Each implement round's tool calls, in order: a round starts at the first implement step after
    a step of another phase; each model turn's tool uses are paired with their recorded outcomes."""
    found: list[Round] = []
    outcomes = {s.output.tool_use_id: s.output for s in steps if isinstance(s.output, ToolOutcome)}
    previous_phase = None
    for step in steps:
        phase = phase_of(step.name)
        if phase == "implement" and previous_phase != "implement":
            found.append(Round(number=len(found) + 1))
        previous_phase = phase
        if phase != "implement" or not isinstance(step.output, ModelTurn):
            continue
        found[-1].model_calls += 1
        for block in step.output.content:
            if block.get("type") != "tool_use":
                continue
            outcome = outcomes.get(block.get("id", ""))
            found[-1].calls.append(
                ToolCall(
                    name=str(block.get("name", "")),
                    summary=summarize(block.get("input")),
                    result=first_line(outcome.content) if outcome else "",
                    is_error=bool(outcome and outcome.is_error),
                )
            )
    return [r for r in found if r.model_calls]


def summarize(tool_input: Any, limit: int = 160) -> str:
    """A tool call's input on one line: the command and path first, long text cut."""
    if not isinstance(tool_input, dict):
        return json.dumps(tool_input)[:limit]
    keys = [k for k in ("command", "path", "selection") if k in tool_input]
    head = " ".join(str(tool_input[k]) for k in keys)
    rest = {k: v for k, v in tool_input.items() if k not in keys}
    extra = ", ".join(f"{k}={_short(v)}" for k, v in rest.items())
    return (f"{head} ({extra})" if head and extra else head or extra)[:limit]


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return f"{len(text.splitlines())} lines" if "\n" in text else text[:40]


def first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:limit]


def retries(timeline: list[StepView], events: list[Any]) -> dict[int, int]:
    """Step id -> failed attempts before its outcome, from the run's progress events: DBOS records one
    row per step, and every attempt that failed published a `step_failed` event first. The k-th final
    outcome of a step name belongs to the k-th recorded step of that name."""
    pending: Counter[str] = Counter()
    per_name: dict[str, list[int]] = defaultdict(list)
    for view in timeline:
        per_name[view.name].append(view.step_id)
    seen: Counter[str] = Counter()
    found: dict[int, int] = {}
    failed_final = {v.step_id for v in timeline if v.status == "failed"}
    for event in events:
        kind, name = _get(event, "kind"), _get(event, "step")
        if not name or kind not in ("step_failed", "step_finished"):
            continue
        ids = per_name.get(name, [])
        position = seen[name]
        step_id = ids[position] if position < len(ids) else None
        if kind == "step_failed":
            pending[name] += 1
            if step_id in failed_final:  # the run stopped here: every attempt so far failed
                found[step_id] = pending[name] - 1
            continue
        if step_id is not None:
            found[step_id] = pending[name]
        pending[name] = 0
        seen[name] += 1
    return {k: v for k, v in found.items() if v}


def _get(event: Any, key: str) -> Any:
    return event.get(key) if isinstance(event, dict) else getattr(event, key, None)


def cost_bars(ledger: Ledger, width: float = 240.0, height: int = 22) -> list[Bar]:
    """One bar per phase of the ledger, scaled to the largest cost (or token count, when nothing cost money)."""
    phases = list(ledger.phases.items())
    by_cost = any(p.cost_usd for _, p in phases)
    top = max((p.cost_usd if by_cost else _tokens(p.usage) for _, p in phases), default=0) or 1
    return [
        Bar(
            phase=name,
            cost_usd=p.cost_usd,
            tokens=_tokens(p.usage),
            calls=p.calls,
            y=i * height,
            width=max(2.0, width * (p.cost_usd if by_cost else _tokens(p.usage)) / top),
        )
        for i, (name, p) in enumerate(phases)
    ]


def _tokens(usage: Any) -> int:
    return usage.input_tokens + usage.output_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
