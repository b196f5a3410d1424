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
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Annotated, Optional, TypeVar

import typer

from specmill.cli.errors import EXIT_UNAVAILABLE, fail
from specmill.config import Settings
from specmill.errors import BadInput, RunNotFound
from specmill.names import FORK_PHASES, phase_of

T = TypeVar("T")
runs_app = typer.Typer(help="Runs as DBOS recorded them: list them, show one's steps.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
    app.command("fork")(fork)


@runs_app.command("list")
def list_runs(
    status: Annotated[
        Optional[str], typer.Option(help="Only runs in this DBOS status: PENDING, ENQUEUED, SUCCESS, ERROR, CANCELLED.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The newest runs: id, spec, repo, status, phase, start and cost (--json: every field, in full)."""
    from specmill import queries

    found = _read(lambda: queries.recorded_runs(Settings(), status, limit), as_json)
    if as_json:
        sys.stdout.write(json.dumps(found) + "\n")
        return
    for line in run_table(found):
        typer.echo(line)


COLUMNS = (
    ("ID", 0, "end"),
    ("SPEC", 36, "end"),
    ("REPO", 32, "start"),
    ("STATUS", 17, "end"),
    ("PHASE", 17, "end"),
    ("STARTED (UTC)", 19, "end"),
    ("COST", 12, "end"),
)
"""Header, widest width (0: never cut; an id is copied into other commands) and the end a longer value loses,
of each column of `specmill runs list`."""


def run_table(found: list[dict[str, object]]) -> list[str]:
    """`specmill runs list` as lines: a header and aligned columns, each as wide as its widest value
    up to a cap; a longer value is cut with an ellipsis (the spec keeps its start, the repo its end; ids are whole)."""
    rows = [
        [
            str(run["run_id"]),
            str(run["spec"] or "-"),
            str(run["repo"] or "-"),
            _status(run),
            str(run.get("phase") or "-"),
            _when(run["created_at_ms"]),
            "-" if run["cost_usd"] is None else f"${float(str(run['cost_usd'])):.4f}",
        ]
        for run in found
    ]
    headers = [header for header, _, _ in COLUMNS]
    widest = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(COLUMNS))]
    widths = [min(cap, width) if cap else width for width, (_, cap, _) in zip(widest, COLUMNS)]

    def line(values: list[str]) -> str:
        cells = [_fit(v, width, cut).ljust(width) for v, width, (_, _, cut) in zip(values, widths, COLUMNS)]
        return "  ".join(cells).rstrip()

    return [line(headers), *([line(row) for row in rows] or ["no runs yet"])]


def _fit(value: str, width: int, cut: str) -> str:
    if len(value) <= width:
        return value
    return value[: width - 1] + "\u2026" if cut == "end" else "\u2026" + value[len(value) - width + 1 :]


def _status(run: dict[str, object]) -> str:
    """DBOS's status, or what a person waits for; a run that ended says how (succeeded, failed...)."""
    if run.get("waiting"):
        return str(run["waiting"])
    if run["status"] == "SUCCESS" and run.get("outcome"):
        return str(run["outcome"])
    return str(run["status"]).lower()


@runs_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    transcript: Annotated[bool, typer.Option("--transcript", help="Print the model transcript instead.")] = False,
    verdict: Annotated[bool, typer.Option("--verdict", help="Print the validate verdict instead.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print the diff instead.")] = False,
    attempt: Annotated[Optional[int], typer.Option(min=1, help="With an artifact: that attempt's.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A run's status and every step DBOS recorded, with durations and a failed step's error; or one of the
    artifacts it recorded (--transcript, --verdict, --diff)."""
    from specmill import queries

    settings = Settings()
    chosen = [name for name, wanted in (("transcript", transcript), ("verdict", verdict), ("diff", diff)) if wanted]
    if len(chosen) > 1:
        fail(BadInput("--transcript, --verdict and --diff show one artifact: pick one"), as_json=as_json)
    if chosen:
        _show_artifact(settings, run_id, chosen[0], attempt, as_json)
        return
    recorded = _read(lambda: queries.recorded_run(settings, run_id), as_json)
    if recorded is None:
        fail(
            RunNotFound(f"no run '{run_id}' in this system database: check the id and DBOS_SYSTEM_DATABASE_URL"),
            as_json=as_json,
        )
    steps = _read(lambda: queries.recorded_steps(settings, run_id), as_json)
    if as_json:
        shown = {"run_id": run_id, "status": recorded[0], "executor_id": recorded[1], "steps": steps}
        sys.stdout.write(json.dumps(shown) + "\n")
        return
    typer.echo(f"run {run_id}: {recorded[0]} (executor {recorded[1]})")
    for step in steps:
        started, completed = step["started_at_ms"], step["completed_at_ms"]
        took = "" if completed is None or started is None else f"{(int(completed) - int(started)) / 1000:.2f}s"
        typer.echo(f"  {step['step']:>4}  {step['name']:<24} {took:>8}  {step['error'] or ''}")


def fork(
    run_id: Annotated[str, typer.Argument(help="The run to fork.")],
    from_phase: Annotated[str, typer.Option(help=f"Re-run from this phase on: one of {', '.join(FORK_PHASES)}.")],
    new_run_id: Annotated[Optional[str], typer.Option("--run-id", help="Name the new run.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")] = False,
) -> None:
    """Start a new run from RUN_ID that reuses its recorded steps before FROM_PHASE, and run it in this process."""
    from specmill import queries, runtime
    from specmill.cli.run import execute

    settings = Settings()
    if from_phase not in FORK_PHASES:
        fail(
            BadInput(f"--from-phase {from_phase!r} is not a phase to fork from: use one of {', '.join(FORK_PHASES)}"),
            as_json=as_json,
        )
    steps = _read(lambda: queries.recorded_steps(settings, run_id), as_json)
    start = next((int(str(s["step"])) for s in steps if phase_of(str(s["name"])) == from_phase), None)
    if start is None:
        fail(
            BadInput(f"run '{run_id}' has no recorded {from_phase} step: check the id, or fork from an earlier phase"),
            as_json=as_json,
        )
    new_id = new_run_id or uuid.uuid4().hex[:12]
    version = settings.app_version
    execute(settings, new_id, lambda queue: runtime.fork_here(run_id, start, new_id, version, queue), as_json)


def _show_artifact(settings: Settings, run_id: str, name: str, attempt: int | None, as_json: bool) -> None:
    from specmill import records, run_index

    def read() -> records.Artifact | None:
        run_index.open_index(settings)
        try:
            return run_index.read(records.get_artifact, run_id, name, attempt)
        finally:
            run_index.close_index()

    found = _read(read, as_json)
    if found is None:
        which = f"attempt {attempt} of run" if attempt else "run"
        fail(RunNotFound(f"{which} '{run_id}' recorded no {name}: check the id (specmill runs list)"), as_json=as_json)
    if as_json:
        sys.stdout.write(json.dumps(found.model_dump()) + "\n")
        return
    text = _verdict_text(found.content) if name == "verdict" else found.content
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _verdict_text(content: str) -> str:
    """The verdict for people: each criterion ticked or not, with its evidence (the raw record with --json)."""
    try:
        verdict = json.loads(content)
        lines = [
            f"[{'x' if c['met'] else ' '}] {c['criterion']}\n    {c.get('evidence', '')}" for c in verdict["criteria"]
        ]
    except (ValueError, KeyError, TypeError):
        return content
    return "\n".join([*lines, verdict.get("summary", "")])


def _read(fn: Callable[[], T], as_json: bool) -> T:
    try:
        return fn()
    except Exception as exc:
        fail(
            exc,
            as_json=as_json,
            code=EXIT_UNAVAILABLE,
            context=f"cannot read the system database: {type(exc).__name__}: ",
        )


def _when(ms: object) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(int(str(ms)) / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
