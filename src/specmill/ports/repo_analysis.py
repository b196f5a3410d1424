"""Repository analysis port: what an engineer would look at before writing code."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from specmill.models import PatternBrief, Spec


class RepoAnalyzer(Protocol):
    def analyze(self, root: Path, spec: Spec, budget_tokens: int) -> PatternBrief:
        """Describe the repository's layout and conventions, ranked for `spec`, within `budget_tokens`."""
        ...
