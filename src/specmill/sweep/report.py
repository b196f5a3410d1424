"""The sweep report note: what a sweep found and enqueued, and, added by the next sweep, how
its runs ended.

Rendering is pure. The report of a sweep is written once under a title of its own, so two
sweeps never write one note; the next sweep's `## Final Status` section goes in with a
compare-and-swap that re-reads on conflict, and replaces itself when written again.
"""

from __future__ import annotations

import hashlib
import json

from specmill.errors import NoteConflict
from specmill.markdown import scan_headings, section_end, split_frontmatter, split_lines
from specmill.models import Note
from specmill.ports.spec_store import SpecStore
from specmill.sweep.discover import NOT_READY
from specmill.sweep.models import RunOutcome, Skipped, SweepResult

FINAL_STATUS_HEADING = "Final Status"


def report_title(result: SweepResult) -> str:
    """Unique per sweep (two sweeps may start in the same second), sortable by time."""
    tag = hashlib.sha256(result.sweep_id.encode("utf-8")).hexdigest()[:6]
    return f"{result.started_at:%Y-%m-%d %H%M%S} {tag}"


def render_report(result: SweepResult) -> str:
    when = f"{result.started_at:%Y-%m-%d %H:%M:%S %Z}".strip()
    trigger = result.trigger + (f" (slot {result.started_at.isoformat()})" if result.trigger == "schedule" else "")
    lines = [
        "---",
        "type: sweep-report",
        f"sweep_id: {json.dumps(result.sweep_id)}",
        "---",
        "",
        f"# Sweep {when}",
        "",
        f"- Sweep: `{result.sweep_id}`",
        f"- Project: `{result.project}`",
        f"- Trigger: {trigger}",
        f"- Spec notes: {result.spec_notes}; ready with a repository: {len(result.candidates)}; "
        f"enqueued: {len(result.enqueued)}; skipped: {len(result.skipped)}",
    ]
    if result.previous_sweep:
        lines.append(
            f"- Previous sweep: `{result.previous_sweep}` (the final status of its runs is added to its report)"
        )
    lines += ["", "## Enqueued", ""]
    if result.enqueued:
        lines += ["| Spec | Run | Repository |", "| --- | --- | --- |"]
        lines += [f"| {_cell(c.permalink)} | `{c.run_id}` | {_cell(c.repo)} |" for c in result.enqueued]
    else:
        lines.append("Nothing new to implement.")
    if result.superseded:
        lines += ["", "## Superseded", "", "Queued runs of older versions, cancelled before they started:", ""]
        lines += [f"- `{run_id}`" for run_id in result.superseded]
    lines += ["", "## Skipped", ""]
    not_ready = [s for s in result.skipped if s.reason.startswith(NOT_READY)]
    others = [s for s in result.skipped if not s.reason.startswith(NOT_READY)]
    if others:
        lines += ["| Spec | Reason |", "| --- | --- |"]
        lines += [f"| {_cell(s.permalink)} | {_cell(s.reason)} |" for s in others]
    if not_ready:  # most spec notes, most nights: one line per status found, not one row each
        lines += [""] if others else []
        for reason, notes in group_by_reason(not_ready).items():
            names = ", ".join(f"`{s.permalink}`" for s in notes)
            lines.append(f"{_cell(reason).capitalize()} ({len(notes)}): {names}")
    if not result.skipped:
        lines.append("No spec note was skipped.")
    return "\n".join(lines) + "\n"


def group_by_reason(skipped: list[Skipped]) -> dict[str, list[Skipped]]:
    """Reason -> the notes skipped for it, in order of first appearance."""
    groups: dict[str, list[Skipped]] = {}
    for note in skipped:
        groups.setdefault(note.reason, []).append(note)
    return groups


def render_final_status(outcomes: list[RunOutcome], by_sweep: str) -> str:
    """The section the next sweep adds to a report: each run's state when that sweep looked."""
    lines = [f"## {FINAL_STATUS_HEADING}", "", f"As sweep `{by_sweep}` found them:", ""]
    if outcomes:
        lines += ["| Run | Spec | Status |", "| --- | --- | --- |"]
        lines += [f"| `{o.run_id}` | {_cell(o.spec)} | {o.state} |" for o in outcomes]
    else:
        lines.append("This sweep enqueued no runs.")
    return "\n".join(lines) + "\n"


def merge_section(content: str, section: str) -> str:
    """Put `section` (a `## ` heading and its body) in place of the note's section of that
    heading, or append it; every other byte stays."""
    own = scan_headings(split_lines(section))
    if not own or own[0].line != 0 or own[0].level != 2:
        raise ValueError(f"section must start with a '## ' heading, got {section[:40]!r}")
    block, body = split_frontmatter(content)
    lines = split_lines(body)
    headings = scan_headings(lines)
    for position, found in enumerate(headings):
        if found.level == 2 and found.text == own[0].text:
            end = section_end(headings, position, len(lines), 2)
            tail = "".join(lines[end:])
            return block + "".join(lines[: found.line]) + section + ("\n" + tail if tail else "")
    separator = "" if not body or body.endswith("\n\n") else ("\n" if body.endswith("\n") else "\n\n")
    return block + body + separator + section


def add_final_status(store: SpecStore, project: str, permalink: str, section: str, max_attempts: int = 5) -> Note:
    """Read, merge, compare-and-swap; on a conflict (another sweep, a person) start over."""
    for _ in range(max(1, max_attempts)):
        note = store.read_note(permalink, project)
        merged = merge_section(note.content, section)
        if merged == note.content:
            return note
        try:
            return store.replace_note(note, merged)
        except NoteConflict:
            continue
    raise NoteConflict(
        f"report {permalink!r} in project {project!r} kept changing; the next sweep adds its final status"
    )


def _cell(text: str) -> str:
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split()) or " "
