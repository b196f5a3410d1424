"""`specmill runs list|show` and `specmill fork`: operate runs from what DBOS recorded.

These read the system database directly (no launch), so they are safe to use while
workers run. A run that failed after its step retries stays there, ERROR, with its
failed step's error: `specmill resume ID` continues it from that step, and
`specmill fork ID --from-phase PHASE` starts a new run that reuses every step before it.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import datetime, timezone
from typing import Annotated, Optional

import typer

from specmill.config import Settings

runs_app = typer.Typer(help="Runs as DBOS recorded them: list them, show one's steps.", no_args_is_help=True)
EXIT_BAD_INPUT, EXIT_UNAVAILABLE = 2, 3
PHASES = ("load_playbook", "read_spec", "prepare_workspace", "analyze_patterns", "update_spec", "implement", "run_tests", "validate")


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
    app.command("fork")(fork)


@runs_app.command("list")
def list_runs(
    status: Annotated[Optional[str], typer.Option(help="Only runs in this DBOS status: PENDING, ENQUEUED, SUCCESS, ERROR, CANCELLED.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """The newest runs, with status, executor and application version."""
    from specmill import runtime

    found = _read(lambda: runtime.recorded_runs(Settings(), status, limit))
    if as_json:
        sys.stdout.write(json.dumps(found) + "\n")
        return
    for run in found:
        typer.echo(f"{run['run_id']:<24} {run['status']:<10} {_when(run['created_at_ms'])}  {run['executor_id']}  v{run['app_version']}")


@runs_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """A run's status and every step DBOS recorded, with durations and a failed step's error."""
    from specmill import runtime

    settings = Settings()
    recorded = _read(lambda: runtime.recorded_run(settings, run_id))
    if recorded is None:
        typer.echo(f"error: no run '{run_id}' in this system database: check the id and DBOS_SYSTEM_DATABASE_URL", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    steps = _read(lambda: runtime.recorded_steps(settings, run_id))
    if as_json:
        sys.stdout.write(json.dumps({"run_id": run_id, "status": recorded[0], "executor_id": recorded[1], "steps": steps}) + "\n")
        return
    typer.echo(f"run {run_id}: {recorded[0]} (executor {recorded[1]})")
    for step in steps:
        took = "" if step["completed_at_ms"] is None or step["started_at_ms"] is None else \
            f"{(int(step['completed_at_ms']) - int(step['started_at_ms'])) / 1000:.2f}s"  # type: ignore[call-overload]
        typer.echo(f"  {step['step']:>4}  {step['name']:<24} {took:>8}  {step['error'] or ''}")


def fork(
    run_id: Annotated[str, typer.Argument(help="The run to fork.")],
    from_phase: Annotated[str, typer.Option(help=f"Re-run from this phase on: one of {', '.join(PHASES)}.")],
    new_run_id: Annotated[Optional[str], typer.Option("--run-id", help="Name the new run.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")] = False,
) -> None:
    """Start a new run from RUN_ID that reuses its recorded steps before FROM_PHASE, and run it here."""
    from specmill import runtime
    from specmill.cli.run import _execute

    settings = Settings()
    if from_phase not in PHASES:
        typer.echo(f"error: --from-phase {from_phase!r} is not a phase: use one of {', '.join(PHASES)}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    steps = _read(lambda: runtime.recorded_steps(settings, run_id))
    start = next((int(s["step"]) for s in steps if str(s["name"]).split(".")[0] == from_phase), None)  # type: ignore[call-overload]
    if start is None:
        typer.echo(f"error: run '{run_id}' has no recorded {from_phase} step: check the id, or fork from an earlier phase", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    new_id = new_run_id or uuid.uuid4().hex[:12]
    _execute(settings, new_id, lambda: runtime.fork_here(run_id, start, new_id, settings.app_version), as_json)


def _read(fn):  # type: ignore[no-untyped-def]
    try:
        return fn()
    except Exception as exc:
        typer.echo(f"error: cannot read the system database: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", err=True)
        raise typer.Exit(EXIT_UNAVAILABLE) from None


def _when(ms: object) -> str:
    return datetime.fromtimestamp(int(ms) / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if ms else "-"  # type: ignore[call-overload]
