"""A unified diff as files and lines, each line's code highlighted on the server (Pygments)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_for_filename
from pygments.util import ClassNotFound

_HEADER = re.compile(r"^diff --git a/(.*) b/(.*)$")
_FORMATTER = HtmlFormatter(nowrap=True, classprefix="hl-")
MAX_HIGHLIGHT_CHARS = 200_000


@dataclass
class DiffLine:
    kind: str  # "add", "del", "ctx", "hunk", "meta"
    html: Markup


@dataclass
class DiffFile:
    path: str
    added: int = 0
    removed: int = 0
    lines: list[DiffLine] = field(default_factory=list)


def parse(text: str) -> list[DiffFile]:
    files: list[DiffFile] = []
    raw: list[list[str]] = []
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            files.append(DiffFile(path=header.group(2)))
            raw.append([])
            continue
        if not files:
            continue
        raw[-1].append(line)
    for diff_file, lines in zip(files, raw):
        diff_file.lines = _lines(diff_file, lines)
    return files


def _lines(diff_file: DiffFile, lines: list[str]) -> list[DiffLine]:
    body = [i for i, line in enumerate(lines) if line[:1] in ("+", "-", " ") and not line.startswith(("+++", "---"))]
    code = _highlighted(diff_file.path, [lines[i][1:] for i in body])
    html_of = dict(zip(body, code))
    out: list[DiffLine] = []
    for i, line in enumerate(lines):
        if i in html_of:
            kind = {"+": "add", "-": "del", " ": "ctx"}[line[0]]
            diff_file.added += kind == "add"
            diff_file.removed += kind == "del"
            out.append(DiffLine(kind, html_of[i]))
        elif line.startswith("@@"):
            out.append(DiffLine("hunk", escape(line)))
        elif not line.startswith(("index ", "+++", "---")):
            out.append(DiffLine("meta", escape(line)))
    return out


def _highlighted(path: str, code: list[str]) -> list[Markup]:
    """Each line of `code` as HTML; lines of one file are lexed together, so strings that span lines
    read right. Unknown languages and huge files are escaped, not highlighted."""
    joined = "\n".join(code)
    try:
        lexer = get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        lexer = None
    if lexer is None or len(joined) > MAX_HIGHLIGHT_CHARS:
        return [escape(line) for line in code]
    rendered = highlight(joined, lexer, _FORMATTER).split("\n")
    if len(rendered) == len(code) + 1 and rendered[-1] == "":  # the formatter ends with a newline
        rendered.pop()
    if len(rendered) != len(code):  # a lexer that adds or drops lines: fall back rather than misalign
        return [escape(line) for line in code]
    return [Markup(line) for line in rendered]


def stylesheet() -> str:
    """Pygments' colours for the highlighted code, scoped to the diff."""
    return _FORMATTER.get_style_defs(".diff code")
