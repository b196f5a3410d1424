"""Repository analysis port: what an engineer would look at before writing code; and its fake."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from specmill.models import PatternBrief, Spec


class RepoAnalyzer(Protocol):
    def analyze(self, root: Path, spec: Spec, budget_tokens: int) -> PatternBrief:
        """Describe the repository's layout and conventions, ranked for `spec`, within `budget_tokens`."""
        ...


class FixedRepoAnalyzer:
    """The RepoAnalyzer fake: returns the brief it was given, so workflow tests need no real repository,
    and remembers the calls, for assertions."""

    def __init__(self, brief: PatternBrief) -> None:
        self.brief = brief
        self.calls: list[tuple[Path, Spec, int]] = []

    def analyze(self, root: Path, spec: Spec, budget_tokens: int) -> PatternBrief:
        self.calls.append((root, spec, budget_tokens))
        return self.brief.model_copy(deep=True)
