"""`specmill dbos ...`: DBOS's own CLI, pointed at specmill's system database.

The `dbos` CLI reads `system_database_url` from dbos-config.yaml and, when the variable
behind it is unset, silently opens a new empty SQLite file. This wrapper sets it from
specmill's settings and runs the CLI next to a config file in the data dir, so
`specmill dbos workflow list` always shows specmill's runs. Before DBOS first launched on the
database its tables do not exist and the CLI would print a traceback (and, on SQLite, leave an
empty file behind): the wrapper says so in one line instead, and creates nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import typer

from specmill.cli.errors import EXIT_UNAVAILABLE
from specmill.config import Settings

CONFIG = "name: specmill\nlanguage: python\nsystem_database_url: ${DBOS_SYSTEM_DATABASE_URL}\n"


def register(app: typer.Typer) -> None:
    app.command(
        "dbos", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False
    )(dbos)


def dbos(ctx: typer.Context) -> None:
    """Run DBOS's CLI (for example `workflow list`, `workflow steps ID`, `workflow fork ID --step N`)
    on specmill's system database."""
    from specmill import queries, records

    settings = Settings()
    if ctx.args[:1] in (["workflow"], ["queue"]) and not queries.system_tables_exist(settings):
        typer.echo(
            f"error: no runs yet: {records.masked(settings.database_url())} has no DBOS tables until "
            "`specmill serve`, `specmill worker` or `specmill run` first starts there "
            "(check SPECMILL_DATA_DIR and DBOS_SYSTEM_DATABASE_URL if you expected runs)",
            err=True,
        )
        raise typer.Exit(EXIT_UNAVAILABLE)
    executable = Path(sys.executable).with_name("dbos")
    if not executable.exists():
        found = shutil.which("dbos")
        if found is None:
            typer.echo("error: the dbos CLI is not installed next to specmill: pip install dbos", err=True)
            raise typer.Exit(2)
        executable = Path(found)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "dbos-config.yaml").write_text(CONFIG)
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": settings.database_url()}
    proc = subprocess.run([str(executable), *ctx.args], cwd=settings.data_dir, env=env)
    raise typer.Exit(proc.returncode)
