"""Retrieval: does the map show the files a real change touched? specmill beside aider, same budgets.

For each task, two consecutive releases of a library are fetched as sdists (`pip download
--no-binary :all:`), the newer release's changelog entry is the spec, and the truth is every
.py file that existed in the older release and changed in the newer one. Each tool maps the
older tree for the spec at each budget; recall is the share of the truth whose path appears in
the map's text. Both maps are measured with the same token estimate (specmill's), and aider
gets the hints its own chat would derive from the spec (mentioned files and identifiers).

    python benchmarks/analyze_recall.py [--tasks flask,click] [--budgets 1000,4000,8000]

Downloads and aider's virtualenv are cached under .specmill/bench (SPECMILL_BENCH_DIR).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from _bench import BENCH_DIR, aider_maps
from _common import machine

from specmill.adapters.repo_map import RepoMapAnalyzer
from specmill.adapters.repo_scan.walk import list_files
from specmill.models import Spec

TASKS = [
    ("flask", "3.0.2", "3.0.3"),
    ("click", "8.1.7", "8.1.8"),
    ("werkzeug", "3.0.3", "3.0.4"),
    ("requests", "2.32.2", "2.32.3"),
    ("httpx", "0.27.1", "0.27.2"),
    ("urllib3", "2.2.1", "2.2.2"),
    ("attrs", "24.1.0", "24.2.0"),
    ("markdown", "3.6", "3.7"),
    ("black", "24.4.1", "24.4.2"),
    ("sphinx", "7.3.6", "7.3.7"),
    ("pytest", "8.2.0", "8.2.1"),
    ("sqlalchemy", "2.0.29", "2.0.30"),
]
"""Patch and minor releases: a changelog entry of a few items, a change of a few files."""
BUDGETS = [1000, 4000, 8000]
CHANGELOG_NAMES = re.compile(r"^(changes|changelog|history|news|release[-_ ]?notes)([-_.]\w+)*$", re.IGNORECASE)
VERSION_HEADING = re.compile(
    r"^(?:[#=\s]*(?:[a-z][\w-]*\s+)?(?:version\s+|release\s+|v|\[)?|\s*:version:\s*)\d+\.\d+(?:\.\d+)?\w*\]?(?:\s|$|[(:,-])",
    re.IGNORECASE,
)
"""`Version 3.0.3`, `## [24.2.0] - ...`, `pytest 8.2.1 (2024-05-19)`, `Release 7.3.7`,
sqlalchemy's `:version: 2.0.30`."""


@dataclass(frozen=True)
class Task:
    dist: str
    old: str
    new: str

    @property
    def name(self) -> str:
        return f"{self.dist} {self.old}->{self.new}"


def fetch(dist: str, version: str) -> Path:
    """The release's sdist, unpacked once under the bench cache; returns its top folder."""
    target = BENCH_DIR / "sdists" / f"{dist}-{version}"
    if (target / ".complete").exists():
        return next(p for p in (target / "tree").iterdir() if p.is_dir())
    shutil.rmtree(target, ignore_errors=True)
    download = target / "download"
    download.mkdir(parents=True)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-d",
            str(download),
            f"{dist}=={version}",
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise OSError(f"pip download {dist}=={version} failed: {proc.stderr.strip().splitlines()[-1:]}")
    archive = next(download.iterdir())
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(target / "tree")
    else:
        with tarfile.open(archive) as t:
            t.extractall(target / "tree", filter="data")
    shutil.rmtree(download)
    (target / ".complete").touch()
    return next(p for p in (target / "tree").iterdir() if p.is_dir())


def changelog_entry(tree: Path, version: str) -> str | None:
    """The section of the changelog headed by `version`, up to the next version's heading."""
    candidates = sorted(
        (
            p
            for p in tree.rglob("*")
            if CHANGELOG_NAMES.match(p.name) and p.is_file() and len(p.relative_to(tree).parts) <= 4
        ),
        key=lambda p: (len(p.parts), p),
    )
    own = re.compile(rf"(?<![\d.]){re.escape(version)}(?![\d])")
    for path in candidates:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for i, line in enumerate(lines):
            if own.search(line) and VERSION_HEADING.match(line):
                end = next(
                    (
                        j
                        for j in range(i + 2, len(lines))
                        if VERSION_HEADING.match(lines[j]) and not own.search(lines[j]) and _is_heading(lines, j)
                    ),
                    len(lines),
                )
                entry = "\n".join(lines[i + 1 : end]).strip("-=~^ \n")
                if entry.strip():
                    return entry
    return None


def _is_heading(lines: list[str], j: int) -> bool:
    if lines[j].strip().startswith(":version:"):
        return True
    underline = j + 1 < len(lines) and re.fullmatch(r"[-=~^*]{3,}", lines[j + 1].strip() or "x")
    return lines[j].lstrip().startswith("#") or bool(underline) or lines[j].lower().startswith("version")


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def changed_python(old: Path, new: Path) -> list[str]:
    """.py files of the old release that the new release changed (added and deleted files excluded)."""
    found = []
    for path in sorted(old.rglob("*.py")):
        rel = path.relative_to(old).as_posix()
        twin = new / rel
        if twin.is_file() and _digest(path) != _digest(twin):
            found.append(rel)
    return found


def appears(path: str, text: str) -> bool:
    return re.search(rf"(?<![\w./-]){re.escape(path)}(?![\w/-])", text) is not None


def specmill_maps(root: Path, spec: Spec, budgets: list[int]) -> dict[int, tuple[str, int]]:
    analyzer = RepoMapAnalyzer()
    return {b: ((brief := analyzer.analyze(root, spec, b)).markdown, brief.tokens) for b in budgets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", help="comma-separated distribution names (default: all)")
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    parser.add_argument("--no-aider", action="store_true", help="specmill only (for tuning)")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    wanted = set(args.tasks.split(",")) if args.tasks else None
    tasks = [Task(*t) for t in TASKS if wanted is None or t[0] in wanted]
    print(f"# Retrieval recall of changed files - {machine()}\n")
    header = "| task | truth | " + " | ".join(f"specmill {b} | aider {b}" for b in budgets) + " |"
    print(header)
    print("|" + "---|" * (2 + 2 * len(budgets)))
    totals = {(tool, b): [0, 0] for tool in ("specmill", "aider") for b in budgets}
    per_task: dict[tuple[str, int], list[float]] = {key: [] for key in totals}
    tokens = {(tool, b): [] for tool in ("specmill", "aider") for b in budgets}
    for task in tasks:
        try:
            old, new = fetch(task.dist, task.old), fetch(task.dist, task.new)
        except (subprocess.CalledProcessError, StopIteration, OSError, tarfile.TarError) as exc:
            print(f"| {task.name} | skipped: could not fetch ({type(exc).__name__}) |", file=sys.stderr)
            continue
        entry = changelog_entry(new, task.new)
        truth = changed_python(old, new)
        if not entry or not truth:
            print(
                f"skipped {task.name}: {'no changelog entry' if not entry else 'no changed .py file'}", file=sys.stderr
            )
            continue
        spec = Spec(project="bench", permalink=task.dist, title=f"{task.dist} {task.new}", body=entry, criteria=[])
        files = [item.path for item in list_files(old)[0]]
        ours = specmill_maps(old, spec, budgets)
        theirs = (
            {}
            if args.no_aider
            else aider_maps(old, files, budgets, f"{spec.title}\n{entry}", BENCH_DIR / "aider-tags" / old.name)
        )
        cells = []
        for b in budgets:
            for tool, text, count in (
                ("specmill", *ours[b]),
                ("aider", theirs.get("maps", {}).get(str(b), ""), theirs.get("tokens", {}).get(str(b), 0)),
            ):
                hit = sum(appears(p, text) for p in truth)
                totals[tool, b][0] += hit
                totals[tool, b][1] += len(truth)
                per_task[tool, b].append(hit / len(truth))
                tokens[tool, b].append(count)
                cells.append(f"{hit}/{len(truth)}")
        print(f"| {task.name} | {len(truth)} | " + " | ".join(cells) + " |", flush=True)
    row = [f"{100 * h / n:.0f}%" if n else "-" for b in budgets for h, n in (totals["specmill", b], totals["aider", b])]
    print("| **recall, all files pooled** | | " + " | ".join(row) + " |")
    mean = [
        f"{100 * sum(r) / len(r):.0f}%" if r else "-"
        for b in budgets
        for r in (per_task["specmill", b], per_task["aider", b])
    ]
    print("| **recall, mean of tasks** | | " + " | ".join(mean) + " |")
    used = [
        f"{sum(t) / len(t):.0f}" if t else "-" for b in budgets for t in (tokens["specmill", b], tokens["aider", b])
    ]
    print("| mean tokens used | | " + " | ".join(used) + " |")
    print(
        "\nTokens are specmill's calibrated brief estimate for both maps; aider's map may exceed its budget by "
        "up to 15% by design."
    )


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n({time.perf_counter() - started:.0f} s)")
