"""Read a spec note and turn it into a `Spec`: frontmatter, sections, success criteria.

The Markdown helpers here (frontmatter split, fence-aware heading scan, the span of
specmill's own status section) are shared with `update_spec`, so reading and writing
agree on what "the Implementation Status section" is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from specmill.errors import BadInput, SpecWithoutCriteria
from specmill.models import Criterion, Note, Spec
from specmill.ports.spec_store import SpecStore

STATUS_HEADING = "Implementation Status"
_FRONTMATTER_OPEN = re.compile(r"^---[ \t]*\r?\n")
_FRONTMATTER_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CHECKBOX = re.compile(r"^(\s*)[-*+][ \t]+\[([ xX])\][ \t]+(.*?)\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])[ \t]+")
_CRITERIA_HEADING = re.compile(r"\b(how to evaluate|success criteria|acceptance criteria)\b", re.IGNORECASE)
# A spec goes into every model call and into the run's record; past this it is a document, not a spec.
MAX_SPEC_BYTES = 256 * 1024


@dataclass(frozen=True)
class Heading:
    line: int  # index into the body's lines
    level: int
    text: str


def split_frontmatter(content: str) -> tuple[str, str]:
    """Return (frontmatter block including both `---` lines, the rest); ('', content) if none."""
    if not _FRONTMATTER_OPEN.match(content):
        return "", content
    lines = content.splitlines(keepends=True)
    for index in range(1, len(lines)):
        if _FRONTMATTER_CLOSE.match(lines[index].rstrip("\n")):
            head = "".join(lines[: index + 1])
            return head, content[len(head) :]
    return "", content  # an unclosed `---` is a thematic break, not frontmatter


def parse_frontmatter(block: str, name: str) -> dict[str, Any]:
    """YAML between the `---` lines; malformed YAML is the author's to fix, so BadInput."""
    if not block:
        return {}
    inner = "".join(block.splitlines(keepends=True)[1:-1])
    try:
        data = yaml.safe_load(inner)
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        raise BadInput(
            f"spec {name!r} has malformed YAML frontmatter ({first}): fix the block between the '---' lines"
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadInput(f"spec {name!r} has frontmatter that is not a mapping: use 'key: value' lines between '---'")
    return {str(key): value for key, value in data.items()}


def heading_text(raw: str | None) -> str:
    """Heading text without a closing `###` sequence."""
    text = (raw or "").strip()
    text = re.sub(r"(?:^|[ \t]+)#+$", "", text)
    return text.strip()


def fenced_lines(lines: list[str]) -> set[int]:
    """Indexes of lines inside fenced code blocks, the fences themselves included."""
    inside: set[int] = set()
    fence: str | None = None
    for index, line in enumerate(lines):
        stripped = line.rstrip("\r\n")
        match = _FENCE.match(stripped)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None:
            closes = (
                match is not None
                and match.group(1)[0] == fence[0]
                and len(match.group(1)) >= len(fence)
                and not stripped.strip()[len(match.group(1)) :].strip()
            )
            if closes:
                fence = None
        else:
            continue
        inside.add(index)
    return inside


def scan_headings(lines: list[str]) -> list[Heading]:
    """ATX headings outside fenced code blocks."""
    fenced = fenced_lines(lines)
    headings: list[Heading] = []
    for index, line in enumerate(lines):
        match = None if index in fenced else _HEADING.match(line.rstrip("\r\n"))
        if match:
            headings.append(Heading(index, len(match.group(1)), heading_text(match.group(2))))
    return headings


def section_end(headings: list[Heading], position: int, total_lines: int, max_level: int) -> int:
    """Line index where the section of headings[position] ends: next heading of level <= max_level."""
    for heading in headings[position + 1 :]:
        if heading.level <= max_level:
            return heading.line
    return total_lines


def is_status_heading(heading: Heading) -> bool:
    return heading.level <= 2 and heading.text.rstrip(":").strip().casefold() == STATUS_HEADING.casefold()


def status_spans(lines: list[str], headings: list[Heading] | None = None) -> list[tuple[int, int]]:
    """[start, end) line spans of specmill's status sections: to the next heading of level <= 2."""
    headings = scan_headings(lines) if headings is None else headings
    return [
        (heading.line, section_end(headings, position, len(lines), 2))
        for position, heading in enumerate(headings)
        if is_status_heading(heading)
    ]


def parse_spec(note: Note) -> Spec:
    """Pure: a note's text to a Spec; raises BadInput for what the author has to fix."""
    name = note.title or note.permalink
    block, body = split_frontmatter(note.content)
    frontmatter = parse_frontmatter(block, name)
    lines = body.splitlines(keepends=True)
    headings = scan_headings(lines)
    excluded: set[int] = set()
    for start, end in status_spans(lines, headings):
        excluded.update(range(start, end))

    visible = [h for h in headings if h.line not in excluded]
    sections: dict[str, str] = {}
    for position, heading in enumerate(visible):
        end = section_end(visible, position, len(lines), heading.level)
        text = "".join(line for i, line in enumerate(lines[heading.line + 1 : end], heading.line + 1) if i not in excluded)
        key, n = heading.text, 2
        while key in sections:
            key, n = f"{heading.text} ({n})", n + 1
        sections[key] = text.strip("\n")

    criteria = _criteria(lines, visible, excluded | fenced_lines(lines))
    if not criteria:
        raise SpecWithoutCriteria(
            f"spec {name!r} has no success criteria: add '- [ ] ...' items under a '## How to Evaluate' heading"
        )
    return Spec(
        project=note.project,
        permalink=note.permalink,
        title=note.title or str(frontmatter.get("title") or note.permalink),
        frontmatter=frontmatter,
        sections=sections,
        body="".join(line for i, line in enumerate(lines) if i not in excluded),
        criteria=criteria,
    )


def _criteria(lines: list[str], headings: list[Heading], skip: set[int]) -> list[Criterion]:
    """Checklist items in sections named like 'How to Evaluate', their sub-sections included."""
    in_scope: dict[int, str] = {}  # line index -> nearest heading text
    for position, heading in enumerate(headings):
        if not _CRITERIA_HEADING.search(heading.text):
            continue
        end = section_end(headings, position, len(lines), heading.level)
        nearest = heading.text
        inner = {h.line: h.text for h in headings[position + 1 :] if h.line < end}
        for index in range(heading.line + 1, end):
            nearest = inner.get(index, nearest)
            in_scope.setdefault(index, nearest)

    criteria: list[Criterion] = []
    current: Criterion | None = None
    for index, line in enumerate(lines):
        if index not in in_scope or index in skip:
            current = None
            continue
        stripped = line.rstrip("\r\n")
        match = _CHECKBOX.match(stripped)
        if match and match.group(3):
            current = Criterion(text=match.group(3), checked=match.group(2) != " ", section=in_scope[index])
            criteria.append(current)
        elif current is not None and stripped.strip() and stripped[:1] in " \t" and not _LIST_ITEM.match(stripped):
            current.text = f"{current.text} {stripped.strip()}"  # a wrapped continuation line
        else:
            current = None
    return criteria


def read_spec(store: SpecStore, identifier: str, project: str) -> Spec:
    """Fetch the note and parse it; SpecNotFound / SpecWithoutCriteria / BadInput surface as-is."""
    note = store.read_note(identifier, project)
    size = len(note.content.encode("utf-8"))
    if size > MAX_SPEC_BYTES:
        raise BadInput(
            f"spec {note.title or note.permalink!r} is {size:,} bytes, over the {MAX_SPEC_BYTES:,}-byte limit of a "
            "spec note: keep the spec to what should be built and move reference material into linked notes"
        )
    return parse_spec(note)
