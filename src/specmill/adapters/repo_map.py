"""The real RepoAnalyzer: a deterministic map of a repository for one spec, with no model calls.

It reads files and parses Python with `ast` - it never imports or runs the target's code - so
it is safe on any checkout, and it never follows a symbolic link out of the repository. Other
languages get their definitions through tree-sitter when a grammar is installed (optional), and
their file names otherwise. Files are ranked by the spec's words and mentions plus personalised
PageRank over the import graph (see `repo_scan.ranking`); conventions come from the project the
spec is about, not from the sub-projects beside it (`repo_scan.projects`); the on-disk index
(`repo_scan.index`) makes a repeat scan parse only changed files, and the tree's outline
(`repo_scan.outline`) lets a new spec or budget on a known tree skip the scan. A richer,
model-assisted map can replace it behind the same port.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from specmill.adapters.repo_scan.brief_cache import BriefCache
from specmill.adapters.repo_scan.index import Index, Plan
from specmill.adapters.repo_scan.tokens import brief_tokens
from specmill.errors import BadInput
from specmill.models import Convention, PatternBrief, Spec

if TYPE_CHECKING:
    from specmill.adapters.repo_scan.render import BriefDraft
    from specmill.adapters.repo_scan.repo import Repo

MIN_BUDGET = 200
"""Below this a brief holds a heading and a file name or two: too little to be worth sending."""
FILL_TARGET = 0.95
"""With a counting endpoint, aim here; anything from FILL_FLOOR up to the budget is accepted."""
FILL_FLOOR = 0.90
MAX_COUNTS = 5
"""Calls to the counting endpoint per brief, at most."""
TokenCounter = Callable[[str], "int | None"]
"""Counts a text's tokens the way the model will; None when it cannot (offline, no key)."""


class RepoMapAnalyzer:
    """Layout, conventions and the spec's most relevant files with their signatures, within a token budget.

    With `cache_dir` (specmill uses `<data_dir>/index`), parsed facts are kept on disk per
    tree and only changed files are parsed again; the brief is the same either way. With
    `count_tokens` (the Messages API's counter), the rendered brief is counted and refitted
    until it fills 90-100% of the budget; without it, or when it cannot answer, a local
    estimate calibrated to stay just above a real tokenizer's count sizes the brief.
    """

    def __init__(self, cache_dir: Path | None = None, count_tokens: TokenCounter | None = None) -> None:
        self.cache_dir = cache_dir
        self.count_tokens = count_tokens

    def analyze(self, root: Path, spec: Spec, budget_tokens: int) -> PatternBrief:
        if budget_tokens < 0:
            raise BadInput(f"token budget {budget_tokens} is negative; give at least {MIN_BUDGET} tokens")
        if budget_tokens < MIN_BUDGET:
            raise BadInput(
                f"token budget {budget_tokens} is too small for a useful brief; give at least {MIN_BUDGET} tokens"
            )
        if not root.is_dir():
            raise BadInput(f"{root} is not a directory; pass the repository's working tree")
        paused = gc.isenabled()
        gc.disable()  # see `repo_scan.repo.scan`: ranking and rendering build many small acyclic objects too
        try:
            return self._analyze(root, spec, budget_tokens)
        finally:
            if paused:
                gc.enable()

    def _analyze(self, root: Path, spec: Spec, budget_tokens: int) -> PatternBrief:
        if self.cache_dir is None:
            return self._make(root, spec, budget_tokens, None)
        plan = Index(self.cache_dir).plan(root)
        briefs = BriefCache(self.cache_dir)
        if self._counting:  # a counted fill depends on the endpoint's answers: the tree's facts are kept, not the brief
            return self._make(root, spec, budget_tokens, plan, briefs)
        key = briefs.key(plan.key(), spec, budget_tokens)
        brief = briefs.get(key)
        if brief is None:
            brief = self._make(root, spec, budget_tokens, plan, briefs)
            briefs.put(key, brief)
        return brief

    def _make(
        self, root: Path, spec: Spec, budget_tokens: int, plan: Plan | None, briefs: BriefCache | None = None
    ) -> PatternBrief:
        # imported here: a brief found in the cache needs none of them, and they take longer to import
        from specmill.adapters.repo_scan import outline_store
        from specmill.adapters.repo_scan.outline import outline_of
        from specmill.adapters.repo_scan.projects import focus_folder
        from specmill.adapters.repo_scan.ranking import rank
        from specmill.adapters.repo_scan.render import build_draft
        from specmill.adapters.repo_scan.repo import scan

        # what the tree alone decides (words, imports, symbols, layout) is kept per tree: a new spec or budget
        # on a known tree reads it back instead of scanning
        kept = briefs.outline_path(plan.key()) if briefs and plan else None
        outline = outline_store.load(kept) if kept else None
        repo = None
        if outline is None:
            repo = scan(root, self.cache_dir, plan)
            outline = outline_of(repo)
            if kept:
                outline_store.save(kept, outline)
        ranking = rank(outline, spec, outline.anchors)
        # the conventions depend on the tree and the project only: a new spec on a known tree reuses them
        folder = focus_folder(ranking.files, outline.projects, outline.python_projects)
        key = briefs.conventions_key(plan.key(), folder) if briefs and plan else ""
        conventions = briefs.get_conventions(key) if briefs and key else None
        if conventions is None:
            conventions = _conventions(repo or scan(root, self.cache_dir, plan), folder, list(outline.projects))
            if briefs and key:
                briefs.put_conventions(key, conventions)
        # a counter may find the local estimate high and ask for more lines than the budget's worth
        draft = build_draft(outline, conventions, ranking, budget_tokens, 2 * budget_tokens if self._counting else None)
        return fill(draft, budget_tokens, self.count_tokens if self._counting else None)

    @property
    def _counting(self) -> bool:
        return self.count_tokens is not None and getattr(self.count_tokens, "available", True)


def _conventions(repo: Repo, folder: str, projects: list[str]) -> list[Convention]:
    """The conventions of the project at `folder` (see `projects.focus`), with the note saying which it is."""
    from specmill.adapters.repo_scan.conventions import detect_conventions
    from specmill.adapters.repo_scan.projects import focus, main_project, project_note

    project = focus(repo, folder, main_project(repo, projects), projects)
    return project_note(repo, project, projects) + detect_conventions(project)


def fill(draft: BriefDraft, budget: int, count_tokens: TokenCounter | None) -> PatternBrief:
    """Fit the draft to `budget`: by the local estimate, then, when a counter answers, by its count.

    Each count gives the ratio between the counter and the local estimate on this very text, and
    the next fit aims the local budget at FILL_TARGET of the real one. The best fit within the
    budget wins; if none of the counted fits is within it, the brief falls back to shrinking.
    """
    fitted = draft.fit(budget)
    offline = draft.brief(fitted, brief_tokens(fitted[0]), budget)
    if count_tokens is None or not fitted[0]:
        return offline
    best: PatternBrief | None = None
    local_budget = budget
    for _ in range(MAX_COUNTS):
        counted = count_tokens(fitted[0])
        if counted is None:
            return offline if best is None else best
        if counted <= budget and (best is None or counted > best.tokens):
            best = draft.brief(fitted, counted, budget)
        if FILL_FLOOR * budget <= counted <= budget:
            break
        ratio = counted / max(brief_tokens(fitted[0]), 1)
        aim = int(FILL_TARGET * budget / ratio) if counted <= budget else int(local_budget * budget / counted) - 1
        if aim == local_budget or aim <= 0:
            break
        local_budget = aim
        fitted = draft.fit(local_budget)
        if not fitted[0]:
            break
    return best if best is not None else draft.brief(("", set()), 0, budget)
