"""Shared by the map benchmarks: where their caches live, aider's own virtualenv, the driver call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(os.environ.get("SPECMILL_BENCH_DIR", REPO / ".specmill" / "bench"))
AIDER_VENV = BENCH_DIR / "aider-venv"
AIDER_VERSION = "0.86.2"
DRIVER = Path(__file__).resolve().parent / "aider_map_driver.py"


def aider_python() -> Path:
    """aider-chat in a virtualenv of its own (its pins clash with specmill's), built on first use."""
    python = AIDER_VENV / "bin" / "python"
    probe = [str(python), "-c", "import aider, aider.repomap; print(aider.__version__)"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"building {AIDER_VENV} with aider-chat=={AIDER_VERSION} (once; a few minutes)...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(AIDER_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"aider-chat=={AIDER_VERSION}"], check=True)
    return python


def aider_maps(root: Path, files: list[str], budgets: list[int], spec: str, cache_dir: Path) -> dict:
    """Run aider's RepoMap through the driver; returns its RESULT (see aider_map_driver.py)."""
    with tempfile.TemporaryDirectory() as tmp:
        request, result = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request.write_text(
            json.dumps(
                {"root": str(root), "files": files, "budgets": budgets, "spec": spec, "cache_dir": str(cache_dir)}
            ),
            encoding="utf-8",
        )
        # aider iterates over sets when it builds its graph: a fixed hash seed makes its map reproducible
        env = {**os.environ, "AIDER_CHECK_UPDATE": "false", "PYTHONWARNINGS": "ignore", "PYTHONHASHSEED": "0"}
        proc = subprocess.run(
            [str(aider_python()), str(DRIVER), str(request), str(result)],
            capture_output=True,
            text=True,
            env=env,
            timeout=1800,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"aider driver failed:\n{proc.stderr[-3000:]}")
        return json.loads(result.read_text(encoding="utf-8"))
