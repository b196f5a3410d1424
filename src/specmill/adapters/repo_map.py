"""The real RepoAnalyzer: a deterministic, dependency-free map of a repository for one spec.

It reads files and parses Python with `ast` - it never imports or runs the target's code - so
it is safe on any checkout and fast enough to run before every implementation. A richer,
model-assisted map can replace it behind the same port.
"""

from __future__ import annotations

from pathlib import Path

from specmill.adapters.repo_scan.conventions import detect_conventions
from specmill.adapters.repo_scan.detect_code import anchor_paths
from specmill.adapters.repo_scan.ranking import rank
from specmill.adapters.repo_scan.render import render_brief
from specmill.adapters.repo_scan.repo import scan
from specmill.errors import BadInput
from specmill.models import PatternBrief, Spec


class RepoMapAnalyzer:
    """Layout, conventions and the spec's most relevant files with their signatures, within a token budget."""

    def analyze(self, root: Path, spec: Spec, budget_tokens: int) -> PatternBrief:
        if budget_tokens < 0:
            raise BadInput(f"token budget {budget_tokens} is negative; give 0 or more tokens")
        if not root.is_dir():
            raise BadInput(f"{root} is not a directory; pass the repository's working tree")
        repo = scan(root)
        conventions = detect_conventions(repo)
        ranked = rank(repo, spec, anchor_paths(repo))
        return render_brief(repo, conventions, ranked, spec, budget_tokens)
