"""Write the run's outcome back into the spec note as `## Implementation Status`.

The note belongs to a person, so the merge touches only specmill's section and the
frontmatter `status:` line and keeps every other byte. The write is a compare-and-swap
that re-reads and re-merges on conflict; merging is idempotent, so replays converge on
exactly one status section.
"""

from __future__ import annotations

import re

import yaml

from specmill.errors import NoteConflict
from specmill.markdown import STATUS_HEADING, split_frontmatter, split_lines, status_spans
from specmill.models import Ledger, Note, TestReport, Usage, Verdict
from specmill.ports.spec_store import SpecStore

_STATUS_KEY = re.compile(r"^status[ \t]*:(.*)$")


def _cell(text: str) -> str:
    """Table-cell safe: one line, pipes escaped."""
    flat = text.replace("\\", "\\\\").replace("|", "\\|")
    return "<br>".join(part.strip() for part in flat.splitlines() if part.strip()) or " "


def _inline(text: str) -> str:
    """One bullet line: newlines would end the bullet or start a heading."""
    return " ".join(text.split())


def render_status_section(
    *,
    run_id: str,
    status: str,
    branch: str,
    head_commit: str,
    tests: TestReport | None,
    verdict: Verdict | None,
    iteration: int,
    max_iterations: int,
    reason: str = "",
    usage: Usage | None = None,
    ledger: Ledger | None = None,
    pull_request: str = "",
    environment: str = "",
) -> str:
    """Pure: the section's Markdown, ending with a newline, no line starting with '#' but the heading."""
    lines = [f"## {STATUS_HEADING}", "", f"- Run: `{_inline(run_id)}`", f"- Status: **{_inline(status)}**"]
    if branch:  # a run that failed before it had a workspace has neither branch nor commit
        lines.append(f"- Branch: `{_inline(branch)}`")
    if head_commit:
        lines.append(f"- Head commit: `{_inline(head_commit)}`")
    if pull_request:
        lines.append(f"- Pull request: {_inline(pull_request)}")
    if max_iterations:
        lines.append(f"- Iteration: {iteration} of {max_iterations}")
    if environment:
        lines.append(f"- Environment: {_inline(environment)}")
    if tests is None:
        lines.append("- Tests: not run")
    else:
        counts = f"{tests.passed} passed, {tests.failed} failed, {tests.errors} errors, {tests.skipped} skipped"
        lines.append(f"- Tests: {counts}" + (" (timed out)" if tests.timed_out else ""))
    if usage is not None:
        tokens = f"- Tokens: {usage.input_tokens:,} in, {usage.output_tokens:,} out"
        if usage.cache_read_input_tokens or usage.cache_creation_input_tokens:
            tokens += (
                f", {usage.cache_read_input_tokens:,} cache read, {usage.cache_creation_input_tokens:,} cache write"
            )
        lines.append(tokens)
    if ledger is not None and ledger.phases:
        per_phase = ", ".join(f"{name} ${p.cost_usd:.4f} ({p.calls} calls)" for name, p in ledger.phases.items())
        lines.append(f"- Cost: ${ledger.cost_usd:.4f} ({per_phase})")
    if reason:
        lines.append(f"- Reason: {_inline(reason)}")
    if verdict is not None and verdict.summary:
        lines.append(f"- Summary: {_inline(verdict.summary)}")
    if verdict is not None and verdict.criteria:
        lines += ["", "| Criterion | Met | Evidence |", "| --- | --- | --- |"]
        for item in verdict.criteria:
            lines.append(f"| {_cell(item.criterion)} | {'yes' if item.met else 'no'} | {_cell(item.evidence)} |")
    return "\n".join(lines) + "\n"


def _newline_of(content: str) -> str:
    return "\r\n" if "\r\n" in content else "\n"


def _status_line(status: str, newline: str) -> str:
    dumped = yaml.safe_dump({"status": status}, default_flow_style=False, allow_unicode=True, width=10**9)
    return dumped.strip() + newline


def _set_status(block: str, status: str, newline: str) -> str:
    """Replace (or add) the top-level `status:` line of a frontmatter block, nothing else."""
    lines = block.splitlines(keepends=True)
    body = lines[1:-1]
    for index, line in enumerate(body):
        match = _STATUS_KEY.match(line.rstrip("\r\n"))
        if not match:
            continue
        end = index + 1
        value = match.group(1).strip()
        if not value or value[0] in "|>":  # a block value continues on indented or '- ' lines
            while end < len(body) and (body[end][:1] in (" ", "\t") or body[end].startswith("- ")):
                end += 1
        body[index:end] = [_status_line(status, newline)]
        return lines[0] + "".join(body) + lines[-1]
    if body and not body[-1].endswith("\n"):
        body[-1] += newline
    return lines[0] + "".join(body) + _status_line(status, newline) + lines[-1]


def merge_status(content: str, section: str, status: str) -> str:
    """Pure: put `section` in place of the status section (or append it) and set `status:`.

    Every other byte of the note is kept. Extra status sections (from some earlier
    mishap) are removed, so the result always holds exactly one.
    """
    if not status_spans(split_lines(section)[:1]):
        raise ValueError(f"section must start with '## {STATUS_HEADING}', got {section[:40]!r}")
    newline = _newline_of(content)
    section = section if section.endswith("\n") else section + "\n"
    if newline != "\n":
        section = section.replace("\r\n", "\n").replace("\n", newline)

    block, body = split_frontmatter(content)
    if block:
        block = _set_status(block, status, newline)
    else:
        block = f"---{newline}{_status_line(status, newline)}---{newline}{newline}"

    lines = split_lines(body)
    spans = status_spans(lines)
    if not spans:
        if body and not body.endswith("\n"):
            body += newline
        if body and not body.endswith(newline * 2):
            body += newline
        return block + body + section

    _, first_end = spans[0]
    replacement = section + (newline if first_end < len(lines) else "")  # keep a blank line before what follows
    out: list[str] = []
    cursor = 0
    for number, (start, end) in enumerate(spans):
        out.extend(lines[cursor:start])
        if number == 0:
            out.append(replacement)
        cursor = end
    out.extend(lines[cursor:])
    return block + "".join(out)


def update_spec(
    store: SpecStore,
    project: str,
    permalink: str,
    section: str,
    status: str,
    max_attempts: int = 5,
) -> Note:
    """Read, merge, compare-and-swap; on NoteConflict start over from a fresh read."""
    last_conflict: NoteConflict | None = None
    for _ in range(max(1, max_attempts)):
        note = store.read_note(permalink, project)
        merged = merge_status(note.content, section, status)
        if merged == note.content:
            return note
        try:
            return store.replace_note(note, merged)
        except NoteConflict as conflict:
            last_conflict = conflict
    raise NoteConflict(
        f"note {permalink!r} in project {project!r} kept changing during {max_attempts} attempts "
        "to write the implementation status; try again when nobody is editing it"
    ) from last_conflict
