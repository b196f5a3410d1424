"""What the test sandbox costs per test run: the same commands under bubblewrap and with none.

    python benchmarks/sandbox_overhead.py [--repeat N]

Prints the median wall time of a bare `python -c pass` and of a small pytest suite, each run
through `SubprocessTestRunner`, and the difference.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from specmill.adapters.pytest_runner import SubprocessTestRunner
from specmill.adapters.sandbox import detect_sandbox

SUITE = "import pytest\n\n\n@pytest.mark.parametrize('n', range(50))\ndef test_n(n):\n    assert n * 2 == n + n\n"


def median_s(runner: SubprocessTestRunner, root: Path, command: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        report = runner.run(root, command)
        times.append(time.perf_counter() - started)
        assert report.exit_code == 0, report.output_tail
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "test_suite.py").write_text(SUITE)
        runners = {kind: SubprocessTestRunner(sandbox=detect_sandbox(kind)) for kind in ("bwrap", "none")}
        print(f"median of {repeat} runs, seconds")
        for label, command in (("python -c pass", "python -c pass"), ("pytest, 50 tests", "python -m pytest -q")):
            figures = {kind: median_s(runner, root, command, repeat) for kind, runner in runners.items()}
            extra = figures["bwrap"] - figures["none"]
            print(f"{label:18} bwrap {figures['bwrap']:.3f}  none {figures['none']:.3f}  sandbox costs {extra:+.3f}")


if __name__ == "__main__":
    main()
