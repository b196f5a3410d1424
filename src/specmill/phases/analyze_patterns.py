"""Phase 2: what an experienced engineer would look at before writing code for the spec."""

from __future__ import annotations

from pathlib import Path

from specmill.models import PatternBrief, Spec
from specmill.ports.repo_analysis import RepoAnalyzer


def analyze_patterns(analyzer: RepoAnalyzer, root: Path, spec: Spec, budget_tokens: int) -> PatternBrief:
    """Ask `analyzer` for the brief and refuse one that breaks the port's budget contract.

    The brief goes with every model call, so an analyzer that overspends would silently
    raise the cost of the whole run; failing here names the culprit instead.
    """
    brief = analyzer.analyze(root, spec, budget_tokens)
    if brief.budget != budget_tokens:
        raise ValueError(
            f"{type(analyzer).__name__} reported budget {brief.budget} but was given {budget_tokens}; "
            "it must echo the budget it was asked for"
        )
    if brief.tokens > budget_tokens:
        raise ValueError(
            f"{type(analyzer).__name__} returned a {brief.tokens}-token brief for a {budget_tokens}-token budget; "
            "it must drop content until the brief fits"
        )
    return brief
