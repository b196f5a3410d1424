"""What each step of a run does: plain typed functions over the ports, with no DBOS in them.

The workflow wraps each of these into a checkpointed step (`specmill.durable`) and calls it
with keyword arguments. They can also be called by hand, from recorded inputs, to debug a
step with an ordinary stack trace: `steps.use(build_container(Settings()))`, then call one.
"""

from __future__ import annotations

import json
from typing import Any

from specmill import call_journal, names, progress, records, run_index, step_context
from specmill.container import Container
from specmill.errors import BadInput
from specmill.models import (
    BudgetGuard,
    ModelRequest,
    ModelTurn,
    PatternBrief,
    RepoEnvironment,
    RunRequest,
    RunResult,
    Spec,
    TestReport,
    ToolOutcome,
    Verdict,
    WorkspaceState,
)
from specmill.phases import implement as impl
from specmill.phases.analyze_patterns import analyze_patterns
from specmill.phases.budget import check_budget
from specmill.phases.plan import with_plan_tasks
from specmill.phases.read_spec import read_spec as read_spec_note
from specmill.phases.run_tests import run_tests as run_tests_at
from specmill.phases.update_spec import render_status_section, update_spec
from specmill.phases.validate import parse_verdict, verdict_request
from specmill.playbooks import Playbook
from specmill.playbooks import load_for_run as load_playbook_file
from specmill.pricing import cost_usd
from specmill.run import Run, Status, Work

_container: Container | None = None


def use(container: Container | None) -> None:
    """Give the steps their ports (the runtime does it at launch)."""
    global _container
    _container = container


def ports() -> Container:
    if _container is None:
        raise RuntimeError("specmill runtime not launched: call runtime.launch() first")
    return _container


# --- before the workspace exists ---------------------------------------------------------


def load_playbook(*, request: RunRequest) -> Playbook:
    """The run's first step; it also puts the run into the run index, however the run was started."""
    here = step_context.current()
    if here is not None:
        record = records.RunRecord(run_id=here.run_id, request=request, created_us=records.now_us())
        run_index.write(records.insert_run, record)
    return load_playbook_file(request.playbook, ports().settings.playbooks_dir)


def read_spec(*, request: RunRequest) -> Spec:
    return read_spec_note(ports().spec_store, request.spec, project_of(request))


def prepare_workspace(*, run_id: str, request: RunRequest, spec: Spec) -> WorkspaceState:
    if request.revision is not None:  # a revision continues the branch it revises, from where it was
        return ports().workspace.prepare(run_id, request.repo, request.revision.branch, request.revision.head)
    branch = names.branch_name(spec.permalink, run_id)
    return ports().workspace.prepare(run_id, request.repo, branch, request.base)


# --- the phases of a run -----------------------------------------------------------------


def analyze(*, run: Run) -> PatternBrief:
    c = ports()
    root = c.workspace.checkout(run.workspace, run.workspace.base_commit)
    budget = run.playbook.brief_budget_tokens or c.settings.brief_budget_tokens
    brief = analyze_patterns(c.analyzer, root, run.spec, budget)
    return c.redactor.scrub(brief, "markdown", "files", "conventions")


def prepare_environment(*, run: Run) -> RepoEnvironment:
    """The repository's own environment for the run's worktree, before its first test run: built once
    per lock and Python version, then reused. A setup failure raises `EnvironmentSetupFailed`."""
    c = ports()
    start = run.workspace.head_commit if run.request.revision else run.workspace.base_commit
    root = c.workspace.checkout(run.workspace, start)
    try:
        return c.environments.prepare(
            root,
            setup_command=run.playbook.setup_command,
            environment=run.playbook.environment if run.playbook.environment != "auto" else None,
            test_command=run.playbook.test_command,
        )
    finally:
        c.workspace.checkout(run.workspace, start)  # whatever setup left behind goes


def call_model(*, request: ModelRequest, guard: BudgetGuard | None) -> ModelTurn:
    """One Messages API call, refused beforehand when it could cross the run's cap, priced after.
    What the model said is redacted before DBOS records it (and before any tool acts on it), and goes into
    the call journal as it arrives: this step running again reads it from there instead of paying again."""
    c = ports()
    here = step_context.current()
    turn = call_journal.recorded(here, request) if here is not None else None
    if turn is None:
        if guard is not None:
            check_budget(c.model, request, guard)
        turn = c.model.complete(request)
        turn = turn.model_copy(update={"content": c.redactor.redact_blocks(turn.content)})
        if here is not None:
            call_journal.record(here, request, turn)
    return turn.model_copy(update={"cost_usd": cost_usd(request.model, turn.usage, guard.cache_ttl if guard else "5m")})


def run_tool(*, run: Run, head: str, tool_use: dict[str, Any], attempt: int) -> ToolOutcome:
    """Redacted here, before DBOS records the outcome and the model reads it."""
    c = ports()
    outcome = impl.execute_tool(
        c.workspace,
        c.tests,
        run.workspace,
        head,
        tool_use,
        run.test_command,
        c.settings.test_timeout_s,
        protected=c.settings.protected_path_list(),
        environment=run.test_environment,
    )
    return c.redactor.scrub(outcome, "content", "test_report")


def run_tests(*, run: Run, head: str, attempt: int) -> TestReport:
    c = ports()
    report = run_tests_at(
        c.workspace, c.tests, run.workspace, head, run.test_command, c.settings.test_timeout_s, run.test_environment
    )
    return c.redactor.scrub(report, "command", "output_tail", "failures")


def validate(*, run: Run, head: str, report: TestReport, attempt: int, guard: BudgetGuard | None) -> Verdict:
    """One forced `record_verdict` call judges the diff and the tests against every criterion."""
    spec = with_plan_tasks(run.spec, run.plan)
    request = verdict_request(
        model_name(run), spec, redacted_diff(run.workspace, head), report, attempt, run.limits.max_iterations
    )
    turn = call_model(request=request, guard=guard)
    return parse_verdict(spec, turn).model_copy(update={"cost_usd": turn.cost_usd})


def update_status(*, run: Run, status: Status) -> str:
    """Write `status` into the spec note (compare-and-swap); returns the note's new checksum."""
    section = render_status_section(
        run_id=run.id,
        status=status.name,
        branch=run.workspace.branch,
        head_commit=status.head,
        tests=status.tests,
        verdict=status.verdict,
        iteration=status.attempt,
        max_iterations=run.limits.max_iterations,
        reason=status.reason,
        usage=status.ledger.usage,
        ledger=status.ledger,
        pull_request=status.pull_request.url if status.pull_request else "",
        environment=f"{run.environment.kind}: {run.environment.reason}" if run.environment else "",
    )
    return _write_section(run.spec, section, status.name)


def finish(*, run: Run, work: Work, status: Status) -> RunResult:
    """The run's last step: its final status goes into the spec, and people watching hear it ended."""
    update_status(run=run, status=status)
    result = result_of(run, work, status)
    progress.publish(
        progress.ProgressEvent(run_id=run.id, kind="run_finished", detail=result.status, usage=result.usage)
    )
    return result


def apply_fork(*, run: Run) -> Run:
    """Where a fork's overrides (its row in the run index) take effect, recorded as this step's output
    so replays see the same ones. A fork also gets a branch and worktree of its own here, instead of
    moving those of the run it was forked from."""
    record = run_index.read(records.get_run, run.id)
    if record is not None and record.overrides is not None:
        overrides = record.overrides
        run = run.model_copy(update={"request": overrides.apply(run.request)})
        if overrides.playbook:
            run = run.model_copy(
                update={"playbook": load_playbook_file(overrides.playbook, ports().settings.playbooks_dir)}
            )
    if run.workspace.run_id != run.id:
        workspace = ports().workspace.prepare(
            run.id, run.workspace.repo, names.branch_name(run.spec.permalink, run.id), run.workspace.base_commit
        )
        run = run.model_copy(update={"workspace": workspace})
    return run


def record_attempt(*, run: Run, work: Work, transcript: list[dict[str, Any]]) -> None:
    """What people review after an attempt (its diff, test report, verdict and model transcript), in
    specmill's tables. Replacing the attempt's rows makes a repeated step converge on one copy."""
    assert work.report is not None and work.verdict is not None
    run_index.write(
        records.save_artifacts,
        run.id,
        work.attempt,
        work.head,
        {
            "diff": redacted_diff(run.workspace, work.head),
            "test_report": work.report.model_dump_json(),
            "verdict": work.verdict.model_dump_json(),
            "transcript": json.dumps(ports().redactor.redact_value(transcript)),
        },
    )


def record_failure(*, run_id: str, spec: Spec, error: str) -> str:
    """A run that fails for good says why in its spec, without a workspace to describe."""
    section = render_status_section(
        run_id=run_id,
        status="needs-attention",
        branch="",
        head_commit="",
        tests=None,
        verdict=None,
        iteration=0,
        max_iterations=0,
        reason=error,
    )
    return _write_section(spec, section, "needs-attention")


# --- helpers the workflow and the steps share --------------------------------------------


def result_of(run: Run, work: Work, status: Status) -> RunResult:
    return RunResult(
        run_id=run.id,
        status=status.outcome or "failed",
        spec=run.spec.permalink,
        branch=run.workspace.branch,
        head_commit=work.head,
        tests=work.report.counts if work.report else TestReport(command="", exit_code=None).counts,
        criteria=work.verdict.criteria if work.verdict else [],
        iterations=work.attempt,
        usage=work.ledger.usage,
        cost_usd=work.ledger.cost_usd,
        ledger=work.ledger,
        stops=work.stops,
        reason=status.reason,
        pull_request=work.pull_request,
    )


def redacted_diff(workspace: WorkspaceState, head: str) -> str:
    """The run's diff as the reviewing model and the artifacts see it: without secrets."""
    c = ports()
    return c.redactor.redact(c.workspace.diff(workspace, head))


def project_of(request: RunRequest) -> str:
    project = request.project or ports().settings.project
    if not project:
        raise BadInput("no Basic Memory project given: name the project in the request or set SPECMILL_PROJECT")
    return project


def model_name(run: Run) -> str:
    return run.request.model or ports().settings.model or run.playbook.model


def cache_ttl(playbook: Playbook, longest_test_s: float) -> str:
    """`auto` switches to the one-hour TTL once a test run outlasts four minutes (the 5m TTL would lapse)."""
    if playbook.cache_ttl != "auto":
        return playbook.cache_ttl
    return "1h" if longest_test_s > 240 else "5m"


def describe(tool_use: dict[str, Any]) -> str:
    tool_input = tool_use.get("input") if isinstance(tool_use.get("input"), dict) else {}
    words = [
        str(tool_use.get("name")),
        str(tool_input.get("command", "")),
        str(tool_input.get("path", tool_input.get("selection", ""))),
    ]
    return " ".join(w for w in words if w)[:200]


def _write_section(spec: Spec, section: str, status: str) -> str:
    c = ports()
    note = update_spec(c.spec_store, spec.project, spec.permalink, c.redactor.redact(section), status)
    return note.checksum or ""
