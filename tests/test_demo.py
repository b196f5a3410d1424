"""The README's first quick-start command: `specmill demo` on the embedded default, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]


def test_the_demo_implements_the_example_spec_offline(basic_memory, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DBOS_", "SPECMILL_"))}
    env["SPECMILL_BASIC_MEMORY_COMMAND"] = basic_memory.command
    proc = subprocess.run(
        [sys.executable, "-m", "specmill", "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "OFFLINE REPLAY" in proc.stderr
    assert proc.stdout.startswith("succeeded: specs/goodbye-endpoint")
    assert (tmp_path / ".specmill" / "specmill.sqlite").exists()
    note = (tmp_path / ".specmill" / "demo" / "notes" / "specs" / "goodbye-endpoint.md").read_text()
    assert note.count("## Implementation Status") == 1 and "status: implemented" in note
