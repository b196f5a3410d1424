"""The test run that judges a change cannot be steered by that change.

pytest reads its configuration and every `conftest.py` before a single test runs, and a
hook there can turn a failure into a pass (`pytest_runtest_makereport`), deselect tests
(`pytest_collection_modifyitems`) or rewrite the summary. So before the judged run:

- the test configuration of the base commit is put back: `pytest.ini`, `.pytest.ini` and
  `tox.ini` whole, the pytest section of `pyproject.toml` and `setup.cfg` as parsed (the
  whole file at base when that section differs), and every `conftest.py` that existed there;
- a new `conftest.py` that defines pytest hooks is removed for the run, and any changed
  Python file that loads plugins (`pytest_plugins`), reaches the plugin manager or imports
  pytest's internals (`_pytest`) is reported; either adds an error to the report, so the
  change cannot pass.

What was put back is named at the top of the report's output. These checks read source
code; code that hides what it does from `ast` is still stopped by the sandbox, not here.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

from specmill.models import TestCaseFailure, TestReport
from specmill.phases.protected_paths import section_value

WHOLE_FILES = ("pytest.ini", ".pytest.ini", "tox.ini")
SECTIONS = {"pyproject.toml": "tool.pytest", "setup.cfg": "tool:pytest"}
ALLOWED_HOOKS = frozenset({"pytest_generate_tests"})  # parametrizes tests; cannot change an outcome
SKIPPED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox", ".specmill"})
_CHANGED = re.compile(r"^\+\+\+ b/(.+)$", re.MULTILINE)


def config_files(root: Path) -> dict[str, str | None]:
    """The files that configure pytest in a checkout: path -> text (None: absent)."""
    files: dict[str, str | None] = {name: _read(root / name) for name in (*WHOLE_FILES, *SECTIONS)}
    files.update((rel, _read(root / rel)) for rel in _conftests(root))
    return files


def changed_paths(diff: str) -> list[str]:
    """The files a unified diff changes or adds (as they are named after the change)."""
    return [path.strip() for path in _CHANGED.findall(diff)]


def restore_test_setup(root: Path, base: dict[str, str | None], changed: list[str]) -> tuple[list[str], list[str]]:
    """Put the base commit's test configuration back in `root`; returns (what was put back, problems)."""
    restored: list[str] = []
    for rel, text in sorted(base.items()):
        current = _read(root / rel)
        if current == text:
            continue
        if rel in SECTIONS and section_value(current or "", rel, SECTIONS[rel]) == section_value(
            text or "", rel, SECTIONS[rel]
        ):
            continue  # the rest of pyproject.toml or setup.cfg may change
        _write(root / rel, text)
        restored.append(rel)
    problems: list[str] = []
    for rel in _conftests(root):
        if rel in base:
            continue
        found = _hooks(_read(root / rel) or "", conftest=True)
        if found:
            (root / rel).unlink()
            problems.append(f"{rel} (new) {found}; it was left out of this run")
    for rel in changed:
        if rel.endswith(".py") and Path(rel).name != "conftest.py" and (root / rel).is_file():
            found = _hooks(_read(root / rel) or "", conftest=False)
            if found:
                problems.append(f"{rel} {found}")
    return restored, problems


def with_findings(report: TestReport, restored: list[str], problems: list[str]) -> TestReport:
    """The report, with what was put back named and each problem as an error."""
    update: dict[str, object] = {}
    if restored:
        note = f"[specmill: this run used the base commit's {', '.join(restored)}; a change may not alter them]\n"
        update["output_tail"] = note + report.output_tail
    if problems:
        failures = [
            TestCaseFailure(
                test="<test configuration>",
                message=f"{problem}. A change may not hook pytest: use fixtures, and leave plugins and "
                "pytest's configuration as they are",
            )
            for problem in problems
        ]
        update.update(errors=report.errors + len(failures), failures=[*failures, *report.failures])
    return report.model_copy(update=update) if update else report


def _hooks(source: str, *, conftest: bool) -> str:
    """What in `source` could steer pytest, in words; "" when nothing."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""  # pytest will fail to import it, which fails the run anyway
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("pytest_"):
            if conftest and node.name not in ALLOWED_HOOKS:
                found.append(f"defines the pytest hook {node.name}")
        elif isinstance(node, ast.Name) and node.id == "pytest_plugins" and isinstance(node.ctx, ast.Store):
            found.append("loads plugins (pytest_plugins)")
        elif isinstance(node, ast.Attribute) and node.attr == "pluginmanager":
            found.append("reaches pytest's plugin manager")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if any(name == "_pytest" or name.startswith("_pytest.") for name in names):
                found.append("imports pytest's internals (_pytest)")
    return ", ".join(dict.fromkeys(found))


def _conftests(root: Path) -> list[str]:
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        if "conftest.py" in files:
            found.append((Path(folder) / "conftest.py").relative_to(root).as_posix())
    return found


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="surrogateescape") if path.is_file() else None
    except OSError:
        return None


def _write(path: Path, text: str | None) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    if text is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
