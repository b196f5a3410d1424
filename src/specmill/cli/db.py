"""`specmill db upgrade`: create or migrate specmill's own tables (`serve` and `run` also do it at start)."""

from __future__ import annotations

import typer

from specmill.cli.errors import EXIT_UNAVAILABLE, fail
from specmill.config import Settings

db_app = typer.Typer(
    help="specmill's own tables: the run index and the artifacts of each attempt.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply the migrations to SPECMILL_APP_DATABASE_URL (the system database by default)."""
    from specmill import records

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.records_url()
    try:
        records.upgrade(url)
    except Exception as exc:
        fail(exc, code=EXIT_UNAVAILABLE, context=f"cannot migrate {records.masked(url)}: {type(exc).__name__}: ")
    typer.echo(f"specmill's tables are up to date on {records.masked(url)}")
