"""The real RepoAnalyzer: a deterministic map of a repository for one spec, with no model calls.

It reads files and parses Python with `ast` - it never imports or runs the target's code - so
it is safe on any checkout. Other languages get their definitions through tree-sitter when a
grammar is installed (optional), and their file names otherwise. Files are ranked by the spec's
words and mentions plus personalised PageRank over the import graph (see `repo_scan.ranking`);
the on-disk index (`repo_scan.index`) makes a repeat scan parse only changed files. A richer,
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
    """Layout, conventions and the spec's most relevant files with their signatures, within a token budget.

    With `cache_dir` (specmill uses `<data_dir>/index`), parsed facts are kept on disk per
    tree and only changed files are parsed again; the brief is the same either way.
    """

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir

    def analyze(self, root: Path, spec: Spec, budget_tokens: int) -> PatternBrief:
        if budget_tokens < 0:
            raise BadInput(f"token budget {budget_tokens} is negative; give 0 or more tokens")
        if not root.is_dir():
            raise BadInput(f"{root} is not a directory; pass the repository's working tree")
        repo = scan(root, self.cache_dir)
        conventions = detect_conventions(repo)
        ranking = rank(repo, spec, anchor_paths(repo))
        return render_brief(repo, conventions, ranking, budget_tokens)
