"""The `specmill` command: a Typer root with one module per command group."""

from __future__ import annotations

import logging

import typer

from specmill.cli import demo as demo_commands
from specmill.cli import run as run_commands

app = typer.Typer(
    name="specmill",
    help="Turn Basic Memory specs into tested code on a git branch, durably.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
run_commands.register(app)
demo_commands.register(app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
