"""A conservative token estimate for the pattern brief.

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
