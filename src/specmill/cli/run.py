"""`specmill run` and `specmill resume`: one run, in this process, to completion."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from specmill import progress
from specmill.cli.progress_view import ProgressView
from specmill.config import Settings
from specmill.errors import BadInput, SpecmillError
from pydantic import ValidationError

from specmill.models import Budget, RunRequest, RunResult
from specmill.ports.spec_store import SpecStore

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_UNAVAILABLE = 1, 2, 3


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("resume")(resume)


def run(
    spec: Annotated[str, typer.Argument(help="Permalink, title or memory:// URL of the spec note.")],
    repo: Annotated[Path, typer.Option(help="The git repository to implement the spec in.")],
    project: Annotated[Optional[str], typer.Option(help="Basic Memory project of the spec.")] = None,
    playbook: Annotated[Optional[str], typer.Option(help="Playbook name (workflows/*.md) or path.")] = None,
    base: Annotated[Optional[str], typer.Option(help="Base ref; the repository's HEAD by default.")] = None,
    max_iterations: Annotated[Optional[int], typer.Option(help="Implement/test/validate rounds.")] = None,
    run_id: Annotated[Optional[str], typer.Option(help="Name the run (default: the id sweeps give this version of the spec); an existing run is continued or reported.")] = None,
    budget_usd: Annotated[Optional[float], typer.Option(help="Dollar cap of the run's model calls.")] = None,
    budget_tokens: Annotated[Optional[int], typer.Option(help="Token cap of the run's model calls.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")] = False,
) -> None:
    """Implement SPEC in REPO: read, analyze, implement, test, update the spec, validate."""
    from specmill import preflight, runtime

    settings = Settings()
    request = _request(spec=spec, repo=str(repo), project=project, playbook=playbook, base=base, max_iterations=max_iterations,
                       budget_usd=budget_usd, budget_tokens=budget_tokens)
    try:
        checked = preflight.check_request(request, settings)
    except SpecmillError as exc:
        _fail(exc)
    if run_id is None:
        from specmill.adapters.basic_memory import BasicMemorySpecStore

        store = BasicMemorySpecStore.from_settings(settings)  # the session the run itself uses
        run_id = _version_run_id(store, checked, checked.project or settings.project or "") or uuid.uuid4().hex[:12]
    _execute(settings, run_id, lambda: runtime.start_run(checked, run_id), as_json)


def _version_run_id(store: SpecStore, request: RunRequest, project: str) -> str | None:
    """The id a sweep gives this version of the spec, so a manual run and a sweep never implement
    one version twice (specmill.sweep); None when the note cannot be read, and the run says why."""
    from specmill.sweep.version import run_id_for

    try:
        note = store.read_note(request.spec, project)
        return run_id_for(note.project, note.permalink, note.content)
    except SpecmillError:
        return None


def resume(
    run_id: Annotated[str, typer.Argument(help="The id of the run to continue.")],
    budget_usd: Annotated[Optional[float], typer.Option(help="A new dollar cap (for a run that exhausted its budget).")] = None,
    budget_tokens: Annotated[Optional[int], typer.Option(help="A new token cap.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")] = False,
) -> None:
    """Continue an interrupted or failed run from its last completed step."""
    from specmill import runtime
    from specmill.errors import RunNotFound

    settings = Settings()
    recorded = runtime.recorded_run(settings, run_id)
    if recorded is None:
        _fail(RunNotFound(f"no run '{run_id}' in the system database: check the id and DBOS_SYSTEM_DATABASE_URL"))
    status, executor = recorded
    budget = _budget(budget_usd, budget_tokens)
    _execute(settings, run_id, lambda: runtime.continue_run(run_id, budget), as_json, executor_id=executor if status == "PENDING" else None)


def _request(**fields: object) -> RunRequest:
    try:
        return RunRequest(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        _fail(BadInput(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}"))
        raise AssertionError("unreachable") from None


def _budget(usd: float | None, tokens: int | None) -> Budget | None:
    if usd is None and tokens is None:
        return None
    try:
        return Budget(usd=usd, tokens=tokens)
    except ValidationError:
        _fail(BadInput("--budget-usd and --budget-tokens must be positive"))
        raise AssertionError("unreachable") from None


def _execute(
    settings: Settings, run_id: str, action: Callable[[], RunResult], as_json: bool, executor_id: str | None = None
) -> None:
    """Launch DBOS as this run's own executor (so only this run recovers here), act, report."""
    from specmill import runtime
    from specmill.container import build_container

    container = build_container(settings)
    unsubscribe = progress.subscribe(ProgressView())
    try:
        runtime.launch(settings, container, executor_id=executor_id or f"cli-{run_id}", queues=[])  # never take queued runs
        typer.echo(f"run {run_id}", err=True)
        result = action()
    except SpecmillError as exc:
        _fail(exc)
    except Exception as exc:
        typer.echo(f"error: run {run_id} stopped: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", err=True)
        typer.echo(f"continue it with: specmill resume {run_id}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        unsubscribe()
        _quietly(runtime.shutdown)
        _quietly(container.close)
    _report(result, as_json)
    raise typer.Exit(0 if result.status == "succeeded" else EXIT_FAILED)


def _report(result: RunResult, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result.model_dump(mode="json", exclude={"ledger", "stops"}) | {"ledger": _ledger_json(result)}) + "\n")
        return
    t = result.tests
    typer.echo(f"{result.status}: {result.spec} on branch {result.branch} at {result.head_commit[:12]}")
    typer.echo(f"tests: {t['passed']} passed, {t['failed']} failed, {t['errors']} errors, {t['skipped']} skipped")
    for c in result.criteria:
        typer.echo(f"  [{'x' if c.met else ' '}] {c.criterion}")
    typer.echo(f"cost: ${result.cost_usd:.4f}")
    if result.reason:
        typer.echo(result.reason)


def _ledger_json(result: RunResult) -> dict[str, object]:
    return {name: {"calls": p.calls, "cost_usd": round(p.cost_usd, 6), **p.usage.model_dump()} for name, p in result.ledger.phases.items()}


def _fail(exc: SpecmillError) -> None:
    code = EXIT_BAD_INPUT if isinstance(exc, BadInput) else EXIT_UNAVAILABLE
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _quietly(fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception:
        pass
