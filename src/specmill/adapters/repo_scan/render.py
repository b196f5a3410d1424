"""Render the brief as Markdown and fit it to the token budget by dropping the least useful lines.

Every line is an item with a priority and the items it needs (its section heading, its file, its
class). Items are taken greedily in priority order while they fit; a line that does not fit is
skipped and smaller, later ones may still go in. Because the token estimate is sub-additive over
lines, the sum of the chosen items' costs bounds the estimate of the rendered text, so the
result can never exceed the budget it was fitted to. `BriefDraft.fit` can be called again with
another budget for that estimate, which is how a count by the Messages API steers the fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import NamedTuple

from specmill.adapters.repo_scan.outline import Shown, TreeOutline
from specmill.adapters.repo_scan.ranking import Ranking
from specmill.adapters.repo_scan.tokens import MARGIN, brief_cost, brief_tokens
from specmill.models import Convention, PatternBrief, RankedFile

Key = tuple[int, ...]
LAYOUT, CONVENTIONS, FILES = 0, 1, 2
HEADINGS = {LAYOUT: "## Layout", CONVENTIONS: "## Conventions", FILES: "## Relevant files"}
CANDIDATE_FILES = 400
"""At most this many top-ranked files compete for space; the rest show up in Layout's counts."""
TOKENS_PER_CANDIDATE = 12
"""A names-only file line costs about 12 tokens, so a budget can show at most budget / 12 files."""
TAIL_SHARE = 1 / 28
"""Right after the headline files and the first file's signatures, budget * TAIL_SHARE more files are named
(path only, about 40% of the budget), before other files get signatures: a change touches more files than a
brief can detail (a median of 11 `.py` files per release in `benchmarks/brief_recall.py`), and a path is the
cheapest pointer to one. Ranked well, the names find more of them than the same tokens spent on signatures."""
FIRST_SYMBOLS, MORE_SYMBOLS = 4, 12
HEADLINE_FILES, LISTED_FILES = 15, 40
"""The first files by rank get their line, with their docstring, before anything else, so a tight budget
still names the likely places to change; the files after them are named by path alone. Up to LISTED_FILES
have their symbols ranked by the spec's words."""
LEADING_CONVENTIONS = 3
"""Where-new-code-goes conventions that come before the file list; the rest follow the file names."""
LAYOUT_KINDS = frozenset({"layout", "entry-points"})
"""Conventions rendered under Layout rather than Conventions."""
KEY_KINDS = frozenset({"fastapi-app", "fastapi-router", "typer-cli", "click-cli", "dbos", "tests", "test-command"})
"""The conventions that say where new code goes; they are kept before any other content is."""
PROMINENCE = {"class": 0, "def": 1, "fields": 2, "value": 3}
"""Among symbols equally relevant to the spec, classes and functions say most about a file."""


class Item(NamedTuple):
    text: str
    deps: tuple[Key, ...]
    extra: int
    """Its cost beyond its text's: its newline, or the blank line and newline of a heading."""


class Draft:
    """Items keyed by their place in the document, plus the order in which they earn space."""

    def __init__(self) -> None:
        self.items: dict[Key, Item] = {}
        self.order: list[Key] = []
        self._costs: dict[Key, float] = {}

    def add(self, key: Key, text: str, deps: tuple[Key, ...] = ()) -> None:
        section = (key[0],)
        if section not in self.items:
            self.items[section] = Item(HEADINGS[key[0]], (), 2)
        self.items[key] = Item(text, (section, *deps), 1)

    def want(self, keys: list[Key]) -> None:
        self.order.extend(k for k in keys if k in self.items)

    def cost(self, key: Key) -> float:
        """The item's calibrated estimate (see `tokens.brief_cost`), counted once and when first asked for."""
        cost = self._costs.get(key)
        if cost is None:
            item = self.items[key]
            cost = self._costs[key] = brief_cost(item.text) + item.extra
        return cost

    def _floor(self, key: Key) -> float:
        """At most its cost: every piece of a line costs at least MARGIN, and each of its words is a piece."""
        item = self.items[key]
        return MARGIN * len(item.text.split()) + item.extra

    def fit(self, budget: int) -> set[Key]:
        chosen: set[Key] = set()
        used = 0.0
        for key in self.order:
            if key in chosen:
                continue
            need = [d for d in self.items[key].deps if d not in chosen] + [key]
            if used + sum(map(self._floor, need)) > budget + 1e-6:  # cannot fit: left uncounted
                continue
            cost = sum(self.cost(k) for k in need)
            if used + cost <= budget:
                chosen.update(need)
                used += cost
        return chosen

    def render(self, chosen: set[Key]) -> str:
        sections: dict[int, list[str]] = {}
        for key in sorted(chosen):
            sections.setdefault(key[0], []).append(self.items[key].text)
        return "\n\n".join("\n".join(lines) for lines in sections.values())

    def trim(self, chosen: set[Key], budget: int) -> tuple[str, set[Key]]:
        """Render, dropping the lowest-priority leaves in the unexpected case the estimate disagrees."""
        markdown = self.render(chosen)
        if not chosen or brief_tokens(markdown) <= budget:
            return markdown, chosen
        rank = {k: i for i, k in reversed(list(enumerate(self.order)))}
        while chosen and brief_tokens(markdown) > budget:
            needed = {d for k in chosen for d in self.items[k].deps}
            chosen.discard(max((k for k in chosen if k not in needed), key=lambda k: (rank.get(k, -1), k)))
            chosen = {k for k in chosen if len(k) > 1 or any(o[0] == k[0] and len(o) > 1 for o in chosen)}
            markdown = self.render(chosen)
        return markdown, chosen


def _flat(groups: list[list[Key]]) -> list[Key]:
    return [key for group in groups for key in group]


def _is_blank_init(f: Shown) -> bool:
    """An `__init__.py` with nothing in it says nothing the Layout section does not."""
    return f.name == "__init__.py" and f.parsed and not f.symbols and not f.docstring


def _file_header(f: Shown) -> str:
    text = f"- `{f.path}`"
    if f.docstring:
        text += f" - {f.docstring}"
    if f.note:
        text += f" ({f.note})"
    return text


def build_draft(
    outline: TreeOutline, conventions: list[Convention], ranking: Ranking, budget: int, room: int | None = None
) -> BriefDraft:
    """Every candidate line, in priority order for `budget`, for fits of up to `room` (`budget` by default)."""
    draft = Draft()
    ranked = ranking.files
    layout = [c for c in conventions if c.kind in LAYOUT_KINDS]
    scores = dict(ranked)
    key_conventions = sorted(
        (c for c in conventions if c.kind in KEY_KINDS),
        key=lambda c: -max((scores.get(p, 0.0) for p in c.files), default=0.0),
    )
    others = key_conventions + [c for c in conventions if c.kind not in LAYOUT_KINDS | KEY_KINDS]
    for i, convention in enumerate(layout):
        draft.add((LAYOUT, i), f"- {convention.summary}")
    for i, line in enumerate(outline.layout, start=len(layout)):
        draft.add((LAYOUT, i), line)
    for i, convention in enumerate(others):
        draft.add((CONVENTIONS, i), f"- {convention.kind}: {convention.summary}")

    shown = outline.shown
    wanted = min(CANDIDATE_FILES, max(budget, room or 0) // TOKENS_PER_CANDIDATE)
    ranked = list(islice(((p, score) for p, score in ranked if not _is_blank_init(shown(p))), wanted))
    symbol_order: list[list[Key]] = []
    for r, (path, _) in enumerate(ranked[:CANDIDATE_FILES]):
        f = shown(path)
        header: Key = (FILES, r)
        draft.add(header, _file_header(f) if r < HEADLINE_FILES else f"- `{f.path}`")
        symbols = f.symbols
        order = [
            (
                -ranking.symbol_score(s) if r < LISTED_FILES else 0.0,  # the tail shows few symbols, if any
                PROMINENCE.get(s.kind, 4) + (s.parent != "") + 4 * s.name.startswith("_"),
                j,
            )
            for j, s in enumerate(symbols)
            if r < LISTED_FILES or not s.parent  # a tail file offers its first top-level names only
        ]
        by_relevance = [j for *_, j in sorted(order)][: None if r < LISTED_FILES else FIRST_SYMBOLS]
        owner: dict[str, Key] = {}
        for j in sorted(by_relevance):  # in file order, so a class comes before its methods
            symbol, key = symbols[j], (FILES, r, j)
            if symbol.parent:
                deps = (header, owner[symbol.parent]) if symbol.parent in owner else (header,)
                draft.add(key, f"    - {symbol.text}", deps)
            else:
                owner[symbol.name] = key
                draft.add(key, f"  - {symbol.text}", (header,))
        symbol_order.append([(FILES, r, j) for j in by_relevance])

    layout_keys = [k for k in draft.items if k[0] == LAYOUT and len(k) > 1]
    convention_keys = [(CONVENTIONS, i) for i in range(len(others))]
    per_file = [[(FILES, r), *keys] for r, keys in enumerate(symbol_order)]
    first = [keys[: 1 + FIRST_SYMBOLS] for keys in per_file]
    more = [keys[: 1 + MORE_SYMBOLS] for keys in per_file]
    headers = [keys[:1] for keys in per_file]
    # The files the spec is about come first: at a small budget they say more than any convention.
    draft.want(_flat(headers[:HEADLINE_FILES]) + _flat(first[:1]))
    draft.want(layout_keys[:1] + convention_keys[:1])
    draft.want(_flat(headers[HEADLINE_FILES : HEADLINE_FILES + int(budget * TAIL_SHARE)]))
    draft.want(_flat(first[1:3]))
    draft.want(layout_keys[: len(layout)] + convention_keys[: min(len(key_conventions), LEADING_CONVENTIONS)])
    draft.want(convention_keys + _flat(more[:3]) + _flat(first[3:10]) + layout_keys[: len(layout) + 12])
    draft.want(_flat(headers[HEADLINE_FILES:LISTED_FILES]) + _flat(more[3:10]) + layout_keys + _flat(first[10:]))
    draft.want(_flat(per_file))

    return BriefDraft(draft, ranked[:CANDIDATE_FILES], symbol_order, outline, conventions)


@dataclass(frozen=True)
class BriefDraft:
    """Every line the brief could hold, in priority order; `fit` picks those that fit a budget."""

    draft: Draft
    ranked: list[tuple[str, float]]
    symbol_order: list[list[Key]]
    outline: TreeOutline
    conventions: list[Convention]

    def fit(self, budget: int) -> tuple[str, set[Key]]:
        """The Markdown of the most useful lines whose local estimate fits `budget`, and their keys."""
        return self.draft.trim(self.draft.fit(budget), budget)

    def brief(self, fitted: tuple[str, set[Key]], tokens: int, budget: int) -> PatternBrief:
        """The brief for a result of `fit`; `tokens` is its count by whoever counted it."""
        markdown, chosen = fitted
        files = []
        for r, (path, score) in enumerate(self.ranked):
            if (FILES, r) not in chosen:
                continue
            symbols = self.outline.shown(path).symbols
            kept = [symbols[key[2]].text for key in self.symbol_order[r] if key in chosen]  # most relevant first
            files.append(RankedFile(path=path, score=score, symbols=kept))
        return PatternBrief(markdown=markdown, tokens=tokens, budget=budget, files=files, conventions=self.conventions)


def render_brief(outline: TreeOutline, conventions: list[Convention], ranking: Ranking, budget: int) -> PatternBrief:
    """The brief fitted to `budget` by the local estimate alone."""
    draft = build_draft(outline, conventions, ranking, budget)
    fitted = draft.fit(budget)
    return draft.brief(fitted, brief_tokens(fitted[0]), budget)
