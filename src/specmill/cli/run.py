"""`specmill run` and `specmill resume`: one run, in this process, to completion."""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import ValidationError

from specmill import graceful_stop, names, progress
from specmill.cli import waiting
from specmill.cli.errors import EXIT_FAILED, EXIT_UNAVAILABLE, fail
from specmill.cli.progress_view import ProgressView
from specmill.config import Settings
from specmill.errors import BadInput, SpecmillError
from specmill.models import Budget, RunRequest, RunResult

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")]
STOP_GRACE_S = 30.0
"""How long a command that leaves its run at a gate lets the step in flight (a note write) finish."""


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("resume")(resume)


def run(
    spec: Annotated[str, typer.Argument(help="Permalink, title or memory:// URL of the spec note.")],
    repo: Annotated[
        Optional[Path],
        typer.Option(help="The git repository to implement the spec in; the spec's own `repo:` when omitted."),
    ] = None,
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
    approval: Annotated[
        Optional[str], typer.Option(help="`plan`: show the plan and wait for approval before writing code.")
    ] = None,
    on_budget: Annotated[
        Optional[str], typer.Option(help="`pause`: at the cap, wait for a higher one instead of ending.")
    ] = None,
    publish: Annotated[
        Optional[str],
        typer.Option(help="After the run: none, push (the branch) or pr (push and open a pull request)."),
    ] = None,
    publish_on_failure: Annotated[
        bool, typer.Option("--publish-on-failure", help="Publish a run that did not succeed too, as a draft.")
    ] = False,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="No model key needed: replay the recorded session of the example spec (specmill init --sample-spec).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Implement SPEC in REPO: read, analyze, implement, test, update the spec, validate."""
    where = f" in {repo}" if repo else ""
    typer.echo(f"specmill: preparing a run of {spec}{where}", err=True)  # at once, before the slow imports
    from specmill import preflight, runtime
    from specmill.playbooks import resolve_local

    settings = Settings()
    request = _request(
        as_json,
        spec=spec,
        repo=str(repo) if repo else "",
        project=project,
        playbook=resolve_local(playbook, settings.playbooks_dir),
        base=base,
        max_iterations=max_iterations,
        budget_usd=budget_usd,
        budget_tokens=budget_tokens,
        approval=approval,
        on_budget=on_budget,
        publish=publish,
        publish_on_failure=publish_on_failure,
    )
    try:  # what can be checked before Basic Memory starts
        if not offline:
            preflight.check_model_key()
        if request.repo:
            preflight.check_request(request, settings)
        else:
            preflight.check_project(request, settings)
    except SpecmillError as exc:
        fail(exc, as_json=as_json)
    from specmill.adapters.basic_memory import BasicMemorySpecStore
    from specmill.phases.read_spec import read_spec
    from specmill.sweep.version import version_run_id

    store = BasicMemorySpecStore.from_settings(settings)  # the session the run itself uses
    project = request.project or settings.project or ""
    typer.echo(f"specmill: reading the spec from Basic Memory (project {project or '?'})", err=True)
    try:  # a missing spec, one without criteria or a `repo:` that is not there stops here: nothing written
        read = read_spec(store, request.spec, project)
        checked = preflight.check_request(preflight.with_spec_choices(request, read.frontmatter, settings), settings)
    except SpecmillError as exc:
        fail(exc, as_json=as_json)
    if run_id is None:
        run_id = version_run_id(store, checked.spec, project) or uuid.uuid4().hex[:12]
    _say_if_it_already_ended(settings, run_id)
    with contextlib.ExitStack() as stack:
        if offline:
            from specmill import example

            stack.enter_context(example.offline_model(settings.data_dir.resolve() / "offline"))
            typer.echo("specmill: --offline: the model is a replay of the example spec's recorded session", err=True)
        execute(settings, run_id, lambda queue: runtime.start_run(checked, run_id, queue), as_json)


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
    takeover: Annotated[
        bool,
        typer.Option(
            "--takeover",
            help="Continue a pending run whose executor stopped sending heartbeats (or never sent any): "
            "make sure that process is stopped first.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Continue an interrupted or failed run from its last completed step, in this process."""
    from specmill import preflight, queries, runtime
    from specmill.errors import RunNotFound

    settings = Settings()
    if queries.recorded_run(settings, run_id) is None:
        fail(
            RunNotFound(f"no run '{run_id}' in the system database: check the id and DBOS_SYSTEM_DATABASE_URL"),
            as_json=as_json,
        )
    budget = _budget(as_json, budget_usd, budget_tokens)
    if budget is not None and _raised_in_place(settings, run_id, budget, as_json):
        return  # a paused run continues where it waits: this process calls no model
    try:
        preflight.check_model_key()
    except SpecmillError as exc:
        fail(exc, as_json=as_json)
    execute(settings, run_id, lambda queue: runtime.continue_run(run_id, budget, queue), as_json, takeover=takeover)


def _raised_in_place(settings: Settings, run_id: str, budget: Budget, as_json: bool) -> bool:
    """A run paused at its budget gets the new cap where it waits, and continues in place."""
    from specmill import answers, queries

    with queries.dbos_client(settings) as client:
        sender = answers.ClientSender(client)
        try:
            answered = answers.budget_answer(run_id, sender.attributes(run_id), budget)
        except answers.GateClosed:
            return False
        answers.deliver(sender, answered, budget=budget)
    if as_json:
        sys.stdout.write(answered.model_dump_json() + "\n")
    else:
        typer.echo(answered.message)
    return True


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
    action: Callable[[str], RunResult],
    as_json: bool,
    takeover: bool = False,
) -> None:
    """Launch DBOS under an executor id of this command's own, so it recovers nobody's runs and works
    only its own queue; make sure a pending run's owner cannot continue it; act there; report."""
    from specmill import runtime
    from specmill.container import build_container

    recorded = _read_status(settings, run_id, as_json)
    executor_id = f"cli-{run_id}-{uuid.uuid4().hex[:6]}"
    container = build_container(settings)
    unsubscribe = progress.subscribe(ProgressView())
    queue = ""
    kind = ""
    try:
        runtime.launch(settings, container, executor_id, queues=[names.COMMAND_QUEUE_PREFIX + executor_id], role="cli")
        queue = runtime.command_queue(executor_id)
        typer.echo(_where(settings, run_id, recorded, executor_id, takeover), err=True)
        if recorded and recorded[0] == "ENQUEUED" and recorded[2] in names.SHARED_QUEUES:
            runtime.follow_elsewhere(run_id)
        result = waiting.result_or_gate(run_id, lambda: action(queue), as_json)
    except waiting.LeftWaiting as left:
        kind = left.kind
        graceful_stop.begin()  # the run waits on in the queue; this process starts no step of it again
        graceful_stop.wait_for_running_steps(STOP_GRACE_S)  # what the run's thread is doing ends first
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
        if queue:
            _quietly(lambda: runtime.drop_command_queue(queue))
        _quietly(runtime.shutdown)
        _quietly(container.close)
    if kind:
        waiting.hand_to_queue(run_id, kind, as_json)
    report(result, as_json)
    raise typer.Exit(0 if result.status == "succeeded" else EXIT_FAILED)


def _read_status(settings: Settings, run_id: str, as_json: bool) -> tuple[str, str | None, str | None] | None:
    from specmill import queries

    try:
        return queries.recorded_run(settings, run_id)
    except Exception as exc:
        fail(exc, as_json=as_json, code=EXIT_UNAVAILABLE, context="cannot read the system database: ")


def _where(
    settings: Settings, run_id: str, recorded: tuple[str, str | None, str | None] | None, me: str, takeover: bool
) -> str:
    """Where the run executes, for people; a pending run's owner is checked first (`RunOwned` if it may run it)."""
    from specmill import executors

    status, owner, queue = recorded or ("", None, None)
    if status == "PENDING" and owner:
        gone = executors.check_takeover(run_id, owner, takeover, settings.executor_heartbeat_s)
        return f"run {run_id}: {gone}; it continues here, as executor {me}"
    if status == "ENQUEUED" and queue in names.SHARED_QUEUES:
        return f"run {run_id} waits on queue {queue}: a worker or `specmill serve` runs it; following it here"
    return f"run {run_id} executes here, as executor {me}"


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
