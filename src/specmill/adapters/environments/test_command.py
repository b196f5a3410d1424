"""The repository's own way to run its tests, for when the playbook names none.

pytest wins wherever the repository configures it (`[tool.pytest]`, `[tool.pytest.ini_options]`,
pytest.ini, `[tool:pytest]` in setup.cfg, `[pytest]` in tox.ini, a conftest.py) or has test files:
inside the repository's environment `python -m pytest` is what `uv run pytest` and `poetry run
pytest` run. Otherwise a Makefile `test` target, then tox, then nox: those are the repository's way
when it has no pytest setup of its own (they may need the network, which tests do not get).
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PYTEST = "python -m pytest"


@dataclass(frozen=True)
class DetectedCommand:
    command: str
    reason: str


def detect_test_command(root: Path, pyproject: dict[str, Any], kind: str) -> DetectedCommand | None:
    runner = {"uv": "`uv run pytest`", "poetry": "`poetry run pytest`"}.get(kind, "pytest")
    pytest_tool = pyproject.get("tool", {}).get("pytest")
    if pytest_tool is not None:
        table = "[tool.pytest.ini_options]" if "ini_options" in pytest_tool else "[tool.pytest]"
        return DetectedCommand(PYTEST, f"{table} in pyproject.toml: {runner} in the repository's environment")
    if (root / "pytest.ini").is_file() or _has_section(root / "tox.ini", "pytest"):
        return DetectedCommand(PYTEST, f"pytest configuration in pytest.ini/tox.ini: {runner}")
    if _has_section(root / "setup.cfg", "tool:pytest"):
        return DetectedCommand(PYTEST, f"[tool:pytest] in setup.cfg: {runner}")
    if (root / "conftest.py").is_file() or any(_test_files(root)):
        return DetectedCommand(PYTEST, f"pytest-style tests (conftest.py or test_*.py): {runner}")
    makefile = root / "Makefile"
    if makefile.is_file() and re.search(r"^test\s*:", makefile.read_text(encoding="utf-8", errors="replace"), re.M):
        return DetectedCommand("make test", "a `test` target in the Makefile")
    if (root / "tox.ini").is_file():
        return DetectedCommand("tox", "tox.ini")
    if (root / "noxfile.py").is_file():
        return DetectedCommand("nox", "noxfile.py")
    return None


def _has_section(path: Path, section: str) -> bool:
    if not path.is_file():
        return False
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace"))
    except configparser.Error:
        return False
    return parser.has_section(section)


def _test_files(root: Path):
    for folder in (root / "tests", root / "test", root):
        if folder.is_dir():
            yield from folder.glob("test_*.py")
            yield from folder.glob("*_test.py")
