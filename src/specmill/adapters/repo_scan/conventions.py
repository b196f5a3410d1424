"""All convention detectors, in the order the brief presents them."""

from __future__ import annotations

from collections.abc import Callable

from specmill.adapters.repo_scan.detect_code import (
    detect_click,
    detect_dbos,
    detect_dependencies,
    detect_fastapi,
    detect_settings,
    detect_typer,
)
from specmill.adapters.repo_scan.detect_project import (
    detect_entry_points,
    detect_frameworks,
    detect_layout,
    detect_test_command,
    detect_tooling,
)
from specmill.adapters.repo_scan.detect_tests import detect_fixtures, detect_tests
from specmill.adapters.repo_scan.repo import Repo
from specmill.models import Convention

DETECTORS: tuple[Callable[[Repo], list[Convention]], ...] = (
    detect_layout,
    detect_entry_points,
    detect_fastapi,
    detect_typer,
    detect_click,
    detect_dbos,
    detect_tests,
    detect_test_command,
    detect_settings,
    detect_dependencies,
    detect_fixtures,
    detect_frameworks,
    detect_tooling,
)


def detect_conventions(repo: Repo) -> list[Convention]:
    return [c for detector in DETECTORS for c in detector(repo)]
