"""The `specmill` command: a Typer root with one module per command group."""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer
from pydantic import ValidationError

from specmill.cli.errors import EXIT_BAD_INPUT
from specmill.config import Settings
from specmill.config_file import ConfigFileError, config_path
from specmill.redaction import Redactor, redact_log_records

HELP = "Turn Basic Memory specs into tested code on a git branch, durably."


def _root() -> typer.Typer:
    return typer.Typer(
        name="specmill", help=HELP, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False
    )


def build_app() -> typer.Typer:
    """The root with every command group registered."""
    from specmill.cli import analyze as analyze_commands
    from specmill.cli import approve as approve_commands
    from specmill.cli import db as db_commands
    from specmill.cli import dbos_tools
    from specmill.cli import demo as demo_commands
    from specmill.cli import doctor as doctor_commands
    from specmill.cli import gc as gc_commands
    from specmill.cli import init as init_commands
    from specmill.cli import mcp as mcp_commands
    from specmill.cli import publish as publish_commands
    from specmill.cli import run as run_commands
    from specmill.cli import runs as runs_commands
    from specmill.cli import serve as serve_commands
    from specmill.cli import sweep as sweep_commands
    from specmill.cli import worker as worker_commands

    app = _root()
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
    init_commands.register(app)
    publish_commands.register(app, runs_commands.runs_app)
    return app


def _one_command(name: str) -> typer.Typer:
    """`specmill analyze` or `specmill worker` alone: a brief is often asked for in a loop, and a restarted
    worker recovers its runs sooner, when the other groups are not imported first. The callback keeps
    it a group, so the command keeps its name."""
    app = _root()
    app.callback()(lambda: None)
    if name == "analyze":
        from specmill.cli import analyze as analyze_commands

        analyze_commands.register(app)
    else:
        from specmill.cli import worker as worker_commands

        worker_commands.register(app)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":  # built on first use, so importing this module imports no command
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(name)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    redact_log_records(_redactor())
    built = globals().get("app")  # the full root, when something already built (or replaced) it
    if built is None:
        alone = sys.argv[1:2] in (["analyze"], ["worker"])
        built = _one_command(sys.argv[1]) if alone else __getattr__("app")
    try:
        built()
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        typer.echo(f"error: setting '{name}': {first['msg']} (in the environment or {config_path()})", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from None
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from None


def _redactor() -> Redactor:
    """Every log line of every command goes through this; with unreadable settings (which the
    command itself reports) key-shaped text is still removed."""
    try:
        return Redactor.from_settings(Settings())
    except Exception:
        return Redactor()
