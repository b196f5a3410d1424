"""The HTTP API's request and response bodies: the contract its OpenAPI schema publishes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from specmill.models import CriterionVerdict, Ledger, PullRequestRef, RunRequest, TestReport, Usage
from specmill.names import FORK_PHASES, OVERRIDABLE_FORK_PHASES
from specmill.phases.plan import Plan
from specmill.records import RunOverrides

RunStatus = Literal[
    "queued",
    "running",
    "awaiting_approval",
    "awaiting_budget",
    "succeeded",
    "failed",
    "budget_exhausted",
    "rejected",
    "approval_expired",
    "error",
    "cancelled",
]
ForkPhase = Literal[FORK_PHASES]  # type: ignore[valid-type]
TEXT_PATTERN = r"^[^\x00]*$"  # no NUL: paths, git refs and PostgreSQL text cannot hold one


class StartRun(BaseModel):
    """A run to start: the spec to implement and the repository to implement it in. A `repo` or
    `playbook` left out is the one the spec's frontmatter names (`repo:`, `playbook:`)."""

    model_config = ConfigDict(extra="forbid")

    spec: str = Field(
        min_length=1,
        max_length=1000,
        pattern=TEXT_PATTERN,
        description="Permalink, title or memory:// URL of the spec note.",
    )
    repo: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        pattern=TEXT_PATTERN,
        description="Path of the git repository, on the server; when omitted, the spec's frontmatter `repo:` "
        "(a path, or a name of SPECMILL_SWEEP_REPOS), else 422 `no_repo`.",
    )
    project: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=TEXT_PATTERN, description="Basic Memory project."
    )
    playbook: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        pattern=TEXT_PATTERN,
        description="Playbook name (GET /playbooks); when omitted, the spec's frontmatter `playbook:`, "
        "else the default.",
    )
    base: str | None = Field(
        default=None, min_length=1, max_length=250, pattern=TEXT_PATTERN, description="Base ref; HEAD when omitted."
    )
    max_iterations: int | None = Field(default=None, ge=1, le=20, description="Implement/test/validate rounds.")
    budget_usd: float | None = Field(
        default=None, gt=0, le=1_000_000, description="Dollar cap of the run's model calls."
    )
    budget_tokens: int | None = Field(default=None, gt=0, le=10**12, description="Token cap of the run's model calls.")
    approval: Literal["none", "plan"] | None = Field(
        default=None, description="`plan`: the run waits for a person to approve its plan before writing code."
    )
    on_budget: Literal["stop", "pause"] | None = Field(
        default=None, description="`pause`: a run at its cap waits for a higher one instead of ending."
    )
    publish: Literal["none", "push", "pr"] | None = Field(
        default=None, description="After the run: push its branch, or push it and open a pull request."
    )
    publish_on_failure: bool = Field(default=False, description="Publish a run that did not succeed, as a draft.")

    def to_request(self) -> RunRequest:
        """The request as asked; an empty `repo` is for the spec's own `repo:` to fill in."""
        return RunRequest(**{**self.model_dump(), "repo": self.repo or ""})


class ForkRun(BaseModel):
    """Start a new run that reuses the recorded steps of an existing one before `from_phase`."""

    model_config = ConfigDict(extra="forbid")

    from_phase: ForkPhase = Field(description="The first phase the new run executes again.")
    overrides: RunOverrides = Field(default_factory=RunOverrides, description="Applied from the implement phase on.")

    @model_validator(mode="after")
    def _overrides_need_implement(self) -> ForkRun:
        if self.from_phase not in OVERRIDABLE_FORK_PHASES and self.overrides != RunOverrides():
            raise ValueError(
                f"overrides take effect as the implement phase starts: fork from_phase "
                f"{' / '.join(OVERRIDABLE_FORK_PHASES)} to change them, or leave them out"
            )
        return self


class RunAccepted(BaseModel):
    run_id: str
    status_url: str
    events_url: str


class RunSummary(BaseModel):
    run_id: str
    status: RunStatus
    phase: str | None = Field(description="The phase the run is in, or stopped in; null while queued and once done.")
    spec: str
    repo: str
    project: str | None
    playbook: str | None
    created_at: datetime
    updated_at: datetime | None
    finished_at: datetime | None
    usage: Usage
    forked_from: str | None = None


class RunPage(BaseModel):
    runs: list[RunSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next, older page; null on the last page.")


class StepView(BaseModel):
    step_id: int
    name: str
    phase: str
    status: Literal["succeeded", "failed", "running"]
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    reused: bool = Field(description="Copied from the run this one was forked from, not executed by it.")
    error: str | None = None
    traceback: str | None = None


class RunError(BaseModel):
    type: str
    message: str
    traceback: str | None = None


class ArtifactRef(BaseModel):
    kind: str
    attempt: int
    size: int


class RunDetail(BaseModel):
    run_id: str
    status: RunStatus
    phase: str | None
    request: RunRequest
    created_at: datetime | None
    updated_at: datetime | None
    finished_at: datetime | None
    forked_from: str | None
    fork_phase: str | None
    timeline: list[StepView]
    tests: TestReport | None = Field(description="The latest test report.")
    criteria: list[CriterionVerdict] | None = Field(description="The latest verdict on the acceptance criteria.")
    verdict_summary: str | None
    branch: str | None
    base_commit: str | None
    head_commit: str | None
    commits: list[str] = Field(default_factory=list, description="The run's commits on its branch, oldest first.")
    pull_request: PullRequestRef | None = Field(default=None, description="The pull request a published run opened.")
    iterations: int
    usage: Usage
    cost_usd: float = Field(description="Dollars spent on model calls so far, at the configured prices.")
    ledger: Ledger = Field(description="Calls, tokens and dollars per phase.")
    reason: str | None = Field(description="Why a finished run was not accepted.")
    error: RunError | None = Field(description="What stopped a run in `error`; resume it with POST /runs/{id}/resume.")
    artifacts: list[ArtifactRef]
    waiting: GateView | None = Field(default=None, description="What a run in awaiting_* waits for, and until when.")
    plan: Plan | None = Field(default=None, description="The latest plan, when the run made one.")


class ResumeRun(BaseModel):
    """Optional new caps, for a run that ended as `budget_exhausted`."""

    model_config = ConfigDict(extra="forbid")

    budget_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    budget_tokens: int | None = Field(default=None, gt=0, le=10**12)


class ApproveRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=10_000, pattern=TEXT_PATTERN)


class RejectRun(BaseModel):
    """Why the plan is rejected: the next plan is made with this as feedback."""

    model_config = ConfigDict(extra="forbid")

    comment: str = Field(min_length=1, max_length=10_000, pattern=TEXT_PATTERN)


class RaiseBudget(BaseModel):
    """The new caps of a run paused at its budget; at least one."""

    model_config = ConfigDict(extra="forbid")

    budget_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    budget_tokens: int | None = Field(default=None, gt=0, le=10**12)

    @model_validator(mode="after")
    def _one_cap(self) -> RaiseBudget:
        if self.budget_usd is None and self.budget_tokens is None:
            raise ValueError("give budget_usd or budget_tokens: the new cap of the run")
        return self


class GateView(BaseModel):
    """What a waiting run waits for."""

    kind: Literal["approval", "budget"]
    since: datetime
    deadline: datetime
    detail: str


class RunDiff(BaseModel):
    run_id: str
    branch: str
    base_commit: str
    head_commit: str
    diff: str


class PlaybookView(BaseModel):
    name: str
    description: str
    model: str
    test_command: str | None = Field(default=None, description="None: the repository's own, detected per run.")
    max_iterations: int
    max_turns: int
    source: str


class CheckResult(BaseModel):
    ok: bool
    detail: str = ""


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    system_database: CheckResult
    basic_memory: CheckResult


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable: for example `not_found`, `unknown_playbook`.")
    message: str = Field(description="One line for people: what was wrong and how to fix it.")


class ErrorBody(BaseModel):
    error: ErrorDetail
