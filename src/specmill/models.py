"""Values that cross a boundary: between phases, into step records, out of the CLI.

All of them are plain pydantic models so that DBOS step outputs stay small,
JSON-able and readable in the system database.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainSerializer

Money = Annotated[float, PlainSerializer(lambda value: round(value, 6), return_type=float)]
"""Dollars: exact while summed, rounded to a millionth wherever they are shown or stored as JSON."""


class Note(BaseModel):
    """A note as the spec store holds it: the whole Markdown file, frontmatter included."""

    project: str
    permalink: str
    title: str
    content: str
    checksum: str | None = None


class Criterion(BaseModel):
    text: str
    checked: bool = False
    section: str = Field(description="The heading the checklist item sits under.")


class Spec(BaseModel):
    project: str
    permalink: str
    title: str
    frontmatter: dict[str, Any] = Field(default_factory=dict)
    sections: dict[str, str] = Field(default_factory=dict, description="Heading -> body text.")
    body: str = Field(description="The note without frontmatter and without specmill's own section.")
    criteria: list[Criterion]


class Convention(BaseModel):
    kind: str = Field(description="For example 'fastapi-router', 'typer-cli', 'tests', 'lint'.")
    summary: str
    files: list[str] = Field(default_factory=list)


class RankedFile(BaseModel):
    path: str
    score: float
    symbols: list[str] = Field(default_factory=list)


class PatternBrief(BaseModel):
    markdown: str
    tokens: int
    budget: int
    files: list[RankedFile] = Field(default_factory=list)
    conventions: list[Convention] = Field(default_factory=list)


class WorkspaceState(BaseModel):
    """Where a run's files live; every file-touching step starts from `head_commit`."""

    run_id: str
    repo: str
    path: str
    branch: str
    base_ref: str
    base_commit: str
    head_commit: str


class RepoEnvironment(BaseModel):
    """The repository's own environment, in which every test run of a run happens.

    Provisioned for the worktree before its first test run, once per lock and Python version
    and then reused; it never points at the main checkout's code. `read_only` lists what the
    test sandbox must make visible (read-only) for the environment to work.
    """

    kind: Literal["setup_command", "uv", "poetry", "pip", "none"] = "none"
    reason: str = Field(default="", description="Why this kind was chosen, for the run's record.")
    python: str = Field(default="", description="The environment's interpreter; `python` in a test command.")
    venv: str | None = Field(default=None, description="The environment's root, exported as VIRTUAL_ENV.")
    variables: dict[str, str] = Field(default_factory=dict, description="Set for every test run.")
    path_prefix: list[str] = Field(default_factory=list, description="Put first on PATH (the environment's bin).")
    read_only: list[str] = Field(default_factory=list, description="Host paths the sandbox binds read-only.")
    test_command: str | None = Field(default=None, description="The repository's own test command, when detected.")
    setup_s: float = Field(default=0.0, description="Seconds the provisioning took (0 when reused).")
    cached: bool = Field(default=False, description="Reused from an earlier run with the same lock and Python.")


class TestCaseFailure(BaseModel):
    test: str
    message: str


class TestReport(BaseModel):
    __test__ = False  # not a pytest test class

    command: str
    exit_code: int | None
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failures: list[TestCaseFailure] = Field(default_factory=list)
    timed_out: bool = False
    duration_s: float = 0.0
    output_tail: str = ""
    isolation: str = Field(
        default="", description="How the command was contained (network, limits), as chosen at start."
    )

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.exit_code == 0 and self.failed == 0 and self.errors == 0

    @property
    def counts(self) -> dict[str, int]:
        return {"passed": self.passed, "failed": self.failed, "errors": self.errors, "skipped": self.skipped}


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens + other.cache_creation_input_tokens,
        )


class ModelRequest(BaseModel):
    """One Messages API request, in the API's own JSON shapes."""

    model: str
    system: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: dict[str, Any] | None = None
    max_tokens: int = 8192


class ModelTurn(BaseModel):
    """The model's answer, reduced to plain JSON content blocks."""

    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    cost_usd: float = Field(default=0.0, description="Priced when the step records it, so the ledger survives crashes.")

    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        return [block for block in self.content if block.get("type") == "tool_use"]

    @property
    def text(self) -> str:
        return "\n".join(block.get("text", "") for block in self.content if block.get("type") == "text")


class ToolOutcome(BaseModel):
    """What one tool execution produced: the result the model reads and the commit after it."""

    tool_use_id: str
    content: str
    is_error: bool = False
    commit: str
    test_report: TestReport | None = None


class CriterionVerdict(BaseModel):
    criterion: str
    met: bool
    evidence: str = ""


class Verdict(BaseModel):
    criteria: list[CriterionVerdict]
    summary: str = ""
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0

    @property
    def all_met(self) -> bool:
        return bool(self.criteria) and all(c.met for c in self.criteria)


class PhaseCost(BaseModel):
    calls: int = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: Money = 0.0


class Ledger(BaseModel):
    """Tokens and dollars per phase, summed from recorded model steps."""

    phases: dict[str, PhaseCost] = Field(default_factory=dict)

    def add(self, phase: str, usage: Usage, cost_usd: float) -> Ledger:
        before = self.phases.get(phase, PhaseCost())
        after = PhaseCost(calls=before.calls + 1, usage=before.usage + usage, cost_usd=before.cost_usd + cost_usd)
        return Ledger(phases={**self.phases, phase: after})

    @property
    def usage(self) -> Usage:
        total = Usage()
        for phase in self.phases.values():
            total = total + phase.usage
        return total

    @property
    def cost_usd(self) -> float:
        return sum(p.cost_usd for p in self.phases.values())

    @property
    def tokens(self) -> int:
        u = self.usage
        return u.input_tokens + u.output_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens


class Budget(BaseModel):
    usd: float | None = Field(default=None, gt=0, description="Dollar cap of the run's model calls.")
    tokens: int | None = Field(default=None, gt=0, description="Token cap (input, output and cache) of the run.")


class BudgetGuard(BaseModel):
    """What a model step needs to refuse a call that could cross the cap."""

    budget: Budget
    spent_usd: float
    spent_tokens: int
    cache_ttl: str = "5m"


StopReason = Literal["model_finished", "turn_cap", "repeated_tool_call", "budget_exhausted"]


RunStatus = Literal["succeeded", "failed", "budget_exhausted", "rejected", "approval_expired"]
Approval = Literal["none", "plan"]
OnBudget = Literal["stop", "pause"]


PublishMode = Literal["none", "push", "pr"]


class PullRequestRef(BaseModel):
    """A pull request a run opened (or found open for its branch)."""

    url: str
    number: int
    draft: bool = False


class Revision(BaseModel):
    """What a revision run continues: the branch and pull request of an earlier run, and the review."""

    of_run: str = Field(description="The run whose branch this one continues.")
    branch: str
    head: str = Field(description="The branch's commit when the revision was asked for; the run starts there.")
    pull_request: PullRequestRef | None = None
    feedback: str = Field(description="The review comments, given to the model as the first round's feedback.")


class RunRequest(BaseModel):
    spec: str = Field(description="Permalink, title or memory:// URL of the spec note.")
    repo: str = Field(description="Path of the target git repository.")
    project: str | None = None
    playbook: str | None = None
    base: str | None = Field(default=None, description="Base ref; the repository's HEAD when omitted.")
    max_iterations: int | None = None
    model: str | None = None
    budget_usd: float | None = Field(default=None, gt=0)
    budget_tokens: int | None = Field(default=None, gt=0)
    approval: Approval | None = Field(default=None, description="`plan`: a person approves the plan before any code.")
    on_budget: OnBudget | None = Field(default=None, description="`pause`: wait for a higher cap instead of ending.")
    publish: PublishMode | None = Field(default=None, description="Push the branch, or push and open a PR.")
    publish_on_failure: bool = Field(default=False, description="Publish a failed run too, as a draft PR.")
    revision: Revision | None = None


class RunResult(BaseModel):
    run_id: str
    status: RunStatus
    spec: str
    branch: str
    head_commit: str
    tests: dict[str, int]
    criteria: list[CriterionVerdict]
    iterations: int
    usage: Usage
    cost_usd: Money = 0.0
    ledger: Ledger = Field(default_factory=Ledger)
    stops: list[StopReason] = Field(default_factory=list, description="Why each implement round ended.")
    reason: str = ""
    pull_request: PullRequestRef | None = None
