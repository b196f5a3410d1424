"""The MCP server's own rules, without a server: executor ids claimed by one live process at a time,
playbooks by name only, the diff cut short with a note, progress in a few words."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from specmill.api.schemas import RunDiff
from specmill.mcp_server.executor_claim import claim_executor_id
from specmill.mcp_server.results import playbook_name
from specmill.mcp_server.tools.get_diff import MAX_DIFF_CHARS, get_diff
from specmill.mcp_server.tools.wait_run import progress_message
from specmill.playbooks import available
from tests.fixtures.runtime import make_settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_two_live_claims_get_two_ids_and_a_released_id_is_claimed_again(tmp_path: Path) -> None:
    first = claim_executor_id(tmp_path, "mcp-host")
    second = claim_executor_id(tmp_path, "mcp-host")
    assert (first.executor_id, second.executor_id) == ("mcp-host", "mcp-host-2")
    first.release()
    third = claim_executor_id(tmp_path, "mcp-host")
    assert third.executor_id == "mcp-host"
    assert (tmp_path / "mcp-host.lock").read_text().strip() == str(os.getpid())
    second.release()
    third.release()


def test_a_killed_process_leaves_its_id_free(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; "
        "from specmill.mcp_server.executor_claim import claim_executor_id; "
        "claim_executor_id(Path(sys.argv[1]), 'mcp-host'); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        taken = claim_executor_id(tmp_path, "mcp-host")
        assert taken.executor_id == "mcp-host-2"
        taken.release()
    finally:
        holder.kill()
        holder.wait(10)
    freed = claim_executor_id(tmp_path, "mcp-host")
    assert freed.executor_id == "mcp-host"
    freed.release()


def test_playbooks_are_names_and_paths_are_refused(tmp_path: Path) -> None:
    runs = SimpleNamespace(settings=make_settings(tmp_path))
    assert playbook_name("python-developer", runs) == "python-developer"
    assert playbook_name(None, runs) is None
    for path in ("../evil.md", "/etc/agent", "agent.md", "..\\x", ".hidden"):
        with pytest.raises(ToolError, match="is a path: name one of the server's playbooks .*python-developer"):
            playbook_name(path, runs)


def test_the_agent_file_is_no_playbook() -> None:
    assert (REPO_ROOT / "examples" / "agents" / "implement-spec.md").is_file()
    assert "implement-spec" not in available()


def test_a_long_diff_is_cut_short_with_a_note_naming_the_whole_one() -> None:
    whole = "".join(f"+line {n}\n" for n in range(MAX_DIFF_CHARS // 5))

    class Runs:
        async def diff(self, run_id: str) -> RunDiff:
            return RunDiff(run_id=run_id, branch="specmill/x-1", base_commit="a" * 40, head_commit="b" * 40, diff=whole)

    ctx = SimpleNamespace(request_context=SimpleNamespace(lifespan_context=Runs()))
    answer = asyncio.run(get_diff("r1", ctx))
    view = answer.structured_content
    assert view["truncated"] and view["total_chars"] == len(whole) and view["diff"] == whole[:MAX_DIFF_CHARS]
    assert "read specmill://runs/r1/diff for the rest" in answer.content[0].text


def test_progress_reads_as_a_step_and_what_happened() -> None:
    event = {"kind": "step_finished", "step": "run_tests", "phase": "run_tests", "detail": "2 passed"}
    assert progress_message(event) == "run_tests step finished (2 passed)"
    assert progress_message({"kind": "run_finished", "phase": "", "detail": "succeeded"}) == "run finished (succeeded)"
