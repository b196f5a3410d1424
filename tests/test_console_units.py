"""The console's parts without a browser or a database: sessions and CSRF, the diff, the run page's
views, and the templates rendered from values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from specmill.api.app import create_app
from specmill.api.schemas import RunDetail, StepView
from specmill.console import diff, session, views
from specmill.console.render import fragment
from specmill.console.service import next_time
from specmill.console.sign_in import safe_next
from specmill.models import CriterionVerdict, Ledger, ModelTurn, RunRequest, TestReport, ToolOutcome, Usage
from specmill.phases.plan import Plan, PlanTask
from specmill.queries import StepRecord
from tests.fixtures.runtime import make_settings

DIFF = """diff --git a/calc/__init__.py b/calc/__init__.py
index 1111111..2222222 100644
--- a/calc/__init__.py
+++ b/calc/__init__.py
@@ -1,2 +1,5 @@
 def add(a, b):
-    return a - b
+    return a + b
+
+# <script>alert(1)</script>
diff --git a/notes.unknownext b/notes.unknownext
new file mode 100644
--- /dev/null
+++ b/notes.unknownext
@@ -0,0 +1 @@
+<b>not bold</b>
"""


def test_a_session_is_accepted_only_under_a_configured_token_and_while_fresh() -> None:
    cookie = session.issue("alpha", now=1000.0)
    assert session.session_key(cookie, ["beta", "alpha"], now=1000.0 + 60) is not None
    assert session.session_key(cookie, ["beta"], now=1060.0) is None  # the token was removed
    assert session.session_key(cookie, ["alpha"], now=1000.0 + session.MAX_AGE_S + 1) is None
    body, _, mac = cookie.rpartition(".")
    assert session.session_key(f"{body}.{'0' * len(mac)}", ["alpha"], now=1060.0) is None
    assert session.session_key("garbage", ["alpha"]) is None and session.session_key(None, ["alpha"]) is None
    assert "alpha" not in cookie


def test_the_diff_is_split_by_file_counted_highlighted_and_escaped() -> None:
    files = diff.parse(DIFF)
    assert [(f.path, f.added, f.removed) for f in files] == [("calc/__init__.py", 3, 1), ("notes.unknownext", 1, 0)]
    python = files[0].lines
    assert [line.kind for line in python] == ["hunk", "ctx", "del", "add", "add", "add"]
    assert '<span class="hl-k">def</span>' in python[1].html
    assert "<script>" not in "".join(str(line.html) for f in files for line in f.lines)
    assert str(files[1].lines[-1].html) == "&lt;b&gt;not bold&lt;/b&gt;"
    assert [line.kind for line in files[1].lines][:2] == ["meta", "hunk"]


def _step(step_id: int, name: str, output: object = None, error: BaseException | None = None) -> StepRecord:
    return StepRecord(step_id, name, output, error, 1000 * step_id, 1000 * step_id + 500)


def test_rounds_pair_each_tool_use_with_its_outcome_and_split_at_other_phases() -> None:
    def turn(*tools: tuple[str, str, dict[str, object]]) -> ModelTurn:
        content = [{"type": "tool_use", "id": i, "name": n, "input": inp} for i, n, inp in tools]
        return ModelTurn(content=content, stop_reason="tool_use")

    steps = [
        _step(1, "read_spec"),
        _step(2, "implement.model_call", turn(("t1", "editor", {"command": "view", "path": "a.py"}))),
        _step(3, "implement.tool", ToolOutcome(tool_use_id="t1", content="1: x = 1\n2: y", commit="c1")),
        _step(4, "implement.model_call", ModelTurn(content=[{"type": "text", "text": "done"}], stop_reason="end_turn")),
        _step(5, "run_tests"),
        _step(6, "implement.model_call", turn(("t2", "run_tests", {"selection": "tests"}))),
        _step(7, "implement.tool", ToolOutcome(tool_use_id="t2", content="boom", is_error=True, commit="c1")),
    ]
    found = views.rounds(steps)
    assert [(r.number, r.model_calls, len(r.calls)) for r in found] == [(1, 2, 1), (2, 1, 1)]
    assert (found[0].calls[0].summary, found[0].calls[0].result) == ("view a.py", "1: x = 1")
    assert found[1].calls[0].is_error and found[1].calls[0].summary == "tests"
    assert (
        views.summarize({"command": "create", "path": "t.py", "file_text": "a\nb\nc"})
        == "create t.py (file_text=3 lines)"
    )


def test_retries_count_the_failed_attempts_before_each_steps_outcome() -> None:
    timeline = [
        StepView(
            step_id=i,
            name=n,
            phase=n.split(".")[0],
            status=s,
            started_at=None,
            ended_at=None,
            duration_s=None,
            reused=False,
        )
        for i, n, s in [
            (1, "read_spec", "succeeded"),
            (2, "implement.model_call", "succeeded"),
            (3, "implement.model_call", "succeeded"),
            (4, "validate", "failed"),
        ]
    ]
    events = [
        {"kind": "step_finished", "step": "read_spec"},
        {"kind": "step_started", "step": "implement.model_call"},
        {"kind": "step_failed", "step": "implement.model_call"},
        {"kind": "step_failed", "step": "implement.model_call"},
        {"kind": "step_finished", "step": "implement.model_call"},
        {"kind": "step_finished", "step": "implement.model_call"},
        {"kind": "step_failed", "step": "validate"},
        {"kind": "step_failed", "step": "validate"},
        {"kind": "step_failed", "step": "validate"},
    ]
    assert views.retries(timeline, events) == {2: 2, 4: 2}


def test_cost_bars_scale_to_the_dearest_phase_or_to_tokens_when_nothing_cost_money() -> None:
    ledger = Ledger().add("implement", Usage(input_tokens=100), 0.3).add("validate", Usage(input_tokens=10), 0.1)
    bars = views.cost_bars(ledger, width=300)
    assert [(b.phase, round(b.width), b.y) for b in bars] == [("implement", 300, 0), ("validate", 100, 22)]
    free = views.cost_bars(Ledger().add("implement", Usage(output_tokens=50), 0.0), width=100)
    assert free[0].width == 100 and free[0].tokens == 50
    assert views.cost_bars(Ledger()) == []


def test_only_local_paths_are_followed_after_signing_in() -> None:
    assert safe_next("/console/runs/abc?x=1") == "/console/runs/abc?x=1"
    assert [safe_next(t) for t in ("//evil.example", "https://evil.example/", "/\\evil", "")] == ["/"] * 4


def test_the_next_sweep_is_read_from_the_cron_in_its_time_zone() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    following = next_time("0 2 * * *", "Europe/Berlin", now)
    assert following is not None and following.isoformat() == "2026-03-02T02:00:00+01:00"
    assert next_time("", "UTC", now) is None and next_time("not a cron", "UTC", now) is None


def test_the_run_fragment_renders_a_failed_step_with_its_traceback_behind_a_toggle() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    run = RunDetail(
        run_id="r1",
        status="error",
        phase="implement",
        request=RunRequest(spec="specs/x", repo="/r"),
        created_at=when,
        updated_at=when,
        finished_at=None,
        forked_from=None,
        fork_phase=None,
        timeline=[
            StepView(
                step_id=1,
                name="implement.tool",
                phase="implement",
                status="failed",
                started_at=when,
                ended_at=when,
                duration_s=0.25,
                reused=False,
                error="OSError: <disk>",
                traceback="Traceback (most recent call last):\n  boom",
            )
        ],
        tests=TestReport(command="pytest", exit_code=1, passed=1, failed=1),
        verdict_summary=None,
        criteria=[CriterionVerdict(criterion="adds", met=False, evidence="<none>")],
        branch=None,
        base_commit=None,
        head_commit=None,
        iterations=1,
        usage=Usage(),
        cost_usd=0.0,
        ledger=Ledger(),
        reason=None,
        error=None,
        artifacts=[],
    )
    html = fragment("_run_live.html", run=run, retries={1: 2}, rounds=[], bars=[], diff=None, files=[], plan=None)
    assert 'data-status="error"' in html and "OSError: &lt;disk&gt;" in html
    assert '<details id="tb-1"><summary>Traceback</summary><pre>Traceback (most recent call last):' in html
    assert "1 passed, 1 failed" in html and "not met" in html and "&lt;none&gt;" in html
    assert "<td>2</td>" in html  # retries
    assert "Plan" not in html
    plan = Plan(
        summary="one <task>",
        tasks=[PlanTask(title="Add multiply", criteria=["multiply works"], files=["calc/__init__.py"])],
        unserved=["the suite passes"],
    )
    planned = fragment("_run_live.html", run=run, retries={}, rounds=[], bars=[], diff=None, files=[], plan=plan)
    assert '<p id="plan-summary">one &lt;task&gt;</p>' in planned
    assert "<strong>Add multiply</strong>" in planned and "Serves: multiply works" in planned
    assert "<code>calc/__init__.py</code>" in planned and "<li>the suite passes</li>" in planned


@pytest.fixture
def console_client(tmp_path) -> TestClient:
    """The app without its lifespan: enough for sign-in and the guards, which read only settings."""
    return TestClient(create_app(make_settings(tmp_path, api_tokens="tok-1,tok-2")), follow_redirects=False)


def test_pages_ask_to_sign_in_and_a_signed_in_session_passes_with_its_csrf_token(console_client: TestClient) -> None:
    page = console_client.get("/?status=error")
    assert page.status_code == 303 and page.headers["location"] == "/console/sign-in?next=%2F%3Fstatus%3Derror"
    form = console_client.get("/console/sign-in")
    assert "script-src 'self'" in form.headers["content-security-policy"]
    csrf = form.text.split('name="csrf-token" content="')[1].split('"')[0]
    refused = console_client.post("/console/sign-in", json={"token": "nope"}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 401
    stale = console_client.post("/console/sign-in", json={"token": "tok-2"}, headers={"X-CSRF-Token": "x"})
    assert stale.status_code == 403
    foreign = console_client.post(
        "/console/sign-in", json={"token": "tok-2"}, headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
    )
    assert foreign.status_code == 403
    signed = console_client.post("/console/sign-in", json={"token": "tok-2"}, headers={"X-CSRF-Token": csrf})
    assert signed.status_code == 200
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    no_csrf = console_client.post("/console/runs/abc/cancel")
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"
    assert console_client.get("/runs").status_code == 401  # the JSON API still wants its bearer token
