"""specmill's Markdown: frontmatter, headings, sections, list items, on markdown-it-py.

Block structure comes from markdown-it-py's CommonMark parser and its token `map` (line
spans), so what specmill calls a heading is what every renderer shows as one: `#` lines in
fenced or indented code, in HTML blocks or in block quotes never start a section, and a
setext heading (a line underlined with `===` or `---`) does. Only headings at the top of
the document count, not ones nested inside list items or quotes: a section is a stretch of
the note, and a heading inside a bullet does not cut the note in two.

Every line number here indexes `split_lines(text)`, which splits where markdown-it does
(`\\r\\n`, `\\r`, `\\n`) and keeps the line ends, so callers can splice a note and keep every
other byte. This module imports nothing from specmill but its errors: reading and writing a
spec must agree on what "the Implementation Status section" is, and the sweep must agree
with both.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from specmill.errors import BadInput

if TYPE_CHECKING:  # imported on the first parse, not by every process that imports the steps
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

STATUS_HEADING = "Implementation Status"
_NEWLINE = re.compile(r"\r\n|\r|\n")
_FRONTMATTER_OPEN = re.compile(r"^---[ \t]*(?:\r\n|\r|\n)")
_FRONTMATTER_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
_CHECKBOX = re.compile(r"^\[([ xX])\](?:\s+|$)")


@dataclass(frozen=True)
class Heading:
    """A top-level heading: where its section starts, and how far it reaches (by level)."""

    line: int  # index into the body's lines: the heading's first line
    level: int
    text: str  # as written, without the `#` marks (leading or closing) and the setext underline
    body_line: int  # first line of the section's text: a setext heading takes two lines


@dataclass(frozen=True)
class ListItem:
    """One item of a bullet (`-`, `*`, `+`) or numbered list, outside block quotes."""

    line: int  # the item's first line
    end: int  # line after the item, its nested lists included
    depth: int  # 0 for an item of a list that sits in no other list item
    checked: bool | None  # None: a plain item, with no `[ ]` / `[x]` box on its first line
    text: str  # its own paragraphs, whitespace folded, the box removed; nested items not included
    children: tuple[ListItem, ...] = ()
    section: str = ""  # text of the heading it sits under, where the caller asked for it


def split_lines(text: str) -> list[str]:
    """Lines with their ends, split exactly where markdown-it splits them.

    `str.splitlines` also breaks at form feeds, `\\x1c`..`\\x1e` and U+2028, which markdown-it
    keeps inside a line: indexes from the two would drift apart after the first such character.
    """
    lines: list[str] = []
    start = 0
    for match in _NEWLINE.finditer(text):
        lines.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


def split_frontmatter(content: str) -> tuple[str, str]:
    """Return (frontmatter block including both `---` lines, the rest); ('', content) if none."""
    if not _FRONTMATTER_OPEN.match(content):
        return "", content
    lines = split_lines(content)
    for index in range(1, len(lines)):
        if _FRONTMATTER_CLOSE.match(lines[index].rstrip("\r\n")):
            head = "".join(lines[: index + 1])
            return head, content[len(head) :]
    return "", content  # an unclosed `---` is a thematic break, not frontmatter


def parse_frontmatter(block: str, name: str) -> dict[str, Any]:
    """YAML between the `---` lines; malformed YAML is the author's to fix, so BadInput."""
    if not block:
        return {}
    import yaml  # here: a spec without frontmatter, as `specmill analyze --spec-file` often reads, needs no YAML

    inner = "".join(split_lines(block)[1:-1])
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


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    """Block rules only: specmill needs structure and raw text, never rendered inline HTML."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").disable("inline")


@lru_cache(maxsize=8)
def _tokens(text: str) -> tuple[Token, ...]:
    """One parse per text: a spec is read for headings, status spans and list items in turn.

    The tokens are shared between callers, so nothing here may change them.
    """
    return tuple(_parser().parse(text))


def scan_headings(lines: list[str]) -> list[Heading]:
    """Top-level ATX and setext headings, in order; see the module docstring for what is not one."""
    tokens = _tokens("".join(lines))
    headings: list[Heading] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.level == 0 and token.map:
            text = tokens[index + 1].content.strip() if index + 1 < len(tokens) else ""
            headings.append(Heading(token.map[0], int(token.tag[1:]), text, token.map[1]))
    return headings


def section_end(headings: list[Heading], position: int, total_lines: int, max_level: int) -> int:
    """Line index where the section of headings[position] ends: next heading of level <= max_level."""
    for heading in headings[position + 1 :]:
        if heading.level <= max_level:
            return heading.line
    return total_lines


def section_bodies(
    lines: list[str], headings: list[Heading] | None = None, skip: Collection[int] = ()
) -> dict[str, str]:
    """Heading text -> the section's text up to the next heading of its level or higher.

    Subsections are part of their parent's text. Lines in `skip` (specmill's own section)
    are left out; a repeated heading gets ` (2)`, ` (3)`... so no section is lost.
    """
    headings = scan_headings(lines) if headings is None else headings
    skipped = set(skip)
    bodies: dict[str, str] = {}
    for position, heading in enumerate(headings):
        end = section_end(headings, position, len(lines), heading.level)
        text = "".join(lines[index] for index in range(heading.body_line, end) if index not in skipped)
        key, number = heading.text, 2
        while key in bodies:
            key, number = f"{heading.text} ({number})", number + 1
        bodies[key] = text.strip("\n")
    return bodies


def is_status_heading(heading: Heading) -> bool:
    """specmill's own section: `## Implementation Status` (or level 1, or with a colon)."""
    return heading.level <= 2 and heading.text.rstrip(":").strip().casefold() == STATUS_HEADING.casefold()


def status_spans(lines: list[str], headings: list[Heading] | None = None) -> list[tuple[int, int]]:
    """[start, end) line spans of specmill's status sections: to the next heading of level <= 2."""
    headings = scan_headings(lines) if headings is None else headings
    return [
        (heading.line, section_end(headings, position, len(lines), 2))
        for position, heading in enumerate(headings)
        if is_status_heading(heading)
    ]


@dataclass
class _OpenItem:
    line: int
    end: int
    level: int  # the token nesting level of `list_item_open`
    depth: int
    checked: bool | None = None
    paragraphs: list[str] = dataclasses.field(default_factory=list)
    children: list[ListItem] = dataclasses.field(default_factory=list)


def list_items(lines: list[str]) -> list[ListItem]:
    """Every list item outside block quotes (quoted items are someone's words, not the spec's),
    nested ones included, in document order."""
    tokens = _tokens("".join(lines))
    found: list[ListItem] = []
    stack: list[_OpenItem] = []
    quotes = 0
    for index, token in enumerate(tokens):
        if token.type in ("blockquote_open", "blockquote_close"):
            quotes += 1 if token.nesting > 0 else -1
        elif quotes:
            continue
        elif token.type == "list_item_open" and token.map:
            stack.append(_OpenItem(token.map[0], token.map[1], token.level, len(stack)))
        elif token.type == "list_item_close" and stack:
            done = stack.pop()
            item = ListItem(
                done.line, done.end, done.depth, done.checked, " ".join(done.paragraphs), tuple(done.children)
            )
            found.append(item)
            if stack:
                stack[-1].children.append(item)
        elif token.type == "inline" and stack and tokens[index - 1].type == "paragraph_open":
            _add_paragraph(stack[-1], tokens[index - 1], token.content)
    return sorted(found, key=lambda item: item.line)


def _add_paragraph(item: _OpenItem, paragraph: Token, content: str) -> None:
    """A paragraph of the item itself (not of a nested list); a box counts on the first line only."""
    if paragraph.level != item.level + 1:
        return
    if not item.paragraphs and paragraph.map and paragraph.map[0] == item.line:
        box = _CHECKBOX.match(content)  # before folding: `[  ]` and `[\t]` are not boxes
        if box:
            item.checked = box.group(1) != " "
            content = content[box.end() :]
    text = " ".join(content.split())
    if text:
        item.paragraphs.append(text)


def _nearest(headings: list[Heading], starts: list[int], line: int) -> str:
    """Text of the last heading above `line`; '' above the first heading."""
    position = bisect.bisect_left(starts, line) - 1
    return headings[position].text if position >= 0 else ""


def checklist_items(
    lines: list[str], headings: list[Heading] | None = None, skip: Collection[int] = ()
) -> list[ListItem]:
    """`- [ ] ...` / `- [x] ...` items (any bullet, numbered too, nested too) with text, each
    with `section` set to the heading it sits under among `headings`; items starting on a
    line in `skip` are left out."""
    headings = scan_headings(lines) if headings is None else headings
    skipped, starts = set(skip), [other.line for other in headings]
    return [
        dataclasses.replace(item, section=_nearest(headings, starts, item.line))
        for item in list_items(lines)
        if item.checked is not None and item.text and item.line not in skipped
    ]


def bullet_items(
    lines: list[str], heading: Heading, headings: list[Heading] | None = None, skip: Collection[int] = ()
) -> list[ListItem]:
    """The plain (box-less) top-level items in `heading`'s section, its subsections included.

    Real specs write criteria as plain bullets, often with detail in nested bullets. The
    top-level items are the units (one criterion each); a nested item belongs to its parent,
    so the returned `text` is the parent's text, a colon, then its nested items joined by
    `; ` (nested ones the same way, recursively): "Fast sync: under 30 s; under 1 GB".
    `children` still holds the nested items. `section` is the nearest heading of each item.
    """
    headings = scan_headings(lines) if headings is None else headings
    position = headings.index(heading)  # ValueError: `heading` is not one of `headings`
    start, end = heading.body_line, section_end(headings, position, len(lines), heading.level)
    skipped, starts = set(skip), [other.line for other in headings]
    found: list[ListItem] = []
    for item in list_items(lines):
        if item.depth or item.checked is not None or not start <= item.line < end or item.line in skipped:
            continue
        text = _with_children(item)
        if text:
            found.append(dataclasses.replace(item, text=text, section=_nearest(headings, starts, item.line)))
    return found


def _with_children(item: ListItem) -> str:
    """The item's text, then its nested items' after a colon; the author's own colon is not doubled."""
    nested = "; ".join(text for text in (_with_children(child) for child in item.children) if text)
    if not nested:
        return item.text
    return f"{item.text.rstrip(':').rstrip()}: {nested}" if item.text else nested
