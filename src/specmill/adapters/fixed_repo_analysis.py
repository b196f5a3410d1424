"""A RepoAnalyzer that returns a brief it was given, so workflow tests need no repository."""

from __future__ import annotations

from pathlib import Path

from specmill.models import PatternBrief, Spec


class FixedRepoAnalyzer:
    """Returns `brief` for every call and remembers the calls, for assertions."""

    def __init__(self, brief: PatternBrief) -> None:
        self.brief = brief
        self.calls: list[tuple[Path, Spec, int]] = []

    def analyze(self, root: Path, spec: Spec, budget_tokens: int) -> PatternBrief:
        self.calls.append((root, spec, budget_tokens))
        return self.brief.model_copy(deep=True)
