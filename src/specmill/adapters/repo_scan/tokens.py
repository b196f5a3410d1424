"""Two local token counts: a conservative one for request budgets, a calibrated one for the brief.

`estimate_tokens` (below) guards spending: it must never under-count a request. `brief_tokens`
sizes the pattern brief when the token-counting endpoint cannot answer: it must not overshoot
the budget, yet a brief sized by the conservative count used only about 58% of its budget by a
real tokenizer's count. So it follows cl100k's pre-tokenizer and charges each piece what cl100k
spends on such pieces on average (a word by its length, case and the character before it; camelCase
names part by part), then adds a 7% margin: on the briefs of twelve real packages it is 0.99-1.11x
cl100k's count before the margin is added, so 1.06-1.19x after it, and a brief sized by it uses 85-95%
of its budget by cl100k's count (`benchmarks/brief_recall.py` and `tests/test_brief_tokens.py` check it).

The conservative estimate:

Claude's tokenizer is not public and differs between model generations, so the brief
is sized with an estimate built to over-count. It splits text the way byte-level BPE
tokenizers do and charges each piece at least what such a tokenizer would:

- a run of ASCII letters: ceil(len / 3). Real tokenizers spend about one token per
  English word or identifier part (``include`` ``_router``), i.e. 4-6 letters a token;
- each digit: 1, because some tokenizers split numbers digit by digit;
- each ASCII punctuation or symbol character: 1, although ``->``, ``):`` or ``("`` are
  often a single token;
- a newline: 1; a run of two or more spaces or tabs: 1; a single space: 0, because it
  merges with the word after it;
- each non-ASCII character: its UTF-8 length in bytes, an upper bound for any
  byte-level tokenizer.

Expected error: on what the brief holds (paths, Python signatures, short English
sentences) it gives about one token per 2 bytes, where the usual rule of thumb for
Claude is one per 3.5-4 characters, so it over-counts by roughly 1.5x to 2x; apart
from runs of blanks it never drops below ``ceil(bytes / 3)``. It can under-count only on long runs of random
letters (base64 blobs, letter-only hashes) that a tokenizer splits into 1-2 letter
pieces; the brief renders names and signatures, where that is rare.

The count is additive over lines - ``estimate(a + "\\n" + b) == estimate(a) + 1 +
estimate(b)`` - so the renderer can fit a budget greedily, line by line.
"""

from __future__ import annotations

import math
import re

_PIECES = re.compile(r"(?P<letters>[A-Za-z]+)|(?P<blank>[ \t]+)|(?P<other>[^A-Za-z \t])")


def estimate_tokens(text: str) -> int:
    """Return an upper estimate of how many tokens Claude needs for `text`."""
    total = 0
    for match in _PIECES.finditer(text):
        kind = match.lastgroup
        piece = match.group()
        if kind == "letters":
            total += -(-len(piece) // 3)
        elif kind == "blank":
            total += 1 if len(piece) > 1 else 0
        else:
            total += len(piece.encode("utf-8")) if not piece.isascii() else 1
    return total


_BRIEF_PIECES = re.compile(r"[^\n\rA-Za-z0-9]?[A-Za-z]+|[0-9]{1,3}| ?[^\sA-Za-z0-9]+|\n|[^\S\n]+")
"""cl100k's pre-tokenizer, for ASCII: a word with the one character before it (` memory`, `_router`,
`(self`), up to 3 digits, a run of symbols with its leading space, a newline, a run of blanks."""
_WORD_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
MARGIN = 1.07
"""Every estimate is multiplied by this (newlines apart). Before it, the estimate is between 0.995x and
1.10x cl100k's count on the briefs of specmill, Django, Basic Memory (fitted on these) and of SQLAlchemy,
pydantic, anthropic, rich, starlette, alembic, dbos, mcp and hypothesis (not seen while fitting)."""


def _part_cost(part: str, before: str) -> float:
    """The expected tokens of one part of a word (`HTTP`, `Store`, `backend`) after `before`.

    BPE vocabularies hold most short words whole, with the space, `_` or `.` before them; past a length
    that depends on that neighbour and on the case, each few more letters cost about one more token.
    Fitted with cl100k on the words of briefs of three real repositories (about 300,000 pieces).
    """
    if part.islower():
        if before == "/":  # path parts are rarer as tokens than words of prose or identifiers
            return 1.15 + 0.2 * max(0, len(part) - 5)
        free, per_letter = (7, 1 / 12) if before in ("", " ") else (5, 1 / 8) if before in ("_", ".") else (4, 1 / 8)
    elif len(part) > 1 and part.isupper():
        free, per_letter = (2, 1 / 5) if before in ("", " ", "_", ".", "/") else (1, 1 / 4)
    else:
        free, per_letter = (6, 1 / 8) if before in ("", " ") else (4, 1 / 6)
    return 1.0 + per_letter * max(0, len(part) - free)


_SYMBOL_RUN_COST = {1: 1.0, 2: 1.15, 3: 1.2, 4: 1.9, 5: 2.45}
"""Runs of ASCII symbols, by length: `->`, `):` and `("` are mostly one token, longer runs split."""


def _piece_cost(piece: str) -> float:
    if piece.isspace():
        return 1.0
    last = piece[-1]
    if last.isascii() and last.isalpha():
        before = "" if piece[0].isalpha() else piece[0]
        parts = _WORD_PARTS.findall(piece[len(before) :])
        cost = _part_cost(parts[0], before) + sum(_part_cost(part, "") for part in parts[1:])
        return cost if before.isascii() else cost + len(before.encode("utf-8")) - 1
    if piece.isdigit() and piece.isascii():
        return 1.0
    if not piece.isascii():
        return float(len(piece.encode("utf-8")))  # a byte-level BPE never needs more than one token a byte
    symbols = len(piece.lstrip(" "))
    return _SYMBOL_RUN_COST.get(symbols, symbols / 2)


class _PieceCosts(dict[str, float]):
    """Each distinct piece is costed once: a brief repeats the same names and punctuation many times."""

    def __missing__(self, piece: str) -> float:
        if len(self) > 100_000:
            self.clear()
        cost = self[piece] = _piece_cost(piece)
        return cost


_COSTS = _PieceCosts()


def brief_cost(text: str) -> float:
    """The calibrated estimate of `text`'s tokens, unrounded: additive over lines.

    `brief_cost(a + "\\n" + b) == brief_cost(a) + 1 + brief_cost(b)`, since no piece crosses a
    newline, so the renderer can sum the costs of lines and fit a budget greedily without rounding
    each line up.
    """
    pieces = _BRIEF_PIECES.findall(text)
    newlines = text.count("\n")
    return MARGIN * (sum(map(_COSTS.__getitem__, pieces)) - newlines) + newlines


def brief_tokens(text: str) -> int:
    """A calibrated estimate of `text`'s tokens: slightly above cl100k's count on brief-shaped text."""
    return math.ceil(brief_cost(text) - 1e-9)
