"""The console in headless Chromium against a real `specmill serve` (one per database backend):
real Basic Memory, the real anthropic SDK against the loopback Messages server, real git and pytest.

Every test's tab fails the test if it logs an error or asks anything of another origin.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from specmill.replay.server import MessagesServer
from tests import scenarios
from tests.fixtures.api import ServerProcess, start_server, stop_server, wait_for_status
from tests.fixtures.browser import Watched, watched_page
from tests.fixtures.git_repos import CALC_FILES, init_repo
from tests.fixtures.runtime import fresh_postgres_database

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]
TOKEN = "console-token"
SLOW = "Slow multiply"
PLANNED = "Planned multiply"
WAIT_MS = 120_000


def script() -> dict[str, object]:
    """Every run implements multiply; a spec titled `Slow multiply ...` waits long in its validation,
    so a test can cancel it mid-run; a run with a plan (the only one) leaves a criterion unserved and is
    judged with its plan's task."""
    slow = scenarios.verdict(True, True)
    slow["delay_s"] = 30.0
    return {
        "conversations": [
            {
                "name": "verdict-slow",
                "match": {"first_user_contains": SLOW, "tool_choice": "record_verdict"},
                "turns": [slow],
            },
            scenarios.plan(1, serves_all=False),
            {
                "name": "verdict-planned",
                "match": {"first_user_contains": PLANNED, "tool_choice": "record_verdict"},
                "turns": [scenarios.verdict_with_tasks(True, True)],
            },
            scenarios.conversation(
                "implement", 1, scenarios.implement_turns(scenarios.GOOD, delay_on_turn=3, delay_s=1.0)
            ),
            scenarios.conversation("verdict", 1, [scenarios.verdict(True, True)], forced="record_verdict"),
        ]
    }


@dataclass
class Console:
    server: ServerProcess
    model: MessagesServer
    repo: Path
    basic_memory: object
    finished: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.base_url

    def api(self) -> httpx.Client:
        return self.server.client(TOKEN)

    def new_spec(self, prefix: str = "Multiply") -> str:
        title = f"{prefix} {uuid.uuid4().hex[:8]}"
        return self.basic_memory.write_spec(title, scenarios.spec_note(title)).permalink

    def start(self, spec: str, **extra: str) -> str:
        with self.api() as api:
            started = api.post("/runs", json={"spec": spec, "repo": str(self.repo), **extra})
            assert started.status_code == 202, started.text
            return started.json()["run_id"]

    def wait(self, run_id: str, wanted: set[str]) -> dict[str, object]:
        with self.api() as api:
            return wait_for_status(api.get, run_id, wanted)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def console(
    request: pytest.FixtureRequest, basic_memory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    root = tmp_path_factory.mktemp(f"console-{request.param}")
    with ExitStack() as stack:
        model = MessagesServer(script())
        model.start()
        stack.callback(model.stop)
        env = {
            **basic_memory.specmill_env(),
            "SPECMILL_DATA_DIR": str(root / "data"),
            "SPECMILL_MODEL_RETRY_INTERVAL_S": "0.1",
            "SPECMILL_QUEUE_POLLING_INTERVAL_S": "0.1",
            "SPECMILL_WORKER_GRACE_S": "1",
            "SPECMILL_API_TOKENS": TOKEN,
            "SPECMILL_EXECUTOR_ID": f"console-test-{uuid.uuid4().hex[:6]}",
            "ANTHROPIC_API_KEY": "test-key",
            "ANTHROPIC_BASE_URL": model.base_url,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("ANTHROPIC_AUTH_TOKEN", None)
        env.pop("DBOS_SYSTEM_DATABASE_URL", None)
        if request.param == "postgres":
            env["DBOS_SYSTEM_DATABASE_URL"] = stack.enter_context(fresh_postgres_database())
        server = start_server(env, root)
        stack.callback(stop_server, server)
        yield Console(
            server=server,
            model=model,
            repo=init_repo(root / "calc", CALC_FILES, "calc: add"),
            basic_memory=basic_memory,
        )


@pytest.fixture
def tab(browser: Browser, console: Console) -> Iterator[Watched]:
    """A tab that has signed in."""
    watched = watched_page(browser, console.url)
    sign_in(watched, TOKEN)
    expect(watched.page.get_by_role("heading", name="Runs")).to_be_visible()
    yield watched
    watched.context.close()
    assert watched.foreign == [], "the console asked another origin"
    assert watched.errors == [], "the browser logged errors"


@pytest.fixture
def succeeded_run(console: Console) -> str:
    """A run that succeeded: the live list's run when that test ran first, else a new one."""
    if not console.finished:
        run_id = console.start(console.new_spec())
        console.wait(run_id, {"succeeded"})
        console.finished.append(run_id)
    return console.finished[0]


def sign_in(watched: Watched, token: str) -> None:
    watched.page.goto("/")
    expect(watched.page).to_have_url(re.compile(r"/console/sign-in\?next=%2F$"))
    watched.page.get_by_label("API token").fill(token)
    watched.page.get_by_role("button", name="Sign in").click()


def confirm(watched: Watched, button: str) -> None:
    watched.page.get_by_role("button", name=button).click()
    dialog = watched.page.locator("dialog#confirm")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Confirm").click()


def test_sign_in_sets_a_strict_http_only_session_and_actions_need_its_csrf_token(
    browser: Browser, console: Console
) -> None:
    watched = watched_page(browser, console.url)
    sign_in(watched, "wrong-token")
    expect(watched.page.get_by_role("alert")).to_contain_text("not one of SPECMILL_API_TOKENS")
    assert all("401" in e for e in watched.errors)  # the browser logs the refused sign-in itself
    watched.errors.clear()
    watched.page.get_by_label("API token").fill(TOKEN)
    watched.page.get_by_role("button", name="Sign in").click()
    expect(watched.page.get_by_role("heading", name="Runs")).to_be_visible()
    (cookie,) = watched.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == ("specmill_session", True, "Strict")
    assert TOKEN not in cookie["value"]
    refused = watched.page.request.post("/console/runs/anything/cancel", data={})
    assert refused.status == 403 and "CSRF" in refused.json()["error"]["message"]
    assert httpx.get(f"{console.url}/runs", cookies={cookie["name"]: cookie["value"]}).status_code == 401
    watched.context.close()
    assert watched.foreign == [] and watched.errors == []


def test_the_runs_list_follows_a_run_without_reloading(tab: Watched, console: Console) -> None:
    page = tab.page
    page.evaluate("window.stillThisPage = true")
    run_id = console.start(console.new_spec())
    row = page.locator(f'tr[data-run="{run_id}"]')
    expect(row).to_be_visible(timeout=WAIT_MS)
    seen = {row.locator(".status").inner_text()}
    expect(row.locator(".status")).to_have_text("succeeded", timeout=WAIT_MS)
    assert seen <= {"queued", "running"}, "the run was listed before it started, and moved on live"
    assert page.evaluate("window.stillThisPage") is True
    assert any(url.startswith(f"{console.url}/console/runs/live") for url in tab.requests)
    console.finished.append(run_id)


def test_a_run_page_shows_timeline_tests_criteria_cost_and_diff(tab: Watched, succeeded_run: str) -> None:
    page = tab.page
    page.goto(f"/console/runs/{succeeded_run}")
    expect(page.locator("#run-status")).to_have_text("succeeded")
    timeline = page.locator("table.timeline tbody tr")
    expect(timeline.filter(has_text="implement.model_call").first).to_be_visible()
    assert timeline.count() >= 20
    expect(page.locator("#test-summary")).to_contain_text("2 passed, 0 failed")
    criteria = page.locator("table.criteria tbody tr")
    expect(criteria).to_have_count(2)
    expect(criteria.filter(has_text="met")).to_have_count(2)
    expect(page.locator("svg.chart rect")).to_have_count(2)  # implement and validate
    expect(page.locator("details.diff-file summary").first).to_contain_text("calc/__init__.py")
    added = page.locator("table.diff tr.d-add", has_text="def multiply")
    expect(added.locator(".hl-k").first).to_have_text("def")  # highlighted on the server
    expect(page.locator("#round-1 li").first).to_contain_text("str_replace_based_edit_tool")
    page.locator("main a[href^='/console/notes/specs/multiply-']").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Multiply")


def test_a_failed_run_is_resumed_from_its_page_until_it_succeeds(tab: Watched, console: Console) -> None:
    title = f"Later {uuid.uuid4().hex[:8]}"
    run_id = console.start(f"specs/{title.lower().replace(' ', '-')}")  # the note does not exist yet
    console.wait(run_id, {"error"})
    page = tab.page
    page.goto(f"/console/runs/{run_id}")
    expect(page.locator("#run-status")).to_have_text("error")
    failed = page.locator("table.timeline tr.step-failed")
    expect(failed).to_contain_text("read_spec")
    traceback = failed.locator("details pre")
    expect(traceback).to_be_hidden()
    failed.locator("summary", has_text="Traceback").click()
    expect(traceback).to_contain_text("Traceback (most recent call last)")
    console.basic_memory.write_spec(title, scenarios.spec_note(title))
    confirm(tab, "Resume…")
    expect(page.locator("#action-result")).to_contain_text("Resumed")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=WAIT_MS)
    expect(page.locator("table.timeline tr.step-failed")).to_have_count(0)


def test_a_running_run_is_cancelled_from_its_page(tab: Watched, console: Console) -> None:
    run_id = console.start(console.new_spec(SLOW))
    page = tab.page
    page.goto(f"/console/runs/{run_id}")
    deadline = time.monotonic() + WAIT_MS / 1000
    while not any(entry["conversation"] == "verdict-slow" for entry in console.model.requests()):
        assert time.monotonic() < deadline, "the run never reached its slow validation"
        page.wait_for_timeout(100)
    expect(page.locator("#run-status")).to_have_text("running")  # and stays so for 30 s
    confirm(tab, "Cancel run…")
    expect(page.locator("#action-result")).to_contain_text("Cancelled")
    expect(page.locator("#run-status")).to_have_text("cancelled", timeout=WAIT_MS)
    expect(page.locator("form[data-action=resume]")).to_be_visible()


def test_a_run_is_forked_from_implement_with_an_override(tab: Watched, succeeded_run: str) -> None:
    page = tab.page
    page.goto(f"/console/runs/{succeeded_run}")
    page.get_by_text("Fork from a phase").click()
    expect(page.get_by_label("From phase")).to_have_value("implement")
    page.get_by_label("Iterations (optional)").fill("2")
    confirm(tab, "Fork…")
    expect(page.locator("#action-result")).to_contain_text("Forked as run")
    page.locator("#action-result a").click()
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=WAIT_MS)
    expect(page.locator(".facts").get_by_role("link", name=succeeded_run)).to_be_visible()
    expect(page.locator("table.timeline tr.reused").first).to_be_visible()


def test_a_plan_is_shown_and_approved_from_the_run_page(tab: Watched, console: Console) -> None:
    run_id = console.start(console.new_spec(PLANNED), approval="plan")
    page = tab.page
    page.goto("/?status=awaiting_approval")
    row = page.locator(f'tr[data-run="{run_id}"]')
    expect(row.locator(".status")).to_have_text("awaiting_approval", timeout=WAIT_MS)
    row.get_by_role("link").click()
    expect(page.locator("#run-status")).to_have_text("awaiting_approval")
    plan = page.locator("section#plan")
    task = plan.locator(".plan-tasks li")
    expect(task).to_have_count(1)
    expect(task).to_contain_text(scenarios.PLAN_TASK)
    expect(task).to_contain_text("Serves: `calc.multiply(a, b)` returns the product of a and b")
    expect(plan.locator(".unserved li")).to_contain_text("tests/test_multiply.py")
    expect(page.locator("form[data-action=cancel]")).to_be_visible()
    confirm(tab, "Approve…")
    expect(page.locator("#action-result")).to_contain_text("Approved")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=WAIT_MS)
    expect(page.locator("form[data-action=approve]")).to_be_hidden()
    expect(page.locator("table.criteria tr", has_text=f"Plan task: {scenarios.PLAN_TASK}")).to_contain_text("met")
