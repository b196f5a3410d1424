"""One run's context, and the status it writes back into its spec.

`Run` is what every step of a run needs to know about it, frozen once the workspace exists, so
that a step call reads like the process: `update_spec(run=run, status=Status.in_progress(...))`.
Its limits are derived from the request and the playbook in one place, so the loop and the spec
section can never disagree about how many iterations a run has.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from specmill.models import (
    Approval,
    Budget,
    Ledger,
    OnBudget,
    PullRequestRef,
    RepoEnvironment,
    RunRequest,
    RunStatus,
    Spec,
    StopReason,
    TestReport,
    Verdict,
    WorkspaceState,
)
from specmill.phases.plan import Plan
from specmill.playbooks import Playbook

SpecStatus = Literal["in-progress", "implemented", "needs-attention", "awaiting-approval"]


class Limits(BaseModel):
    """How far a run may go before it stops: iterations, model calls per round, loops, money."""

    model_config = ConfigDict(frozen=True)

    max_iterations: int = Field(ge=1, description="Implement -> test -> validate rounds.")
    max_turns: int = Field(ge=1, description="Model calls per implement round.")
    repeat_limit: int = Field(ge=2, description="The same tool call with the same result this often ends a round.")
    budget: Budget = Field(default_factory=Budget)
    approval: Approval = "none"
    on_budget: OnBudget = "stop"
    max_replans: int = Field(default=2, ge=0, description="Plans a person may reject before the run ends rejected.")

    @classmethod
    def of(cls, request: RunRequest, playbook: Playbook) -> Limits:
        """The request's choices win over the playbook's defaults."""
        return cls(
            max_iterations=request.max_iterations or playbook.max_iterations,
            max_turns=playbook.max_turns,
            repeat_limit=playbook.repeat_limit,
            budget=Budget(
                usd=request.budget_usd or playbook.budget_usd, tokens=request.budget_tokens or playbook.budget_tokens
            ),
            approval=request.approval or playbook.approval,
            on_budget=request.on_budget or playbook.on_budget,
            max_replans=playbook.max_replans,
        )


class Run(BaseModel):
    """Who the run is, what it was asked, how it works and where its files live."""

    model_config = ConfigDict(frozen=True)

    id: str
    request: RunRequest
    playbook: Playbook
    spec: Spec
    workspace: WorkspaceState
    plan: Plan | None = Field(default=None, description="The plan a person approved, when the run asked for one.")
    environment: RepoEnvironment | None = Field(default=None, description="Where its tests run, once prepared.")

    @property
    def limits(self) -> Limits:
        return Limits.of(self.request, self.playbook)

    @property
    def test_command(self) -> str:
        """The playbook's, else the one detected in the repository, else `python -m pytest`."""
        detected = self.environment.test_command if self.environment else None
        return self.playbook.test_command or detected or "python -m pytest"

    @property
    def test_environment(self) -> RepoEnvironment | None:
        """Where test runs happen; None when they run under specmill's own interpreter."""
        return self.environment if self.environment and self.environment.kind != "none" else None


class Status(BaseModel):
    """What one spec update says: the frontmatter status and the Implementation Status section."""

    model_config = ConfigDict(frozen=True)

    name: SpecStatus
    head: str
    attempt: int = 0
    tests: TestReport | None = None
    verdict: Verdict | None = None
    ledger: Ledger = Field(default_factory=Ledger)
    reason: str = ""
    outcome: RunStatus | None = Field(default=None, description="How the run ended; None while it goes on.")
    plan: Plan | None = Field(default=None, description="A plan waiting for approval, shown in the spec.")
    pull_request: PullRequestRef | None = None

    @classmethod
    def in_progress(
        cls,
        *,
        head: str,
        attempt: int = 0,
        tests: TestReport | None = None,
        ledger: Ledger | None = None,
    ) -> Status:
        return cls(name="in-progress", head=head, attempt=attempt, tests=tests, ledger=ledger or Ledger())

    @classmethod
    def awaiting_approval(cls, *, head: str, ledger: Ledger, plan: Plan) -> Status:
        return cls(name="awaiting-approval", head=head, ledger=ledger, plan=plan)

    @classmethod
    def finished(cls, work: Work, outcome: RunStatus, reason: str = "") -> Status:
        return cls(
            name="implemented" if outcome == "succeeded" else "needs-attention",
            head=work.head,
            attempt=work.attempt,
            tests=work.report,
            verdict=work.verdict,
            ledger=work.ledger,
            reason=reason,
            outcome=outcome,
            pull_request=work.pull_request,
        )


class Work(BaseModel):
    """Where the implement/test/validate loop stands: the workflow's only mutable state, rebuilt
    identically on every replay from the steps' recorded outputs."""

    head: str
    attempt: int = 0
    ledger: Ledger = Field(default_factory=Ledger)
    report: TestReport | None = None
    verdict: Verdict | None = None
    feedback: str = ""
    round_detail: str = Field(
        default="", description="Why the last implement round stopped, when not by the model's choice."
    )
    stops: list[StopReason] = Field(default_factory=list, description="Why each implement round ended.")
    longest_test_s: float = 0.0
    pull_request: PullRequestRef | None = None

    @property
    def accepted(self) -> bool:
        return self.report is not None and self.verdict is not None and self.report.ok and self.verdict.all_met
