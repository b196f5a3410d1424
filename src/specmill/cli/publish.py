"""`specmill revise` and `specmill runs close`: follow a published run up, or take it back."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from specmill.cli.errors import fail
from specmill.config import Settings
from specmill.errors import BadInput, RunNotFound, SpecmillError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")]


def register(app: typer.Typer, runs_app: typer.Typer) -> None:
    app.command("revise")(revise)
    runs_app.command("close")(close)


def revise(
    run_id: Annotated[str, typer.Argument(help="The run whose branch (and pull request) to revise.")],
    comment: Annotated[list[str], typer.Option(help="What the review asks to change (repeat for several).")],
    as_json: JsonFlag = False,
) -> None:
    """Continue RUN_ID's branch with review comments as feedback: implement, test, validate, push, reply."""
    from specmill import queries, revisions, runtime
    from specmill.cli.run import execute

    settings = Settings()
    state = queries.recorded_state(settings, run_id)
    if state is None:
        fail(RunNotFound(f"no run '{run_id}' in the system database: check the id"), as_json=as_json)
    try:
        request = revisions.revision_request(state.request, state.result, run_id, comment)
    except SpecmillError as exc:
        fail(exc, as_json=as_json)
    new_id = revisions.revision_run_id(None)
    execute(settings, new_id, lambda queue: runtime.start_run(request, new_id, queue), as_json)


def close(
    run_id: Annotated[str, typer.Argument(help="The run to take back.")],
    as_json: JsonFlag = False,
) -> None:
    """Close RUN_ID's pull request and delete its branch on the remote (the local branch stays)."""
    from specmill import queries
    from specmill.adapters.git_remote import GitRemote
    from specmill.adapters.github import GitHubCodeHosts

    settings = Settings()
    state = queries.recorded_state(settings, run_id)
    if state is None or state.request is None:
        fail(RunNotFound(f"no run '{run_id}' in the system database: check the id"), as_json=as_json)
    if state.active:
        fail(BadInput(f"run '{run_id}' is still going: let it end, or cancel it first"), as_json=as_json)
    branch = state.result.branch if state.result else ""
    pull = state.result.pull_request if state.result else None
    remote = GitRemote()
    done = {"run_id": run_id, "pull_request_closed": None, "branch_deleted": False}
    try:
        if pull is not None:
            _, host = GitHubCodeHosts.from_settings(settings).for_remote(
                remote.url(state.request.repo, settings.git_remote)
            )
            host.close_pull(pull.number)
            done["pull_request_closed"] = pull.url
        if branch:
            done["branch_deleted"] = remote.delete_branch(state.request.repo, settings.git_remote, branch)
    except SpecmillError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        sys.stdout.write(json.dumps(done) + "\n")
        return
    if done["pull_request_closed"]:
        typer.echo(f"closed {done['pull_request_closed']}")
    typer.echo(f"deleted {settings.git_remote}/{branch}" if done["branch_deleted"] else "no remote branch to delete")
