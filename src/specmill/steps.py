"""What each step does: plain functions over the ports, with no DBOS in them.

The workflow runs each of these as a checkpointed step; they can also be called by
hand, from recorded inputs, to debug a step with an ordinary stack trace.
"""

from __future__ import annotations

import threading
from typing import Any

from specmill.container import Container
from specmill.models import (
    Ledger,
    PatternBrief,
    RunRequest,
    Spec,
    TestReport,
    ToolOutcome,
    Verdict,
    WorkspaceState,
)
from specmill.errors import BadInput
from specmill.phases import implement as impl
from specmill.phases.analyze_patterns import analyze_patterns
from specmill.phases.read_spec import read_spec as read_spec_note
from specmill.phases.run_tests import run_tests as run_tests_at
from specmill.phases.update_spec import render_status_section, update_spec
from specmill.playbooks import Playbook, load_playbook as load_playbook_file

_container: Container | None = None


def use(container: Container | None) -> None:
    """Give the steps their ports (called by the runtime at launch)."""
    global _container
    _container = container


def ports() -> Container:
    if _container is None:
        raise RuntimeError("specmill runtime not launched: call runtime.launch() first")
    return _container


def load_playbook(request: RunRequest) -> Playbook:
    return load_playbook_file(request.playbook, ports().settings.playbooks_dir)


def read_spec(request: RunRequest) -> Spec:
    return read_spec_note(ports().spec_store, request.spec, project(request))


def prepare_workspace(run_id: str, request: RunRequest, spec: Spec) -> WorkspaceState:
    from specmill.adapters.git_worktree import branch_name

    return ports().workspace.prepare(run_id, request.repo, branch_name(spec.permalink, run_id), request.base)


def analyze(state: WorkspaceState, spec: Spec, playbook: Playbook) -> PatternBrief:
    c = ports()
    root = c.workspace.checkout(state, state.base_commit)
    brief = analyze_patterns(c.analyzer, root, spec, playbook.brief_budget_tokens or c.settings.brief_budget_tokens)
    return c.redactor.scrub(brief, "markdown", "files", "conventions")


def run_tool(state: WorkspaceState, head: str, tool_use: dict[str, Any], playbook: Playbook) -> ToolOutcome:
    """Redacted here, before DBOS records the outcome and the model reads it."""
    c = ports()
    outcome = impl.execute_tool(c.workspace, c.tests, state, head, tool_use, playbook.test_command,
                                c.settings.test_timeout_s, protected=c.settings.protected_path_list())
    return c.redactor.scrub(outcome, "content", "test_report")


def run_tests(state: WorkspaceState, head: str, playbook: Playbook) -> TestReport:
    c = ports()
    report = run_tests_at(c.workspace, c.tests, state, head, playbook.test_command, c.settings.test_timeout_s)
    return c.redactor.scrub(report, "command", "output_tail", "failures")


def redacted_diff(state: WorkspaceState, head: str) -> str:
    """The run's diff as the reviewing model and the artifacts see it: without secrets."""
    c = ports()
    return c.redactor.redact(c.workspace.diff(state, head))


def write_status(
    spec: Spec, state: WorkspaceState, status: str, head: str, report: TestReport | None,
    verdict: Verdict | None, attempt: int, playbook: Playbook, reason: str, ledger: Ledger,
) -> str:
    section = render_status_section(
        run_id=state.run_id, status=status, branch=state.branch, head_commit=head, tests=report,
        verdict=verdict, iteration=attempt, max_iterations=playbook.max_iterations, reason=reason, usage=ledger.usage,
        ledger=ledger,
    )
    note = update_spec(ports().spec_store, spec.project, spec.permalink, ports().redactor.redact(section), status)
    return note.checksum or ""


def update_note(spec: Spec, section: str) -> str:
    section = ports().redactor.redact(section)
    return update_spec(ports().spec_store, spec.project, spec.permalink, section, "needs-attention").checksum or ""


_executions: dict[str, int] = {}


def pause_for_test(name: str) -> None:
    """Test-only, inert unless SPECMILL_TEST_PAUSE_AT is set: hold the process after a step did its
    work and before DBOS checkpoints it, the worst moment for a crash, so a test can SIGKILL it there."""
    wanted = ports().settings.test_pause_at
    if not wanted or wanted.split("#")[0] != name:
        return
    _executions[name] = _executions.get(name, 0) + 1
    if _executions[name] == int(wanted.partition("#")[2] or 1):
        (ports().settings.data_dir / "paused-at").write_text(wanted)
        threading.Event().wait()


def project(request: RunRequest) -> str:
    project = request.project or ports().settings.project
    if not project:
        raise BadInput("no Basic Memory project given: pass --project NAME or set SPECMILL_PROJECT")
    return project


def model_name(request: RunRequest, playbook: Playbook) -> str:
    return request.model or ports().settings.model or playbook.model


def describe(tool_use: dict[str, Any]) -> str:
    tool_input = tool_use.get("input") if isinstance(tool_use.get("input"), dict) else {}
    words = [str(tool_use.get("name")), str(tool_input.get("command", "")), str(tool_input.get("path", tool_input.get("selection", "")))]
    return " ".join(w for w in words if w)[:200]


def summary(result: Any) -> str:
    if isinstance(result, TestReport):
        return f"{result.passed} passed, {result.failed} failed, {result.errors} errors, {result.skipped} skipped" + (" (timed out)" if result.timed_out else "")
    if isinstance(result, ToolOutcome):
        if result.test_report is not None:
            return summary(result.test_report)
        return f"refused: {result.content.splitlines()[0][:160]}" if result.is_error and result.content else ""
    if isinstance(result, Verdict):
        return f"{sum(c.met for c in result.criteria)}/{len(result.criteria)} criteria met"
    return ""
