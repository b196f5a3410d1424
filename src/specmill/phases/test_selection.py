"""The model's `run_tests` selection: test paths and node ids inside the worktree, nothing else.

The selection is appended to the playbook's test command, so an option there would steer
the run that judges the change (`-o addopts=`, `-c other.ini`, `-p plugin`, `--basetemp=/x`)
or write outside the worktree. Only words that name tests are let through.
"""

from __future__ import annotations

import shlex
from pathlib import Path

EXAMPLE = "tests/test_calc.py or tests/test_calc.py::test_add"


def selection_problem(selection: str, root: Path) -> str | None:
    """Why `selection` is refused (one line the model can act on), or None when every word names tests."""
    try:
        words = shlex.split(selection)
    except ValueError as exc:
        return f"the selection cannot be parsed ({exc}); pass test paths or node ids such as {EXAMPLE}"
    top = root.resolve()
    for word in words:
        if word.startswith("-"):
            return f"the selection takes test paths and node ids only (such as {EXAMPLE}); '{word}' is an option"
        path = word.split("::", 1)[0]
        if not path or "\0" in path:
            return f"'{word}' is not a test path or node id (such as {EXAMPLE})"
        target = (top / path).resolve()
        if not target.is_relative_to(top):
            return f"'{word}' is outside the repository; pass test paths or node ids inside it"
    return None
