"""Convention detectors on layouts other than the FastAPI + Typer service."""

from __future__ import annotations

from pathlib import Path

from specmill.adapters.repo_map import RepoMapAnalyzer
from specmill.models import Convention, PatternBrief
from tests.repo_map_samples import make_spec, write_repo

SPEC = make_spec("Export reports")


def _analyze(root: Path, files: dict[str, str]) -> PatternBrief:
    return RepoMapAnalyzer().analyze(write_repo(root, files), SPEC, 6000)


def _kinds(brief: PatternBrief) -> dict[str, Convention]:
    return {c.kind: c for c in brief.conventions}


def test_src_layout_click_cli_and_ini_style_tooling(tmp_path: Path) -> None:
    brief = _analyze(
        tmp_path,
        {
            "src/reports/__init__.py": "",
            "src/reports/cli.py": '''
import click

from .export import export_csv


@click.group()
def cli() -> None:
    """Report tools."""


@cli.command()
def export() -> None:
    export_csv()


@click.command()
def version() -> None: ...


cli.add_command(version)
''',
            "src/reports/export.py": "def export_csv() -> str:\n    return ''\n",
            "src/reports/__main__.py": "from .cli import cli\ncli()\n",
            "setup.cfg": "[options]\ninstall_requires =\n    click>=8\n\n[flake8]\nmax-line-length = 88\n\n"
            "[mypy]\ndisallow_untyped_defs = True\n\n[tool:pytest]\ntestpaths = tests\n",
            ".isort.cfg": "[settings]\nprofile = black\n",
            "ruff.toml": "line-length = 88\n[lint]\nselect = ['E', 'F']\n",
            "requirements-dev.txt": "# tools\npytest==8.0\n-e .\n",
            "Makefile": "lint:\n\truff check .\n\ntest:\n\tpytest -q tests\n",
            "uv.lock": "version = 1\n",
            "tests/test_export.py": "from reports.export import export_csv\n\n\n"
            "class TestExport:\n    def test_csv(self):\n        assert export_csv() == ''\n",
        },
    )
    kinds = _kinds(brief)
    assert kinds["layout"].summary.startswith("src layout: import packages under `src/`: `src/reports/`")
    assert "`python -m reports` runs `src/reports/__main__.py`" in kinds["entry-points"].summary
    click = kinds["click-cli"]
    assert "groups `cli (src/reports/cli.py)`" in click.summary
    assert "2 commands in `src/reports/cli.py`" in click.summary
    assert "`cli.add_command(version)`" in click.summary
    assert click.files == ["src/reports/cli.py"]
    lint = [c.summary for c in brief.conventions if c.kind == "lint"]
    assert lint == [
        "ruff (ruff.toml): line-length=88, lint.select=[E, F]",
        "flake8 (setup.cfg [flake8]): max-line-length=88",
    ]
    assert _kinds(brief)["format"].summary == "isort (.isort.cfg [settings]): profile=black"
    assert kinds["types"].summary == "mypy (setup.cfg [mypy]): disallow_untyped_defs=True"
    command = kinds["test-command"].summary
    assert command.startswith("run `uv run pytest`; config in setup.cfg [tool:pytest]: testpaths=tests")
    assert "Makefile target runs `pytest -q tests`" in command
    assert "click (setup.cfg, imported in 1 file)" in kinds["frameworks"].summary
    assert "pytest (requirements-dev.txt" in kinds["frameworks"].summary
    assert "1 `Test*` class" in kinds["tests"].summary
    assert "`tests/test_export.py` <-> `src/reports/export.py`" in kinds["tests"].summary


def test_relative_imports_link_files_for_ranking(tmp_path: Path) -> None:
    brief = _analyze(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/reports.py": "def export_report() -> None: ...\n",
            "pkg/uses_reports.py": "from .reports import export_report\n\n\ndef go() -> None:\n    export_report()\n",
            "pkg/unrelated.py": "def other() -> None: ...\n",
        },
    )
    order = [f.path for f in brief.files]
    assert order[0] == "pkg/reports.py"
    assert order.index("pkg/uses_reports.py") < order.index("pkg/unrelated.py")


def test_nested_service_resolves_imports_through_its_package_chain(tmp_path: Path) -> None:
    brief = _analyze(
        tmp_path,
        {
            "services/api/svc/__init__.py": "",
            "services/api/svc/main.py": "from fastapi import FastAPI\nfrom svc.routers import reports\n\n"
            "app = FastAPI()\napp.include_router(reports.router)\n",
            "services/api/svc/routers/__init__.py": "",
            "services/api/svc/routers/reports.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n",
        },
    )
    routers = _kinds(brief)["fastapi-router"]
    assert "not imported" not in routers.summary
    assert routers.files == ["services/api/svc/main.py", "services/api/svc/routers/reports.py"]


def test_plain_python_without_tests_suggests_where_they_go(tmp_path: Path) -> None:
    brief = _analyze(tmp_path, {"tool.py": "def main() -> None: ...\n"})
    kinds = _kinds(brief)
    assert kinds["layout"].summary == "modules at the root: `tool.py`"
    assert kinds["tests"].summary.startswith("no test files yet")
    assert "fastapi-router" not in kinds and "typer-cli" not in kinds
