"""Values that cross a boundary: between phases, into step records, out of the CLI.

All of them are plain pydantic models so that DBOS step outputs stay small,
JSON-able and readable in the system database.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


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

    @property
    def ok(self) -> bool:
        return (
            not self.timed_out
            and self.exit_code == 0
            and self.failed == 0
            and self.errors == 0
        )

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

    @property
    def all_met(self) -> bool:
        return bool(self.criteria) and all(c.met for c in self.criteria)


class ImplementResult(BaseModel):
    head_commit: str
    turns: int
    tool_calls: int
    stopped_because: Literal["model_finished", "turn_cap"]
    usage: Usage = Field(default_factory=Usage)
    final_text: str = ""


RunStatus = Literal["succeeded", "failed"]


class RunRequest(BaseModel):
    spec: str = Field(description="Permalink, title or memory:// URL of the spec note.")
    repo: str = Field(description="Path of the target git repository.")
    project: str | None = None
    playbook: str | None = None
    base: str | None = Field(default=None, description="Base ref; the repository's HEAD when omitted.")
    max_iterations: int | None = None
    model: str | None = None


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
    reason: str = ""
