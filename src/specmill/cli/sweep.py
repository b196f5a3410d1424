"""`specmill sweep`: one sweep now, the same workflow the nightly schedule runs.

The command launches DBOS working no queue: it enqueues runs for `specmill serve` or
`specmill worker` to execute, and never starts one it would abandon when it exits.
"""

from __future__ import annotations

import sys
import uuid
from datetime import datetime, timezone
from typing import Annotated, Optional

import typer

from specmill.cli.errors import fail
from specmill.config import Settings
from specmill.errors import BadInput, SpecmillError


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)


def sweep(
    project: Annotated[Optional[str], typer.Option(help="Basic Memory project; SPECMILL_PROJECT by default.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be enqueued; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")] = False,
) -> None:
    """Find the specs marked ready and enqueue one run per new version of each."""
    from specmill import runtime
    from specmill.container import build_container
    from specmill.sweep import workflow as sweeps
    from specmill.sweep.discover import NOT_READY
    from specmill.sweep.models import SweepRequest
    from specmill.sweep.report import group_by_reason

    settings = Settings()
    name = project or settings.project
    if not name:
        fail(BadInput("no Basic Memory project given: pass --project NAME or set SPECMILL_PROJECT"), as_json=as_json)
    request = SweepRequest(project=name)
    container = build_container(settings)
    sweep_id = f"sweep-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    try:
        if dry_run:
            result = sweeps.dry_run(settings, container, request)
        else:
            runtime.launch(settings, container, executor_id=f"cli-{sweep_id}", queues=[])
            try:
                result = sweeps.run_sweep(request, sweep_id)
            finally:
                runtime.shutdown()
    except SpecmillError as exc:
        fail(exc, as_json=as_json)
    finally:
        container.close()
    if as_json:
        sys.stdout.write(result.model_dump_json() + "\n")
        return
    verb = "would enqueue" if result.dry_run else "enqueued"
    typer.echo(
        f"{result.sweep_id}: {result.spec_notes} spec notes, {len(result.candidates)} ready with a repository, "
        f"{len(result.enqueued)} {verb}, {len(result.skipped)} skipped"
    )
    for c in result.enqueued:
        typer.echo(f"  {verb} {c.run_id}  {c.permalink} -> {c.repo}")
    not_ready = [s for s in result.skipped if s.reason.startswith(NOT_READY)]
    for s in result.skipped:
        if s not in not_ready:
            typer.echo(f"  skipped {s.permalink}: {s.reason}")
    for reason, notes in group_by_reason(not_ready).items():
        typer.echo(f"  skipped {len(notes)} spec notes {reason} (--json lists them)")
    for run_id in result.superseded:
        typer.echo(f"  cancelled {run_id}: an older version, superseded")
    if result.report:
        typer.echo(f"report: {result.report}")
