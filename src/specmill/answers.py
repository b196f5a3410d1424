"""Answering a waiting run: approve or reject its plan, raise its budget.

An answer is a `DBOS.send` to the run's workflow on the gate's topic, naming the gate it answers,
so a late answer never reaches a later gate (a re-plan's). The last answer is kept in the run's
DBOS attributes, so approving twice is a no-op that says so. The API answers through DBOS (it is
launched there); the CLI through a `DBOSClient`, without becoming an executor.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from dbos import DBOS, DBOSClient
from pydantic import BaseModel

from specmill import names
from specmill.errors import SpecmillError
from specmill.models import Budget
from specmill.phases.plan import Plan

Answer = Literal["approve", "reject", "budget"]


class GateClosed(SpecmillError):
    """The run is not waiting for this answer (it never asked, or already got another one)."""


class GateAnswered(BaseModel):
    run_id: str
    answer: Answer
    gate: str
    already: bool = False
    message: str


class _Sender(Protocol):
    def send(self, run_id: str, message: Any, topic: str, key: str) -> None: ...

    def merge_attributes(self, run_id: str, attributes: dict[str, Any]) -> None: ...


def plan_answer(run_id: str, attributes: dict[str, Any] | None, answer: Answer, comment: str) -> GateAnswered:
    """Pure: what answering the plan means now, or `GateClosed` saying why it cannot be answered."""
    attributes = attributes or {}
    gate, last = attributes.get(names.GATE_ATTRIBUTE), attributes.get(names.GATE_ANSWER_ATTRIBUTE)
    done = {"approve": "approved", "reject": "rejected"}
    if isinstance(gate, dict) and gate.get("kind") == "approval":
        if isinstance(last, dict) and last.get("gate") == gate["id"]:
            if last.get("answer") == answer:
                return GateAnswered(
                    run_id=run_id,
                    answer=answer,
                    gate=gate["id"],
                    already=True,
                    message=f"run '{run_id}': this plan was already {done[answer]}; nothing changed",
                )
            raise GateClosed(f"run '{run_id}': this plan was already {done[str(last.get('answer'))]}")
        return GateAnswered(
            run_id=run_id, answer=answer, gate=gate["id"], message=f"run '{run_id}': plan {done[answer]}"
        )
    if answer == "approve" and isinstance(last, dict) and last.get("answer") == "approve":
        return GateAnswered(
            run_id=run_id,
            answer=answer,
            gate=str(last.get("gate")),
            already=True,
            message=f"run '{run_id}': its plan was already approved; nothing changed",
        )
    raise GateClosed(f"run '{run_id}' is not waiting for a plan's approval: check its status with GET /runs/{run_id}")


def budget_answer(run_id: str, attributes: dict[str, Any] | None, budget: Budget) -> GateAnswered:
    gate = (attributes or {}).get(names.GATE_ATTRIBUTE)
    if not (isinstance(gate, dict) and gate.get("kind") == "budget"):
        raise GateClosed(
            f"run '{run_id}' is not paused at its budget: a run that ended budget_exhausted resumes with "
            "POST /runs/{id}/resume"
        )
    if budget.usd is None and budget.tokens is None:
        raise GateClosed(f"run '{run_id}': give budget_usd or budget_tokens, the new cap of the run")
    caps = ", ".join(f"{k} {v}" for k, v in budget.model_dump().items() if v is not None)
    return GateAnswered(run_id=run_id, answer="budget", gate=gate["id"], message=f"run '{run_id}': cap raised ({caps})")


def deliver(sender: _Sender, answered: GateAnswered, comment: str = "", budget: Budget | None = None) -> None:
    """Send the answer to the waiting workflow, then remember it (a repeated send is dropped by its key)."""
    if answered.already:
        return
    if budget is not None:
        caps = {f"budget_{k}": v for k, v in budget.model_dump().items() if v is not None}
        sender.merge_attributes(answered.run_id, caps)
    topic = names.BUDGET_TOPIC if answered.answer == "budget" else names.APPROVAL_TOPIC
    message = {"gate": answered.gate, "answer": answered.answer, "comment": comment}
    sender.send(answered.run_id, message, topic, f"{answered.gate}-{answered.answer}")
    if answered.answer != "budget":
        remembered = {"gate": answered.gate, "answer": answered.answer}
        sender.merge_attributes(answered.run_id, {names.GATE_ANSWER_ATTRIBUTE: remembered})


class LaunchedSender:
    """Through DBOS launched in this process (the API; call from a worker thread)."""

    def send(self, run_id: str, message: Any, topic: str, key: str) -> None:
        DBOS.send(run_id, message, topic, idempotency_key=key)

    def merge_attributes(self, run_id: str, attributes: dict[str, Any]) -> None:
        DBOS.update_workflow_attributes(run_id, attributes, merge=True)


def launched_attributes(run_id: str) -> dict[str, Any] | None:
    status = DBOS.get_workflow_status(run_id)
    return status.attributes if status is not None else None


class ClientSender:
    """Through a `DBOSClient` (the CLI, which must not launch)."""

    def __init__(self, client: DBOSClient) -> None:
        self.client = client

    def send(self, run_id: str, message: Any, topic: str, key: str) -> None:
        self.client.send(run_id, message, topic, key)

    def merge_attributes(self, run_id: str, attributes: dict[str, Any]) -> None:
        self.client.update_workflow_attributes(run_id, attributes, merge=True)

    def attributes(self, run_id: str) -> dict[str, Any] | None:
        return self.client.retrieve_workflow(run_id).get_status().attributes


def latest_plan(run_id: str) -> Plan | None:
    """The run's latest plan, from its recorded steps (DBOS launched in this process)."""
    outputs = [step["output"] for step in DBOS.list_workflow_steps(run_id)]
    return next((output for output in reversed(outputs) if isinstance(output, Plan)), None)


def hand_to_queue(client: DBOSClient, run_id: str) -> None:
    """A waiting run this process stopped executing goes on the run queue (its repository's partition),
    to wait wherever the queue is worked. Rewound past its last step, it loses nothing it recorded."""
    status = client.retrieve_workflow(run_id).get_status()
    args = (status.input or {}).get("args") or ()
    if status.status != "PENDING" or not args:
        return
    repo = str(getattr(args[0], "repo", ""))
    client.cancel_workflow(run_id)
    start = max((step["function_id"] for step in client.list_workflow_steps(run_id)), default=0) + 1
    client.rewind_workflow(
        run_id, start_step=start, queue_name=names.RUN_QUEUE, queue_partition_key=names.partition_key(repo)
    )
