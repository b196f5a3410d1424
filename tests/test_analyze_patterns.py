"""The analyze_patterns phase refuses analyzers that break the budget contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from specmill.adapters.repo_map import RepoMapAnalyzer
from specmill.models import PatternBrief
from specmill.phases.analyze_patterns import analyze_patterns
from specmill.ports.repo_analysis import FixedRepoAnalyzer
from tests.repo_map_samples import SERVICE, make_spec, write_repo

SPEC = make_spec("Delete a user")


def test_returns_the_analyzers_brief(tmp_path: Path) -> None:
    fixed = FixedRepoAnalyzer(PatternBrief(markdown="## Layout\n- x", tokens=7, budget=100))
    brief = analyze_patterns(fixed, tmp_path, SPEC, 100)
    assert brief.markdown == "## Layout\n- x"
    assert fixed.calls == [(tmp_path, SPEC, 100)]


def test_rejects_a_brief_over_budget(tmp_path: Path) -> None:
    fixed = FixedRepoAnalyzer(PatternBrief(markdown="x" * 900, tokens=300, budget=100))
    with pytest.raises(ValueError, match="300-token brief for a 100-token budget"):
        analyze_patterns(fixed, tmp_path, SPEC, 100)


def test_rejects_a_brief_for_another_budget(tmp_path: Path) -> None:
    fixed = FixedRepoAnalyzer(PatternBrief(markdown="", tokens=0, budget=50))
    with pytest.raises(ValueError, match="reported budget 50 but was given 100"):
        analyze_patterns(fixed, tmp_path, SPEC, 100)


def test_real_analyzer_passes_the_check(tmp_path: Path) -> None:
    brief = analyze_patterns(RepoMapAnalyzer(), write_repo(tmp_path, SERVICE), SPEC, 600)
    assert 0 < brief.tokens <= 600
