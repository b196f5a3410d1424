"""Phase 1, read the spec: fetch the note through the SpecStore port and turn it into a `Spec`.

The Markdown itself (frontmatter, headings, specmill's status section, list items) is
`specmill.markdown`'s; this module decides what of it a spec is made of: which sections
hold success criteria, and what the author must fix.
"""

from __future__ import annotations

import re

from specmill.errors import BadInput, SpecWithoutCriteria
from specmill.markdown import (
    Heading,
    bullet_items,
    checklist_items,
    parse_frontmatter,
    scan_headings,
    section_bodies,
    section_end,
    split_frontmatter,
    split_lines,
    status_spans,
)
from specmill.models import Criterion, Note, Spec
from specmill.ports.spec_store import SpecStore

# Checklist items count under any of these headings (and in their subsections).
_CRITERIA_HEADING = re.compile(r"\b(how to evaluate|success criteria|acceptance criteria)\b", re.IGNORECASE)
# Plain bullets count only under a heading that says it lists criteria: a plain list under
# 'How to Evaluate' is as often a test plan or a list of metrics as it is criteria.
_NAMES_CRITERIA = re.compile(r"\b(success criteria|acceptance criteria)\b", re.IGNORECASE)
# A spec goes into every model call and into the run's record; past this it is a document, not a spec.
MAX_SPEC_BYTES = 256 * 1024


def parse_spec(note: Note) -> Spec:
    """Pure: a note's text to a Spec; raises BadInput for what the author has to fix.

    specmill's own `## Implementation Status` section is not part of the spec: it is left out
    of the body, the sections and the criteria.
    """
    name = note.title or note.permalink
    block, body = split_frontmatter(note.content)
    frontmatter = parse_frontmatter(block, name)
    lines = split_lines(body)
    headings = scan_headings(lines)
    excluded = {index for start, end in status_spans(lines, headings) for index in range(start, end)}
    visible = [heading for heading in headings if heading.line not in excluded]

    criteria = _criteria(lines, visible, excluded)
    if not criteria:
        raise SpecWithoutCriteria(
            f"spec {name!r} has no success criteria: add '- [ ] ...' items under a '## How to Evaluate' heading"
        )
    return Spec(
        project=note.project,
        permalink=note.permalink,
        title=note.title or str(frontmatter.get("title") or note.permalink),
        frontmatter=frontmatter,
        sections=section_bodies(lines, visible, excluded),
        body="".join(line for index, line in enumerate(lines) if index not in excluded),
        criteria=criteria,
    )


def _criteria(lines: list[str], headings: list[Heading], excluded: set[int]) -> list[Criterion]:
    """The spec's success criteria, in the order they are written.

    - Checklist items (`- [ ]`, `- [x]`, any bullet or number, nested too) in a section named
      'How to Evaluate', 'Success Criteria' or 'Acceptance Criteria', its subsections included.
    - Plain bullets in a section named 'Success Criteria' or 'Acceptance Criteria' (subsections
      included) that has no checklist item: its top-level items, each with its nested items
      after a colon (see `specmill.markdown.bullet_items`).
    """
    spans = [
        (heading, heading.line, section_end(headings, position, len(lines), heading.level))
        for position, heading in enumerate(headings)
        if _CRITERIA_HEADING.search(heading.text)
    ]
    checklist = checklist_items(lines, headings, excluded)
    found = {
        item.line: Criterion(text=item.text, checked=bool(item.checked), section=item.section)
        for item in checklist
        if any(start < item.line < end for _, start, end in spans)
    }
    for heading, start, end in spans:
        if not _NAMES_CRITERIA.search(heading.text) or any(start < item.line < end for item in checklist):
            continue
        for item in bullet_items(lines, heading, headings, excluded):
            found.setdefault(item.line, Criterion(text=item.text, checked=False, section=item.section))
    return [found[line] for line in sorted(found)]


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
