"""The `specmill` command: a Typer root with one module per command group."""

from __future__ import annotations

import logging

import typer

from specmill.cli import analyze as analyze_commands
from specmill.cli import approve as approve_commands
from specmill.cli import db as db_commands
from specmill.cli import dbos_tools
from specmill.cli import demo as demo_commands
from specmill.cli import doctor as doctor_commands
from specmill.cli import gc as gc_commands
from specmill.cli import mcp as mcp_commands
from specmill.cli import publish as publish_commands
from specmill.cli import run as run_commands
from specmill.cli import runs as runs_commands
from specmill.cli import serve as serve_commands
from specmill.cli import sweep as sweep_commands
from specmill.cli import worker as worker_commands
from specmill.config import Settings
from specmill.redaction import Redactor, redact_log_records

app = typer.Typer(
    name="specmill",
    help="Turn Basic Memory specs into tested code on a git branch, durably.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
run_commands.register(app)
analyze_commands.register(app)
demo_commands.register(app)
serve_commands.register(app)
db_commands.register(app)
dbos_tools.register(app)
runs_commands.register(app)
worker_commands.register(app)
sweep_commands.register(app)
mcp_commands.register(app)
approve_commands.register(app)
gc_commands.register(app)
doctor_commands.register(app)
publish_commands.register(app, runs_commands.runs_app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    redact_log_records(_redactor())
    app()


def _redactor() -> Redactor:
    """Every log line of every command goes through this; with unreadable settings (which the
    command itself reports) key-shaped text is still removed."""
    try:
        return Redactor.from_settings(Settings())
    except Exception:
        return Redactor()
