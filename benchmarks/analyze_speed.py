"""Speed: the map of a large real Python tree, cold and warm, beside aider's map of the same tree.

The tree is the largest site-packages folder of the running interpreter with at least 2,000
.py files (found at run time). specmill is timed in this process through its public
analyzer: "cold" starts from an empty index directory, "warm" runs again on the index the cold
run left. aider's RepoMap is timed in its own virtualenv (see _bench.py), cold on an empty
tags cache and warm on the filled one, with the same file list, spec and token estimate.

    python benchmarks/analyze_speed.py [--budgets 1000,4000,8000] [--no-aider] [--aider-cold-every-budget]

aider's cold map of a 6,000-file tree takes minutes, so by default it is timed cold at the
first budget only (it parses every file once, whatever the budget).
"""

from __future__ import annotations

import argparse
import os
import shutil
import site
import sysconfig
import tempfile
import time
from pathlib import Path

from _bench import BENCH_DIR, aider_maps
from _common import machine

from specmill.adapters.repo_map import RepoMapAnalyzer
from specmill.adapters.repo_scan.walk import MAX_PARSE_TOTAL, list_files, parse_plan
from specmill.models import Spec

SPEC = Spec(
    project="bench",
    permalink="retries",
    title="Retry HTTP requests on connection errors",
    body="Retry idempotent HTTP requests with exponential backoff when the connection drops or the pool times "
    "out; make the retry count and the backoff factor configurable.",
    criteria=[],
)
MIN_FILES = 2000


def _python_files(folder: Path) -> int:
    return sum(name.endswith(".py") for _, _, names in os.walk(folder) for name in names)


def speed_tree() -> tuple[Path, int]:
    """The largest site-packages folder here with at least MIN_FILES .py files."""
    candidates = {Path(p) for p in [*site.getsitepackages(), sysconfig.get_paths()["purelib"]] if Path(p).is_dir()}
    counted = sorted(((_python_files(p), p) for p in candidates), reverse=True)
    if not counted or counted[0][0] < MIN_FILES:
        raise SystemExit(f"no site-packages folder with {MIN_FILES}+ .py files; install a few libraries first")
    return counted[0][1], counted[0][0]


def _timed(analyzer: RepoMapAnalyzer, root: Path, budget: int) -> tuple[float, int, int]:
    started = time.perf_counter()
    brief = analyzer.analyze(root, SPEC, budget)
    return time.perf_counter() - started, brief.tokens, len(brief.files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", default="1000,4000,8000")
    parser.add_argument("--no-aider", action="store_true")
    parser.add_argument("--aider-cold-every-budget", action="store_true")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    root, py_count = speed_tree()
    listed = list_files(root)[0]
    due, _ = parse_plan(listed)
    size = sum(item.size for item in listed if item.path.endswith(".py"))
    print(f"# Map speed - {machine()}\n")
    print(
        f"Tree: this interpreter's site-packages: {len(listed)} files, {py_count} .py ({size / 1e6:.0f} MB of "
        f"Python); specmill parses {len(due)} of them (cap {MAX_PARSE_TOTAL / 1e6:.0f} MB), aider every one.\n"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for budget in budgets:
            cache = Path(tmp) / f"index-{budget}"
            cold = _timed(RepoMapAnalyzer(cache), root, budget)
            warm = _timed(RepoMapAnalyzer(cache), root, budget)
            rows.append((budget, cold, warm))
            print(f"  specmill {budget}: cold {cold[0]:.1f} s, warm {warm[0]:.2f} s", flush=True)
    theirs: dict[int, tuple[float | None, float, int]] = {}
    if not args.no_aider:
        files = [item.path for item in listed]
        spec_text = f"{SPEC.title}\n{SPEC.body}"
        tags = BENCH_DIR / "aider-tags" / "speed-tree"
        cold_seconds: dict[int, float] = {}
        for i, budget in enumerate(budgets):
            if i == 0 or args.aider_cold_every_budget:
                shutil.rmtree(tags, ignore_errors=True)
                cold_seconds[budget] = aider_maps(root, files, [budget], spec_text, tags)["seconds"][str(budget)]
                print(f"  aider {budget}: cold {cold_seconds[budget]:.1f} s", flush=True)
        warm = aider_maps(root, files, budgets, spec_text, tags)
        for budget in budgets:
            theirs[budget] = (cold_seconds.get(budget), warm["seconds"][str(budget)], warm["tokens"][str(budget)])
            print(f"  aider {budget}: warm {theirs[budget][1]:.1f} s", flush=True)
    print(
        "\n| budget | specmill cold | specmill warm | specmill tokens | files shown | aider cold | aider warm "
        "| aider tokens |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for budget, cold, warm in rows:
        aider_cold, aider_warm, aider_tokens = theirs.get(budget, (None, None, None))
        print(
            f"| {budget} | {cold[0]:.1f} s | {warm[0]:.2f} s | {warm[1]} / {budget} | {warm[2]} | "
            + (f"{aider_cold:.1f} s" if aider_cold is not None else "-")
            + " | "
            + (f"{aider_warm:.1f} s" if aider_warm is not None else "-")
            + " | "
            + (f"{aider_tokens} / {budget}" if aider_tokens is not None else "-")
            + " |"
        )
    print(
        "\nTokens: specmill's calibrated brief estimate (about 1.1x a cl100k count), for both tools. "
        "Cold: empty cache; warm: the cache the cold run left."
    )


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n({time.perf_counter() - started:.0f} s)")
