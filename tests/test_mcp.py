"""specmill as an MCP server, through the real `mcp` client SDK: `specmill mcp` over stdio and
`specmill serve`'s `/mcp` over streamable HTTP, each on SQLite and PostgreSQL, with the real Basic
Memory, real git and pytest, and the real anthropic SDK against the scripted Messages server.
One server per transport and database serves every test of this module."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from specmill.replay.request_log import completed_counts
from specmill.replay.server import MessagesServer
from tests import scenarios
from tests.fixtures.api import start_server, stop_server
from tests.fixtures.git_repos import CALC_FILES, git, init_repo
from tests.fixtures.mcp import McpClient, connect, http_session, mcp_env, new_spec, stdio_session, text_of
from tests.fixtures.runtime import fresh_postgres_database

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]

TOKEN = "mcp-s3cret"
TOOLS = {
    "start_run",
    "get_run",
    "list_runs",
    "get_diff",
    "wait_run",
    "resume_run",
    "fork_run",
    "cancel_run",
    "approve_run",
    "reject_run",
    "sweep",
}
PLANNED = "Planned multiply"


def script() -> dict[str, object]:
    """Every run succeeds first time; a run with a plan (a spec titled `Planned multiply ...`) leaves
    a criterion unserved by its plan and is judged with the plan's task."""
    planned = {
        "name": "verdict-planned",
        "match": {"first_user_contains": PLANNED, "tool_choice": "record_verdict"},
        "turns": [scenarios.verdict_with_tasks(True, True)],
    }
    plain = scenarios.succeeds_first_time()
    return {"conversations": [scenarios.plan(1, serves_all=False), planned, *plain["conversations"]]}


@dataclass
class Served:
    client: McpClient
    transport: str
    model: MessagesServer
    repo: Path
    base_url: str | None


# Both transports and both databases, paired to keep the suite lean: each pair starts its own server.
@pytest.fixture(scope="module", params=["stdio-sqlite", "http-postgres"])
def served(request: pytest.FixtureRequest, basic_memory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    transport, database = request.param.split("-")
    root = tmp_path_factory.mktemp(request.param)
    model = MessagesServer(script())
    model.start()
    with ExitStack() as stack:
        stack.callback(model.stop)
        url = stack.enter_context(fresh_postgres_database()) if database == "postgres" else None
        env = mcp_env(basic_memory, root / "data", model.base_url, url)
        base_url = None
        if transport == "stdio":
            client = stack.enter_context(connect(stdio_session(env, root / "mcp.stderr")))
        else:
            server = start_server({**env, "SPECMILL_API_TOKENS": TOKEN}, root)
            stack.callback(stop_server, server)
            base_url = server.base_url
            client = stack.enter_context(connect(http_session(f"{base_url}/mcp", TOKEN)))
        yield Served(client, transport, model, init_repo(root / "calc", CALC_FILES, "calc: add"), base_url)


def test_lists_its_tools_with_input_and_output_schemas_and_its_resources(served: Served) -> None:
    tools = served.client.tools()
    assert set(tools) == TOOLS
    start = tools["start_run"]
    assert start.input_schema["required"] == ["spec"]  # the repo and playbook may come from the spec's frontmatter
    assert {"repo", "project", "playbook", "base", "max_iterations", "budget_usd", "approval"} <= set(
        start.input_schema["properties"]
    )
    assert tools["reject_run"].input_schema["required"] == ["run_id", "comment"]
    assert {"answer", "already", "message"} <= set(tools["approve_run"].output_schema["properties"])
    assert "run_id" in start.output_schema["properties"]
    assert {"status", "criteria", "tests", "execution"} <= set(tools["get_run"].output_schema["properties"])
    assert served.client.templates() == {"specmill://runs/{run_id}", "specmill://runs/{run_id}/diff"}


def test_starts_a_run_waits_for_it_and_reads_its_diff(served: Served, basic_memory) -> None:
    spec = new_spec(basic_memory, f"repo: {served.repo}")
    started = served.client.call("start_run", spec=spec)  # the repository the spec's frontmatter names
    assert not started.is_error, text_of(started)
    run_id = started.structured_content["run_id"]
    assert started.structured_content["status"] in ("queued", "running")

    progress: list[tuple[float, str]] = []
    waited = served.client.call("wait_run", progress, run_id=run_id, timeout_s=180)
    assert not waited.is_error, text_of(waited)
    run = waited.structured_content
    assert run["status"] == "succeeded", text_of(waited)
    assert run["repo"] == str(served.repo.resolve())
    assert run["tests"]["passed"] == 2 and run["tests"]["failed"] == 0
    assert run["criteria"] and all(c["met"] and c["evidence"] for c in run["criteria"])
    assert git(served.repo, "rev-parse", run["branch"]) == run["head_commit"]
    assert run["execution"]["executor_id"] and run["cost_usd"] > 0
    assert f"run {run_id} is succeeded" in text_of(waited)
    values = [value for value, _ in progress]
    assert values and values == sorted(values) and any("run_tests" in message for _, message in progress)

    diff = served.client.call("get_diff", run_id=run_id)
    assert "+def multiply(a: int, b: int) -> int:" in diff.structured_content["diff"]
    assert not diff.structured_content["truncated"] and "+def multiply" in text_of(diff)
    assert "+def multiply" in served.client.read(f"specmill://runs/{run_id}/diff")
    assert json.loads(served.client.read(f"specmill://runs/{run_id}"))["status"] == "succeeded"

    listed = served.client.call("list_runs", spec=spec)
    assert [r["run_id"] for r in listed.structured_content["runs"]] == [run_id]
    assert run_id in text_of(listed)
    assert max(completed_counts(served.model.wait_settled()).values()) == 1


def test_bad_requests_are_tool_errors_that_say_what_to_fix(served: Served, basic_memory, tmp_path: Path) -> None:
    plain = tmp_path / "not-a-repo"
    plain.mkdir()
    missing = f"specs/no-such-{uuid.uuid4().hex[:6]}"
    cases = [
        ("start_run", {"spec": new_spec(basic_memory), "repo": str(plain)}, "is not a git repository"),
        ("start_run", {"spec": missing, "repo": str(served.repo)}, f"spec note '{missing}' not found"),
        ("start_run", {"spec": missing}, f"spec note '{missing}' not found"),
        ("start_run", {"spec": new_spec(basic_memory)}, "pass repo, or add 'repo: PATH' to the spec's frontmatter"),
        ("start_run", {"spec": "x", "repo": str(served.repo), "playbook": "../evil.md"}, "is a path"),
        ("get_run", {"run_id": "no-such-run"}, "no run 'no-such-run'"),
        ("wait_run", {"run_id": "no-such-run", "timeout_s": 1}, "no run 'no-such-run'"),
        ("get_diff", {"run_id": "no-such-run"}, "no run 'no-such-run'"),
        ("cancel_run", {"run_id": "no-such-run"}, "no run 'no-such-run'"),
        ("approve_run", {"run_id": "no-such-run"}, "no run 'no-such-run'"),
        ("reject_run", {"run_id": "no-such-run", "comment": "redo"}, "no run 'no-such-run'"),
        ("start_run", {"spec": "x", "repo": str(served.repo), "max_iterations": 0}, "max_iterations"),
    ]
    for tool, arguments, expected in cases:
        answer = served.client.call(tool, **arguments)
        assert answer.is_error and expected in text_of(answer), (tool, arguments, text_of(answer))


def test_a_plan_waits_for_approve_run_and_the_run_goes_on(served: Served, basic_memory) -> None:
    title = f"{PLANNED} {uuid.uuid4().hex[:8]}"
    spec = basic_memory.write_spec(title, scenarios.spec_note(title), folder="mcp").permalink
    run_id = served.client.call("start_run", spec=spec, repo=str(served.repo), approval="plan").structured_content[
        "run_id"
    ]
    waiting = served.client.call("wait_run", run_id=run_id, timeout_s=180)
    assert waiting.structured_content["status"] == "awaiting_approval", text_of(waiting)
    plan = waiting.structured_content["plan"]
    assert [t["title"] for t in plan["tasks"]] == [scenarios.PLAN_TASK] and len(plan["unserved"]) == 1
    assert f"no task serves: {plan['unserved'][0]}" in text_of(waiting) and "approve_run" in text_of(waiting)
    assert served.client.call("reject_run", run_id=run_id, comment="").is_error
    approved = served.client.call("approve_run", run_id=run_id, comment="go ahead")
    assert approved.structured_content["answer"] == "approve" and not approved.structured_content["already"]
    assert served.client.call("approve_run", run_id=run_id).structured_content["already"]
    done = served.client.call("wait_run", run_id=run_id, timeout_s=180).structured_content
    assert done["status"] == "succeeded" and done["criteria"][-1]["criterion"] == f"Plan task: {scenarios.PLAN_TASK}"
    late = served.client.call("reject_run", run_id=run_id, comment="too late")
    assert late.is_error and "is not waiting for a plan's approval" in text_of(late)


@pytest.mark.parametrize("served", ["http-postgres"], indirect=True)
def test_http_without_a_valid_token_is_refused(served: Served) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        answer = httpx.post(f"{served.base_url}/mcp", json=initialize, headers=headers, timeout=30)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"
