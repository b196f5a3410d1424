"""Validate: one forced `record_verdict` call judges the change against every criterion."""

from __future__ import annotations

from typing import Any

from specmill.models import CriterionVerdict, ModelRequest, ModelTurn, Spec, TestReport, Verdict
from specmill.phases.test_summary import summarize_report

VERDICT_TOOL = "record_verdict"
_MAX_DIFF_CHARS = 60_000


def verdict_tool() -> dict[str, Any]:
    return {
        "name": VERDICT_TOOL,
        "description": "Record, for every success criterion, whether the change meets it and the evidence.",
        "input_schema": {
            "type": "object",
            "properties": {
                "criteria": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "criterion": {"type": "string"},
                            "met": {"type": "boolean"},
                            "evidence": {"type": "string"},
                        },
                        "required": ["criterion", "met", "evidence"],
                    },
                },
                "summary": {"type": "string"},
            },
            "required": ["criteria", "summary"],
        },
    }


def verdict_request(
    model: str, spec: Spec, diff: str, report: TestReport, attempt: int, max_attempts: int
) -> ModelRequest:
    criteria = "\n".join(f"{i}. {c.text}" for i, c in enumerate(spec.criteria, 1))
    if len(diff) > _MAX_DIFF_CHARS:
        diff = diff[:_MAX_DIFF_CHARS] + "\n... (diff truncated)"
    text = (
        f"Attempt {attempt} of {max_attempts}. Review this change against the spec '{spec.title}'.\n\n"
        f"## Success criteria\n{criteria}\n\n## Test report\n{summarize_report(report)}\n\n"
        f"## Diff against the base commit\n```diff\n{diff or '(no changes)'}\n```\n\n"
        "Judge each criterion strictly: met only when the diff and the tests show it. "
        f"Answer with the {VERDICT_TOOL} tool, one entry per criterion, in the order given."
    )
    return ModelRequest(
        model=model,
        system=[{"type": "text", "text": "You are a careful reviewer who checks work against its spec."}],
        messages=[{"role": "user", "content": [{"type": "text", "text": text}]}],
        tools=[verdict_tool()],
        tool_choice={"type": "tool", "name": VERDICT_TOOL},
        max_tokens=4096,
    )


def parse_verdict(spec: Spec, turn: ModelTurn) -> Verdict:
    """Align the model's entries with the spec's criteria; anything missing or malformed counts as not met."""
    entries: list[Any] = []
    summary = ""
    for use in turn.tool_uses:
        if use.get("name") == VERDICT_TOOL and isinstance(use.get("input"), dict):
            entries = use["input"].get("criteria") or []
            summary = str(use["input"].get("summary") or "")
            break
    else:
        summary = "the reviewer did not call record_verdict"
    by_text: dict[str, CriterionVerdict] = {}
    ordered: list[CriterionVerdict | None] = []
    for entry in entries if isinstance(entries, list) else []:
        parsed = _entry(entry)
        ordered.append(parsed)
        if parsed:
            by_text.setdefault(_norm(parsed.criterion), parsed)
    result = []
    for index, criterion in enumerate(spec.criteria):
        found = by_text.get(_norm(criterion.text))
        if found is None and index < len(ordered):
            found = ordered[index]
        if found is None:
            result.append(
                CriterionVerdict(criterion=criterion.text, met=False, evidence="not assessed by the reviewer")
            )
        else:
            result.append(CriterionVerdict(criterion=criterion.text, met=found.met, evidence=found.evidence))
    return Verdict(criteria=result, summary=summary, usage=turn.usage)


def _entry(entry: Any) -> CriterionVerdict | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("met"), bool):
        return None
    return CriterionVerdict(
        criterion=str(entry.get("criterion", "")), met=entry["met"], evidence=str(entry.get("evidence", ""))
    )


def _norm(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .")
