"""`specmill approve` and `specmill reject`: answer the plan a run waits with, wherever it waits.

They write to the system database through a `DBOSClient` (no launch), so they work while the run
waits in `specmill serve`, a worker, or nowhere at all (it reads the answer when it next runs).
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from specmill.cli.errors import EXIT_BAD_INPUT, fail
from specmill.config import Settings
from specmill.errors import BadInput

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object on stdout.")]


def register(app: typer.Typer) -> None:
    app.command("approve")(approve)
    app.command("reject")(reject)


def approve(
    run_id: Annotated[str, typer.Argument(help="The run waiting with a plan.")],
    comment: Annotated[Optional[str], typer.Option(help="A note for the record.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Approve the plan of a run in awaiting_approval; approving twice says so and changes nothing."""
    _answer(run_id, "approve", comment or "", as_json)


def reject(
    run_id: Annotated[str, typer.Argument(help="The run waiting with a plan.")],
    comment: Annotated[str, typer.Option(help="Why: the next plan is made with this as feedback.")],
    as_json: JsonFlag = False,
) -> None:
    """Reject the plan: the run plans again with COMMENT, or ends rejected after its last re-plan."""
    if not comment.strip():
        fail(BadInput("--comment is empty: say why the plan is rejected"), as_json=as_json)
    _answer(run_id, "reject", comment, as_json)


def _answer(run_id: str, answer: str, comment: str, as_json: bool) -> None:
    from specmill import answers, queries
    from specmill.errors import RunNotFound

    settings = Settings()
    if queries.recorded_run(settings, run_id) is None:
        fail(RunNotFound(f"no run '{run_id}' in this system database: check the id"), as_json=as_json)
    with queries.dbos_client(settings) as client:
        sender = answers.ClientSender(client)
        try:
            answered = answers.plan_answer(run_id, sender.attributes(run_id), answer, comment)  # type: ignore[arg-type]
        except answers.GateClosed as exc:
            fail(exc, as_json=as_json, code=EXIT_BAD_INPUT)
        answers.deliver(sender, answered, comment)
    if as_json:
        sys.stdout.write(answered.model_dump_json() + "\n")
    else:
        typer.echo(answered.message)
