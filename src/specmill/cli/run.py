"""`specmill run` and `specmill resume`: one run, in this process, to completion."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import ValidationError

from specmill import progress
from specmill.cli.errors import EXIT_FAILED, fail
from specmill.cli.progress_view import ProgressView
from specmill.config import Settings
from specmill.errors import BadInput, SpecmillError
from specmill.models import Budget, RunRequest, RunResult

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")]


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
    run_id: Annotated[
        Optional[str],
        typer.Option(
            help="Name the run (default: the id sweeps give this version of the spec); "
            "an existing run is continued or reported."
        ),
    ] = None,
    budget_usd: Annotated[Optional[float], typer.Option(help="Dollar cap of the run's model calls.")] = None,
    budget_tokens: Annotated[Optional[int], typer.Option(help="Token cap of the run's model calls.")] = None,
    publish: Annotated[
        Optional[str],
        typer.Option(help="After the run: none, push (the branch) or pr (push and open a pull request)."),
    ] = None,
    publish_on_failure: Annotated[
        bool, typer.Option("--publish-on-failure", help="Publish a run that did not succeed too, as a draft.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Implement SPEC in REPO: read, analyze, implement, test, update the spec, validate."""
    typer.echo(f"specmill: preparing a run of {spec} in {repo}", err=True)  # at once, before the slow imports
    from specmill import preflight, runtime
    from specmill.playbooks import resolve_local

    settings = Settings()
    request = _request(
        as_json,
        spec=spec,
        repo=str(repo),
        project=project,
        playbook=resolve_local(playbook, settings.playbooks_dir),
        base=base,
        max_iterations=max_iterations,
        budget_usd=budget_usd,
        budget_tokens=budget_tokens,
        publish=publish,
        publish_on_failure=publish_on_failure,
    )
    try:
        preflight.check_model_key()
        checked = preflight.check_request(request, settings)
    except SpecmillError as exc:
        fail(exc, as_json=as_json)
    from specmill.adapters.basic_memory import BasicMemorySpecStore
    from specmill.phases.read_spec import read_spec
    from specmill.sweep.version import version_run_id

    store = BasicMemorySpecStore.from_settings(settings)  # the session the run itself uses
    project = checked.project or settings.project or ""
    typer.echo(f"specmill: reading the spec from Basic Memory (project {project or '?'})", err=True)
    try:  # a spec that is missing or has no criteria stops here: nothing written, no branch, no DBOS
        read_spec(store, checked.spec, project)
    except SpecmillError as exc:
        fail(exc, as_json=as_json)
    if run_id is None:
        run_id = version_run_id(store, checked.spec, project) or uuid.uuid4().hex[:12]
    _say_if_it_already_ended(settings, run_id)
    execute(settings, run_id, lambda: runtime.start_run(checked, run_id), as_json)


def _say_if_it_already_ended(settings: Settings, run_id: str) -> None:
    """Re-running a spec version that already ran reports that run; say so, rather than look like a new run."""
    from specmill import queries

    recorded = queries.recorded_run(settings, run_id)
    if recorded is not None and recorded[0] == "SUCCESS":
        typer.echo(
            f"specmill: this version of the spec already ran as {run_id} ({recorded[0].lower()}); "
            "showing that result. Edit the spec, or pass --run-id, to run it again.",
            err=True,
        )


def resume(
    run_id: Annotated[str, typer.Argument(help="The id of the run to continue.")],
    budget_usd: Annotated[
        Optional[float], typer.Option(help="A new dollar cap (for a run that exhausted its budget).")
    ] = None,
    budget_tokens: Annotated[Optional[int], typer.Option(help="A new token cap.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Continue an interrupted or failed run from its last completed step."""
    from specmill import preflight, queries, runtime
    from specmill.errors import RunNotFound

    settings = Settings()
    try:
        preflight.check_model_key()
    except SpecmillError as exc:
        fail(exc, as_json=as_json)
    recorded = queries.recorded_run(settings, run_id)
    if recorded is None:
        fail(
            RunNotFound(f"no run '{run_id}' in the system database: check the id and DBOS_SYSTEM_DATABASE_URL"),
            as_json=as_json,
        )
    status, executor = recorded
    budget = _budget(as_json, budget_usd, budget_tokens)
    execute(
        settings,
        run_id,
        lambda: runtime.continue_run(run_id, budget),
        as_json,
        executor_id=executor if status == "PENDING" else None,
    )


def _request(as_json: bool, **fields: object) -> RunRequest:
    try:
        return RunRequest(**fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(BadInput(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}"), as_json=as_json)


def _budget(as_json: bool, usd: float | None, tokens: int | None) -> Budget | None:
    if usd is None and tokens is None:
        return None
    try:
        return Budget(usd=usd, tokens=tokens)
    except ValidationError:
        fail(BadInput("--budget-usd and --budget-tokens must be positive"), as_json=as_json)


def execute(
    settings: Settings,
    run_id: str,
    action: Callable[[], RunResult],
    as_json: bool,
    executor_id: str | None = None,
) -> None:
    """Launch DBOS as this run's own executor (so only this run recovers here), act, report."""
    from specmill import runtime
    from specmill.container import build_container

    container = build_container(settings)
    unsubscribe = progress.subscribe(ProgressView())
    try:
        runtime.launch(
            settings, container, executor_id=executor_id or f"cli-{run_id}", queues=[]
        )  # never take queued runs
        typer.echo(f"run {run_id}", err=True)
        result = action()
    except SpecmillError as exc:
        fail(exc, as_json=as_json)
    except Exception as exc:
        fail(
            exc,
            as_json=as_json,
            code=EXIT_FAILED,
            context=f"run {run_id} stopped: {type(exc).__name__}: ",
            hint=f"continue it with: specmill resume {run_id}",
        )
    finally:
        unsubscribe()
        _quietly(runtime.shutdown)
        _quietly(container.close)
    report(result, as_json)
    raise typer.Exit(0 if result.status == "succeeded" else EXIT_FAILED)


def report(result: RunResult, as_json: bool) -> None:
    """The result: one JSON object (the same shape as the API's), or a few lines for people."""
    if as_json:
        sys.stdout.write(result.model_dump_json() + "\n")
        return
    t = result.tests
    typer.echo(f"{result.status}: {result.spec} on branch {result.branch} at {result.head_commit[:12]}")
    typer.echo(f"tests: {t['passed']} passed, {t['failed']} failed, {t['errors']} errors, {t['skipped']} skipped")
    for c in result.criteria:
        typer.echo(f"  [{'x' if c.met else ' '}] {c.criterion}")
    typer.echo(f"cost: ${result.cost_usd:.4f}")
    if result.pull_request is not None:
        typer.echo(f"pull request: {result.pull_request.url}")
    if result.reason:
        typer.echo(result.reason)


def _quietly(fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception:
        pass
