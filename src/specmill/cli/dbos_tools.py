"""`specmill dbos ...`: DBOS's own CLI, pointed at specmill's system database.

The `dbos` CLI reads `system_database_url` from dbos-config.yaml and, when the variable
behind it is unset, silently opens a new empty SQLite file. This wrapper sets it from
specmill's settings and runs the CLI next to a config file in the data dir, so
`specmill dbos workflow list` always shows specmill's runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import typer

from specmill.config import Settings

CONFIG = "name: specmill\nlanguage: python\nsystem_database_url: ${DBOS_SYSTEM_DATABASE_URL}\n"


def register(app: typer.Typer) -> None:
    app.command(
        "dbos", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False
    )(dbos)


def dbos(ctx: typer.Context) -> None:
    """Run DBOS's CLI (for example `workflow list`, `workflow steps ID`, `workflow fork ID --step N`)
    on specmill's system database."""
    settings = Settings()
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
