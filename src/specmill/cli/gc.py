"""`specmill gc`: remove the worktrees of finished runs, after a dry run that says what it would free."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from specmill.cli.errors import fail
from specmill.config import Settings


def register(app: typer.Typer) -> None:
    app.command("gc")(gc)


def gc(
    apply: Annotated[bool, typer.Option("--apply", help="Remove them; without it, only list what would go.")] = False,
    branches: Annotated[bool, typer.Option("--branches", help="Delete the runs' local branches too.")] = False,
    older_than_h: Annotated[float, typer.Option(min=0, help="Only worktrees unchanged for this many hours.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON object on stdout.")] = False,
) -> None:
    """Free the disk that finished runs' worktrees take. Runs still going keep theirs; branches stay
    unless --branches."""
    from specmill import cleanup, queries

    settings = Settings()
    try:
        leftovers = cleanup.find_leftovers(settings.data_dir, lambda ids: queries.recorded_statuses(settings, ids))
    except Exception as exc:  # the system database is unreachable or unreadable
        fail(exc, as_json=as_json)
    outcome = cleanup.collect(leftovers, older_than_h=older_than_h, branches=branches, dry_run=not apply)
    if as_json:
        body = outcome.model_dump()
        body["freed_bytes"] = outcome.freed_bytes
        sys.stdout.write(json.dumps(body) + "\n")
        return
    verb = "would remove" if outcome.dry_run else "removed"
    for item in outcome.removed:
        typer.echo(f"{verb} {item.path} ({cleanup.human(item.bytes)}, run {item.status.lower()})")
    for name in outcome.branches_deleted:
        typer.echo(f"deleted branch {name}")
    still = len(outcome.kept)
    total = cleanup.human(outcome.freed_bytes)
    typer.echo(
        f"{verb} {len(outcome.removed)} worktree(s), {total}; kept {still} (runs still going or too recent)"
        + ("\nrun again with --apply to remove them" if outcome.dry_run and outcome.removed else "")
    )
