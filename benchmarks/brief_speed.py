"""Speed of the brief on a large real repository: Django's sdist, cold and warm, process start included.

Each figure is one `python -m specmill analyze` process, timed from the outside: "cold" starts from an
empty data directory (the index is built); "warm" runs the same spec and budget again (the index and
the brief the cold run left are reused); "index warm" asks for a brief not made yet (another budget
each time), so the index is reused but the brief is ranked and rendered. Warm figures are the median
of --repeat runs. Wall time depends on what else the machine runs, so the CPU time of the
process (user + system) and the load average are printed beside it.

    python benchmarks/brief_speed.py [--version 5.2.19] [--budget 4000] [--repeat 5]

The sdist is downloaded once into ~/.cache/specmill-bench (SPECMILL_BENCH_CACHE).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine
from _sdists import sdist_tree

SPEC = """# QuerySet.bulk_update returns the rows matched

`QuerySet.bulk_update()` returns the number of rows matched, and accepts expressions such as `F()`
in the updated fields. Add tests beside the existing bulk_update tests.
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"specmill analyze failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default="5.2.19")
    parser.add_argument("--budget", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = sdist_tree("django", args.version)
    py_files = sum(name.endswith(".py") for _, _, names in os.walk(root) for name in names)
    print(f"# Brief speed - Django {args.version} ({py_files} .py files) - {machine()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.md"
        spec.write_text(SPEC, encoding="utf-8")
        env = {**os.environ, "SPECMILL_DATA_DIR": str(Path(tmp) / "data"), "ANTHROPIC_API_KEY": ""}
        command = [sys.executable, "-m", "specmill", "analyze", "--repo", str(root), "--spec-file", str(spec)]
        command += ["--budget", str(args.budget)]
        timed([sys.executable, "-c", "pass"], env)  # warm the interpreter's own files
        start = timed([sys.executable, "-m", "specmill", "--help"], env)
        cold = timed(command, env)
        warm = [timed(command, env) for _ in range(args.repeat)]
        fresh = [timed([*command[:-1], str(args.budget + 1 + i)], env) for i in range(args.repeat)]
    load = os.getloadavg()[0]
    print("| | wall | CPU (user + sys) |")
    print("|---|---|---|")
    print(f"| process start (`specmill --help`) | {start[0]:.2f} s | {start[1]:.2f} s |")
    print(f"| cold (index built) | {cold[0]:.2f} s | {cold[1]:.2f} s |")
    print(
        f"| warm (median of {args.repeat}) | {statistics.median(w for w, _ in warm):.2f} s "
        f"| {statistics.median(c for _, c in warm):.2f} s |"
    )
    print(
        f"| index warm, brief made (median of {args.repeat}) | {statistics.median(w for w, _ in fresh):.2f} s "
        f"| {statistics.median(c for _, c in fresh):.2f} s |"
    )
    print(f"\nGoal: <= 3 s cold, <= 0.5 s warm. Load average during the run: {load:.1f} on {os.cpu_count()} CPUs.")


if __name__ == "__main__":
    main()
