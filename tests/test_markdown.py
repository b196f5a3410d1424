"""specmill.markdown: what is a heading, a section, specmill's status section and a list item."""

from __future__ import annotations

import pytest

from specmill.errors import BadInput
from specmill.markdown import (
    bullet_items,
    checklist_items,
    list_items,
    parse_frontmatter,
    scan_headings,
    section_bodies,
    split_frontmatter,
    split_lines,
    status_spans,
)


def headings_of(text: str) -> list[tuple[int, int, str]]:
    return [(h.line, h.level, h.text) for h in scan_headings(split_lines(text))]


def test_hash_lines_in_backtick_and_tilde_fences_are_not_headings() -> None:
    text = (
        "# Real\n"
        "```python\n# a comment\n## Implementation Status\n```\n"
        "~~~\n# shell prompt\n```\n# still code: a backtick line does not close a tilde fence\n~~~\n"
        "````\n```\n# inside the longer fence\n```\n````\n"
        "## After\n"
    )
    assert headings_of(text) == [(0, 1, "Real"), (15, 2, "After")]


def test_an_unclosed_fence_runs_to_the_end() -> None:
    assert headings_of("# A\n```\n## not a heading\n") == [(0, 1, "A")]


def test_indented_code_html_blocks_quotes_and_list_items_hold_no_headings() -> None:
    text = (
        "Intro.\n\n"
        "    # indented code\n\n"
        "<div>\n# inside an HTML block\n</div>\n\n"
        "> ## quoted\n\n"
        "- item\n\n  ## inside the item\n\n"
        "## Top\n"
    )
    assert headings_of(text) == [(14, 2, "Top")]


def test_closing_hashes_are_not_part_of_the_text() -> None:
    text = "## Acceptance criteria (v2) ##\n### Title ###   \n# C#\n#### Hash \\#\n##\n#not a heading\n"
    assert headings_of(text) == [
        (0, 2, "Acceptance criteria (v2)"),
        (1, 3, "Title"),
        (2, 1, "C#"),
        (3, 4, "Hash \\#"),
        (4, 2, ""),
    ]


def test_setext_headings_count_and_their_section_starts_after_the_underline() -> None:
    lines = split_lines("Title\n=====\nintro\n\nImplementation Status\n---\n- Run: `r`\n\nNotes\n-----\nkept\n")
    headings = scan_headings(lines)
    assert [(h.line, h.level, h.text, h.body_line) for h in headings] == [
        (0, 1, "Title", 2),
        (4, 2, "Implementation Status", 6),
        (8, 2, "Notes", 10),
    ]
    assert status_spans(lines) == [(4, 8)]
    assert section_bodies(lines)["Notes"] == "kept"
    assert headings_of("Text\n\n---\n") == []  # after a blank line, `---` is a thematic break


def test_crlf_notes_keep_their_line_ends_and_line_numbers() -> None:
    content = "---\r\ntitle: T\r\n---\r\n# T\r\n\r\n## Implementation Status\r\n- Run: x\r\n\r\n## Notes\r\nkept\r\n"
    block, body = split_frontmatter(content)
    assert block == "---\r\ntitle: T\r\n---\r\n" and parse_frontmatter(block, "T") == {"title": "T"}
    lines = split_lines(body)
    assert "".join(lines) == body and all(line.endswith("\r\n") for line in lines)
    assert headings_of(body) == [(0, 1, "T"), (2, 2, "Implementation Status"), (5, 2, "Notes")]
    assert status_spans(lines) == [(2, 5)]
    assert section_bodies(lines)["Notes"] == "kept\r"  # bodies are line ranges: every byte kept


def test_lines_split_where_markdown_it_splits_them() -> None:
    text = "a\x0cb\u2028c\rd\r\ne\nf"
    assert split_lines(text) == ["a\x0cb\u2028c\r", "d\r\n", "e\n", "f"]
    assert headings_of("x\x0cy\n# H\n") == [(1, 1, "H")]


def test_a_note_without_frontmatter() -> None:
    assert split_frontmatter("# Spec\n\ntext\n") == ("", "# Spec\n\ntext\n")
    unclosed = "---\ntitle: x\n\n# Spec\n"
    assert split_frontmatter(unclosed) == ("", unclosed)  # a thematic break, not frontmatter
    assert parse_frontmatter("", "spec") == {}
    assert split_frontmatter("---\n...\nrest\n") == ("---\n...\n", "rest\n")


def test_broken_yaml_is_one_line_of_bad_input_naming_the_note_and_the_fix() -> None:
    block, _ = split_frontmatter("---\ntitle: [unclosed\nstatus: ready\n---\n# x\n")
    with pytest.raises(BadInput) as caught:
        parse_frontmatter(block, "Login Spec")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("spec 'Login Spec' has malformed YAML frontmatter (")
    assert message.endswith("): fix the block between the '---' lines")
    with pytest.raises(BadInput, match="not a mapping"):
        parse_frontmatter("---\n- a\n---\n", "Login Spec")


def test_two_implementation_status_sections_are_both_found() -> None:
    lines = split_lines(
        "# Spec\n\n## Implementation Status\n- Run: a\n### Details\nx\n\n## Notes\nn\n\n"
        "# implementation status:\n- Run: b\n\n### Implementation Status\nnot specmill's: level 3\n"
    )
    assert status_spans(lines) == [(2, 7), (10, len(lines))]
    assert [h.text for h in scan_headings(lines)].count("Implementation Status") == 2


def test_section_bodies_include_subsections_and_number_repeats() -> None:
    lines = split_lines("# A\na\n## B\nb\n## B\nb2\n### C\nc\n")
    assert section_bodies(lines) == {"A": "a\n## B\nb\n## B\nb2\n### C\nc", "B": "b", "B (2)": "b2\n### C\nc", "C": "c"}
    assert section_bodies(lines, skip={5})["B (2)"] == "### C\nc"


CHECKLIST = """# Spec
- [ ] before any heading

## Evaluate
- [ ] dash item
  wrapped onto a second line
* [x] star item
+ [X] plus item
1. [ ] numbered item
2) [x] numbered with a parenthesis
- [ ]
- [ ]no space after the box is text
- plain item
  - [ ] nested under a plain item

> - [ ] quoted, not the spec's

```
- [ ] in a fence
```

### Sub
- [ ] under the subsection
"""


def test_checklist_items_with_the_heading_they_sit_under() -> None:
    items = checklist_items(split_lines(CHECKLIST))
    assert [(i.text, i.checked, i.section) for i in items] == [
        ("before any heading", False, "Spec"),
        ("dash item wrapped onto a second line", False, "Evaluate"),
        ("star item", True, "Evaluate"),
        ("plus item", True, "Evaluate"),
        ("numbered item", False, "Evaluate"),
        ("numbered with a parenthesis", True, "Evaluate"),
        ("nested under a plain item", False, "Evaluate"),
        ("under the subsection", False, "Sub"),
    ]
    assert checklist_items(split_lines(CHECKLIST), skip={4})[1].text == "star item"
    assert checklist_items(split_lines("- [ ] no heading\n"))[0].section == ""


def test_list_items_know_their_depth_and_children() -> None:
    items = list_items(split_lines("- a\n  - b\n    - c\n- d\n"))
    assert [(i.text, i.depth, i.line, i.end) for i in items] == [
        ("a", 0, 0, 3),
        ("b", 1, 1, 3),
        ("c", 2, 2, 3),
        ("d", 0, 3, 4),
    ]
    assert [child.text for child in items[0].children] == ["b"]


REAL_SHAPE = """## How to Evaluate

### Success Criteria

**Sync**:
- Initial scan under 30 seconds
- Memory stays flat:
  - under 500 MB for 2,000 files
  - 64 KB chunks for large files
    - even for a 16 MB PDF
1. Numbered items count too

#### Stability
- No OOM kills

### Test Plan
- unit tests for the scanner
"""


def test_bullet_items_are_the_top_level_items_with_nested_ones_after_a_colon() -> None:
    lines = split_lines(REAL_SHAPE)
    headings = scan_headings(lines)
    criteria = next(h for h in headings if h.text == "Success Criteria")
    items = bullet_items(lines, criteria, headings)
    assert [(i.text, i.section) for i in items] == [
        ("Initial scan under 30 seconds", "Success Criteria"),
        (
            "Memory stays flat: under 500 MB for 2,000 files; 64 KB chunks for large files: even for a 16 MB PDF",
            "Success Criteria",
        ),
        ("Numbered items count too", "Success Criteria"),
        ("No OOM kills", "Stability"),
    ]
    assert [c.text for c in items[1].children] == ["under 500 MB for 2,000 files", "64 KB chunks for large files"]
    assert [i.text for i in bullet_items(lines, headings[-1])] == ["unit tests for the scanner"]
    assert [i.text for i in bullet_items(lines, criteria, headings, skip={5})][0].startswith("Memory stays flat: ")


def test_bullet_items_leave_checkbox_items_out() -> None:
    lines = split_lines("## Success Criteria\n- [ ] boxed\n- plain\n")
    assert [i.text for i in bullet_items(lines, scan_headings(lines)[0])] == ["plain"]


def test_a_box_is_one_space_or_an_x_on_the_items_first_line() -> None:
    items = list_items(split_lines("- [  ] two spaces\n- [\t] a tab\n- [x]\n  on the next line\n- text\n  [ ] later\n"))
    assert [(i.checked, i.text) for i in items] == [
        (None, "[ ] two spaces"),
        (None, "[ ] a tab"),
        (True, "on the next line"),
        (None, "text [ ] later"),
    ]
