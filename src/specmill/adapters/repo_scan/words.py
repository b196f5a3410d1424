"""The words a spec and a file share: identifiers split into parts, lower-cased, plurals folded.

Ranking compares the spec's prose with code, so `include_router`, `IncludeRouter` and
"include routers" must all give the same words. The parser stores each file's words once,
at parse time, so a warm scan does no text processing at all.
"""

from __future__ import annotations

import re

WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
STOP_WORDS = frozenset(
    """a an the and or but if then else when while of to in on at by for with from into onto as is are was
    were be been being it its this that these those there here we you they them our your their not no yes do
    does did done can could should would will shall may might must have has had so such than too very also just
    only each every any all some more most other same new add adds added adding use uses used using make makes
    ensure allow allows support supports given via per about after before over under up out which who what
    where why how one two get gets set sets let lets like need needs want wants way able etc eg ie py""".split()
)


def stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """camelCase and snake_case split, lower-cased, stop words and one-letter words dropped, plurals folded."""
    out = []
    for raw in WORD.findall(text):
        word = raw.lower()
        if len(word) > 1 and word not in STOP_WORDS:
            out.append(stem(word))
    return out


_LETTERS = re.compile(r"[A-Za-z]+")


def run_terms(text: str, seen: dict[str, list[str]]) -> list[str]:
    """`terms(text)`, the same list: a word never spans a non-letter, so each run of letters (a folder
    or a parameter name comes back often) is split once and kept in `seen`."""
    found: list[str] = []
    for run in _LETTERS.findall(text):
        split = seen.get(run)
        if split is None:
            split = seen[run] = terms(run)
        found += split
    return found


def term_set(text: str) -> frozenset[str]:
    """The distinct terms of a whole source file; deduplicates before splitting and stemming.

    `WORD` never matches across a non-letter, so splitting each distinct run of letters gives the
    words of the whole text; a plain run of letters is several times faster to find than `WORD`.
    """
    lowered = set()
    for run in set(_LETTERS.findall(text)):
        if run.islower():
            lowered.add(run)
        else:
            lowered.update(raw.lower() for raw in WORD.findall(run))
    return frozenset(stem(w) for w in lowered if len(w) > 1 and w not in STOP_WORDS)
