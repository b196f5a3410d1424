"""A run the CLI executes itself that stops at a gate: show the plan and ask, or leave it waiting.

At a terminal, the plan is shown with a prompt: approve, reject with a comment (the run plans again),
or leave it waiting. With `--json`, without a terminal, or at a budget pause, the command returns at
once with the run's `awaiting_*` status and exit code 4; the run is handed to the run queue, so it
waits (and continues once answered) wherever the queue is worked: `specmill serve` or a worker.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import typer

from specmill import progress
from specmill.models import RunResult

EXIT_WAITING = 4


class LeftWaiting(Exception):
    """The command returns while its run waits at a gate (`kind`)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def result_or_gate(run_id: str, action: Callable[[], RunResult], as_json: bool) -> RunResult:
    """Run `action` in a thread; answer each gate it meets here, or raise `LeftWaiting`."""
    gates: list[str] = []
    woken = threading.Event()
    outcome: dict[str, Any] = {}

    def on_event(event: progress.ProgressEvent) -> None:
        if event.run_id == run_id and event.kind in ("awaiting_approval", "awaiting_budget"):
            gates.append(event.kind.removeprefix("awaiting_"))
            woken.set()

    def work() -> None:
        try:
            outcome["result"] = action()
        except BaseException as exc:  # handed to the calling thread
            outcome["error"] = exc
        woken.set()

    unsubscribe = progress.subscribe(on_event)
    threading.Thread(target=work, name=f"run-{run_id}", daemon=True).start()
    try:
        while True:
            woken.wait()
            woken.clear()
            if "error" in outcome:
                raise outcome["error"]
            if "result" in outcome:
                return outcome["result"]
            while gates:
                kind = gates.pop(0)
                if kind != "approval" or as_json or not sys.stdin.isatty():
                    raise LeftWaiting(kind)
                _ask(run_id)
    finally:
        unsubscribe()


def _ask(run_id: str) -> None:
    from specmill import answers

    plan = _latest_plan(run_id)
    if plan is not None:
        typer.echo(f"\nplan {plan.attempt}: {plan.summary}", err=True)
        for number, task in enumerate(plan.tasks, 1):
            typer.echo(f"  {number}. {task.title}  [{', '.join(task.files)}]", err=True)
        for text in plan.unserved:
            typer.echo(f"  served by no task: {text}", err=True)
    choice = typer.prompt("approve, reject or leave it waiting? [a/r/l]", default="l", err=True).strip().lower()
    if choice.startswith("l"):
        raise LeftWaiting("approval")
    comment = typer.prompt("why (the next plan reads this)", err=True) if choice.startswith("r") else ""
    answer = "reject" if choice.startswith("r") else "approve"
    answered = answers.plan_answer(run_id, answers.launched_attributes(run_id), answer, comment)
    answers.deliver(answers.LaunchedSender(), answered, comment)
    typer.echo(answered.message, err=True)


def _latest_plan(run_id: str) -> Any:
    from specmill import answers

    return answers.latest_plan(run_id)


def hand_to_queue(run_id: str, kind: str, as_json: bool) -> None:
    """After this process stopped executing the run: put it on the run queue, report, exit 4. The exit is
    immediate: the run's thread here waits at a step it will never start (`graceful_stop`)."""
    from specmill import answers, queries
    from specmill.config import Settings

    with queries.dbos_client(Settings()) as client:
        answers.hand_to_queue(client, run_id)
    status = f"awaiting_{kind}"
    if as_json:
        sys.stdout.write(json.dumps({"run_id": run_id, "status": status}) + "\n")
    else:
        how = "specmill approve|reject" if kind == "approval" else "specmill resume --budget-usd"
        typer.echo(f"run {run_id} is {status}; answer it with {how} {run_id}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_WAITING)
