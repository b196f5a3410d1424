"""Brief recall on real changes: does the budgeted brief name the files a change touched?

No forge is reachable here, so the history is built from PyPI: successive sdists of a real project
(Basic Memory by default) are committed one after another into a git repository (`_sdists.history`),
and each pair of consecutive releases is one change. For each change:
- the spec is the newer release's changelog entry;
- the truth is every .py file of the older release that the newer one modified;
- the brief maps the older release's checkout at each budget, offline (the calibrated local estimate);
- recall is the share of the truth whose path appears in the budgeted Markdown.
Beside it, a path-only baseline reads no file: it ranks paths by the spec's words (tf-idf) and lists
them until the budget. Both are measured with a cl100k tokenizer: the share of the budget used, and
the largest excess over it (0 means never over).

    python benchmarks/brief_recall.py [--dist basic-memory] [--versions 0.18.0,0.18.1,...] [--budgets 1000,4000,8000]

Downloads and the built history are cached under ~/.cache/specmill-bench (SPECMILL_BENCH_CACHE).
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import bpe_openai
from _common import machine
from _sdists import git, history

from specmill.adapters.repo_map import RepoMapAnalyzer
from specmill.adapters.repo_scan.words import terms
from specmill.models import Spec

VERSIONS = (
    "0.18.0 0.18.1 0.18.2 0.18.3 0.18.4 0.18.5 0.19.0 0.19.1 0.19.2 0.20.0 0.20.1 0.20.2 0.20.3 0.21.0 0.21.1 "
    "0.21.5 0.21.6 0.22.0 0.22.1 0.23.0 0.23.1 0.23.2 0.24.0 0.24.1"
).split()
BUDGETS = [1000, 4000, 8000]
MAX_TRUTH = 80
"""A release that modified more .py files than this is a merge of many changes, not one: left out."""
MAX_SPEC_CHARS = 6000
CL100K = bpe_openai.get_encoding("cl100k_base")


def changelog_entry(root: Path, version: str) -> str | None:
    for name in ("CHANGELOG.md", "CHANGES.md", "HISTORY.md"):
        path = root / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        match = re.search(rf"^#+ v?{re.escape(version)}\b.*?$(.*?)(?=^#+ v?\d+\.\d+|\Z)", text, re.M | re.S)
        if match and match.group(1).strip():
            return match.group(1).strip()[:MAX_SPEC_CHARS]
    return None


def appears(path: str, text: str) -> bool:
    return re.search(rf"(?<![\w./-]){re.escape(path)}(?![\w/-])", text) is not None


def path_only(files: list[str], spec: Spec, budget: int) -> str:
    """The baseline: paths ranked by the spec's words found in them, one line each, until the budget."""
    wanted = Counter(terms(f"{spec.title}\n{spec.body}"))
    path_terms = {f: set(terms(f.rsplit(".", 1)[0].replace("/", " "))) for f in files}
    df = Counter(t for ts in path_terms.values() for t in ts)
    idf = {t: math.log(1 + len(files) / df[t]) for t in df}
    score = {f: sum((1 + math.log(wanted[t])) * idf[t] for t in ts if t in wanted) for f, ts in path_terms.items()}
    lines, used = ["## Relevant files"], len(CL100K.encode("## Relevant files"))
    for f in sorted(files, key=lambda f: (-score[f], f)):
        cost = len(CL100K.encode(f"\n- `{f}`"))
        if used + cost > budget:
            break
        lines.append(f"- `{f}`")
        used += cost
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", default="basic-memory")
    parser.add_argument("--versions", default=",".join(VERSIONS))
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    args = parser.parse_args()
    versions, budgets = args.versions.split(","), [int(b) for b in args.budgets.split(",")]
    repo = history(args.dist, versions)
    print(f"# Brief recall - {args.dist}, {len(versions) - 1} consecutive releases - {machine()}\n")
    hits = {(tool, b): [0, 0] for tool in ("brief", "paths") for b in budgets}
    used: dict[int, list[float]] = {b: [] for b in budgets}
    over: dict[int, int] = dict.fromkeys(budgets, -(10**9))
    changes = 0
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        for old, new in zip(versions, versions[1:]):
            modified = git(repo, "diff", "--name-only", "--diff-filter=M", f"v{old}", f"v{new}", "--", "*.py")
            truth = modified.split()
            new_tree = Path(tmp) / "new"
            git(repo, "worktree", "add", "-q", "--detach", str(new_tree), f"v{new}")
            entry = changelog_entry(new_tree, new)
            git(repo, "worktree", "remove", "--force", str(new_tree))
            if not entry or not truth or len(truth) > MAX_TRUTH:
                reason = "no changelog entry" if not entry else f"{len(truth)} modified .py files"
                print(f"- {old} -> {new}: left out ({reason})")
                continue
            changes += 1
            tree = Path(tmp) / f"v{old}"
            git(repo, "worktree", "add", "-q", "--detach", str(tree), f"v{old}")
            spec = Spec(project="bench", permalink=new, title=f"{args.dist} {new}", body=entry, criteria=[])
            files = git(tree, "ls-files").split()
            cells = []
            for budget in budgets:
                brief = RepoMapAnalyzer(index).analyze(tree, spec, budget)
                counted = len(CL100K.encode(brief.markdown))
                used[budget].append(counted / budget)
                over[budget] = max(over[budget], counted - budget)
                for tool, text in (("brief", brief.markdown), ("paths", path_only(files, spec, budget))):
                    found = sum(appears(p, text) for p in truth)
                    hits[tool, budget][0] += found
                    hits[tool, budget][1] += len(truth)
                    cells.append(f"{found}/{len(truth)}")
            git(repo, "worktree", "remove", "--force", str(tree))
            print(
                f"- {old} -> {new}: {len(truth)} files; brief/paths at "
                + ", ".join(f"{b}: {cells[2 * i]} vs {cells[2 * i + 1]}" for i, b in enumerate(budgets)),
                flush=True,
            )
    print(f"\n{changes} changes measured.\n")
    print("| budget | brief recall | path-only recall | budget used (cl100k), mean | min | max over budget |")
    print("|---|---|---|---|---|---|")
    for b in budgets:
        (bh, bn), (ph, pn) = hits["brief", b], hits["paths", b]
        share = used[b] or [0.0]
        print(
            f"| {b} | {bh / max(bn, 1):.2f} | {ph / max(pn, 1):.2f} | {100 * statistics.mean(share):.0f}% "
            f"| {100 * min(share):.0f}% | {max(over[b], 0)} tokens |"
        )
    print("\nRecall pools the files of all changes. The brief is sized offline, by the calibrated local estimate.")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n({time.perf_counter() - started:.0f} s)")
