"""Dependencies point one way, and few files touch DBOS."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "specmill"
# read_model.py holds the DBOS datasource of specmill's tables (created between DBOS(config) and
# launch) and the async reads of DBOS's records that the HTTP API serves. sweep/workflow.py holds
# the sweep's own workflows (a second process, with its own ids), which would crowd the run's.
DBOS_MODULES = {"workflow.py", "runtime.py", "read_model.py", "sweep/workflow.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules(folder: str = "") -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def test_only_the_workflow_and_the_runtime_import_dbos() -> None:
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in _modules()
        if any(name == "dbos" or name.startswith("dbos.") for name in _imports(p))
        and str(p.relative_to(PACKAGE)) not in DBOS_MODULES
    ]
    assert offenders == []


def test_phases_depend_on_ports_not_on_adapters_or_entry_points() -> None:
    allowed_adapters = {"specmill.phases.file_tools"}  # file tools are plain Python over a directory
    for path in _modules("phases"):
        bad = {
            name for name in _imports(path)
            if name.startswith(("specmill.adapters", "specmill.cli", "specmill.api", "specmill.runtime", "specmill.workflow"))
        }
        assert not bad - allowed_adapters, f"{path.name} imports {bad}"


def test_adapters_do_not_reach_into_phases_workflow_or_entry_points() -> None:
    for path in _modules("adapters"):
        bad = {
            name for name in _imports(path)
            if name.startswith(("specmill.phases", "specmill.workflow", "specmill.runtime", "specmill.cli", "specmill.api"))
        }
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_ports_import_only_models_errors_and_other_ports() -> None:
    ports = {f"specmill.ports.{p.stem}" for p in _modules("ports") if p.stem != "__init__"}
    for path in _modules("ports"):
        project = {n for n in _imports(path) if n.startswith("specmill")}
        assert project <= {"specmill.models", "specmill.errors"} | ports, path.name


def test_source_files_stay_small() -> None:
    too_big = {str(p.relative_to(PACKAGE)): n for p in _modules() if (n := len(p.read_text().splitlines())) > 400}
    assert too_big == {}
