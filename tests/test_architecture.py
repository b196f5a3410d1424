"""Dependencies point one way, nothing imports in a circle, and few files touch DBOS.

The rules are checked on the import graph of `src/specmill`, parsed with `ast` (imports inside
functions count too: a lazy import that closes a cycle is still a cycle). The self-tests plant a
cycle and a phase importing DBOS in a package of their own and prove each rule catches them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "specmill"

# The run's workflow, the step wrapper and the runtime; the sweep's own workflows (a second kind of
# process, with its own ids); the API's reads of DBOS's records.
DBOS_MODULES = {
    "specmill.workflow",
    "specmill.durable",
    "specmill.runtime",
    "specmill.queries",
    "specmill.sweep.workflow",
    "specmill.gates",  # the run's durable waits, part of its workflow
    "specmill.answers",  # answers to those waits (DBOS.send), from the API and the CLI
}
ENTRY_POINTS = ("specmill.api", "specmill.cli", "specmill.mcp_server")


def module_name(root: Path, path: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules it imports (its package's modules by full name, others by top name too)."""
    modules = {module_name(root, p): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules)
        graph[name] = found
    return graph


def internal(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    return {name: {m for m in imports if m in graph and m != name} for name, imports in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the package's modules, as a path that returns to its start; None if none."""
    edges = internal(graph)
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def offenders(graph: dict[str, set[str]], layer: str, forbidden: tuple[str, ...]) -> dict[str, set[str]]:
    """Modules of `layer` that import anything under one of `forbidden` (a name or its submodules)."""
    bad: dict[str, set[str]] = {}
    for name, imports in graph.items():
        if name == layer or name.startswith(layer + "."):
            hits = {m for m in imports if any(m == f or m.startswith(f + ".") for f in forbidden)}
            if hits:
                bad[name] = hits
    return bad


def dbos_importers(graph: dict[str, set[str]]) -> set[str]:
    return {name for name, imports in graph.items() if any(m == "dbos" or m.startswith("dbos.") for m in imports)}


def private_dbos_imports(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    return {
        name: hits
        for name, imports in graph.items()
        if (hits := {m for m in imports if m.startswith("dbos.") and any(p.startswith("_") for p in m.split("."))})
    }


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(PACKAGE)


def test_no_module_imports_in_a_circle(graph) -> None:
    assert find_cycle(graph) is None


def test_only_the_workflow_the_step_wrapper_the_runtime_and_the_queries_import_dbos(graph) -> None:
    assert dbos_importers(graph) <= DBOS_MODULES
    assert private_dbos_imports(graph) == {}


def test_phases_import_no_dbos_no_adapters_and_no_entry_points(graph) -> None:
    forbidden = (
        "dbos",
        "specmill.adapters",
        "specmill.runtime",
        "specmill.workflow",
        "specmill.durable",
        *ENTRY_POINTS,
    )
    assert offenders(graph, "specmill.phases", forbidden) == {}


def test_adapters_import_no_phases_sweep_workflow_or_entry_points(graph) -> None:
    forbidden = (
        "dbos",
        "specmill.phases",
        "specmill.sweep",
        "specmill.workflow",
        "specmill.runtime",
        "specmill.steps",
        *ENTRY_POINTS,
    )
    assert offenders(graph, "specmill.adapters", forbidden) == {}


def test_ports_import_only_models_errors_and_other_ports(graph) -> None:
    for name, imports in graph.items():
        if name.startswith("specmill.ports"):
            ours = {m for m in imports if m.startswith("specmill")}
            assert ours <= {"specmill.models", "specmill.errors"} | {
                m for m in graph if m.startswith("specmill.ports")
            }, name


def test_shared_names_import_nothing_of_specmill(graph) -> None:
    assert {m for m in graph["specmill.names"] if m.startswith("specmill")} == set()


def test_source_files_stay_small() -> None:
    too_big = {
        str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400
    }
    assert too_big == {}


# --- the rules catch what they are meant to catch --------------------------------------------


def _plant(root: Path, files: dict[str, str]) -> Path:
    package = root / "specmill"
    for relative, text in {"__init__.py": "", **files}.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_a_planted_cycle_is_found_even_through_a_lazy_import(tmp_path: Path) -> None:
    package = _plant(
        tmp_path,
        {
            "a.py": "from specmill import b\n",
            "b.py": "def later():\n    from specmill.c import thing\n",
            "c.py": "from . import a\nthing = 1\n",
            "d.py": "from specmill import a\n",
        },
    )
    cycle = find_cycle(import_graph(package))
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"specmill.a", "specmill.b", "specmill.c"}
    assert (
        find_cycle(import_graph(_plant(tmp_path / "clean", {"a.py": "from specmill import b\n", "b.py": ""}))) is None
    )


def test_a_planted_phase_importing_dbos_or_an_adapter_is_refused(tmp_path: Path) -> None:
    package = _plant(
        tmp_path,
        {
            "phases/__init__.py": "",
            "phases/good.py": "from specmill.models import Spec\n",
            "phases/bad.py": "from dbos import DBOS\nfrom specmill.adapters.git import Git\n",
            "adapters/__init__.py": "",
            "adapters/git.py": "import dbos._error\n",
            "models.py": "",
        },
    )
    planted = import_graph(package)
    forbidden = ("dbos", "specmill.adapters")
    assert offenders(planted, "specmill.phases", forbidden) == {
        "specmill.phases.bad": {"dbos", "specmill.adapters.git"}
    }
    assert dbos_importers(planted) == {"specmill.phases.bad", "specmill.adapters.git"}
    assert private_dbos_imports(planted) == {"specmill.adapters.git": {"dbos._error"}}
