"""The catalogue of bad inputs: each entry, the clear answer it must get, and the proof that
nothing was lost or half-written. Entries tested elsewhere are pointed to, and
`test_every_entry_of_the_catalogue_has_a_test` keeps those pointers honest."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from specmill import runtime
from specmill.errors import BadInput, BasicMemoryUnavailable, UnknownRef
from specmill.models import ModelRequest, ModelTurn, ToolOutcome
from specmill.names import branch_name
from specmill.ports.model import ScriptedModel
from specmill.replay.scripts import Script
from tests import scenarios
from tests.fixtures.git_repos import git
from tests.safety_support import EDITOR, start, step_outputs, text, tool, tool_results

CATALOGUE: dict[str, list[str]] = {
    "malformed spec note": [
        "tests.test_safety_bad_inputs::test_a_spec_note_with_broken_frontmatter",
        "tests.test_cli_bad_input::test_a_spec_without_criteria_is_refused_and_left_untouched",
    ],
    "huge note": ["tests.test_safety_bad_inputs::test_a_huge_spec_note"],
    "binary file in the repository": [
        "tests.test_safety_bad_inputs::test_a_binary_file_the_model_views",
        "tests.test_file_tools::test_binary_files_are_refused",
    ],
    "malformed tool input": [
        "tests.test_safety_bad_inputs::test_tool_input_that_is_not_an_object",
        "tests.test_workflow::test_tool_misuse_gets_readable_tool_errors_and_the_run_goes_on",
        "tests.test_file_tools::test_malformed_input_says_what_is_expected",
    ],
    "unknown tool name": ["tests.test_workflow::test_tool_misuse_gets_readable_tool_errors_and_the_run_goes_on"],
    "test command forks a process that never exits": [
        "tests.test_workflow_failures::test_a_test_command_that_hangs_is_killed_and_the_run_fails_with_the_reason",
        "tests.test_pytest_runner::test_a_hang_with_a_forked_child_is_killed_with_the_child",
        "tests.test_safety_sandbox::test_a_child_that_leaves_the_process_group_is_still_stopped",
    ],
    "test writes gigabytes of output": [
        "tests.test_safety_bad_inputs::test_a_test_that_floods_its_output",
        "tests.test_safety_sandbox::test_a_flood_of_output_is_stopped_and_only_its_tail_kept",
        "tests.test_safety_sandbox::test_a_flood_inside_pytest_capture_hits_the_file_size_limit",
    ],
    "base ref vanished mid-run": [
        "tests.test_safety_bad_inputs::test_branch_worktree_and_base_ref_deleted_mid_run",
        "tests.test_safety_bad_inputs::test_the_run_commits_garbage_collected_mid_run",
    ],
    "Basic Memory dies mid-run": ["tests.test_safety_bad_inputs::test_basic_memory_dies_mid_run"],
}


def test_every_entry_of_the_catalogue_has_a_test() -> None:
    for entry, tests in CATALOGUE.items():
        assert tests, entry
        for ref in tests:
            module, name = ref.split("::")
            assert callable(getattr(importlib.import_module(module), name, None)), f"{entry}: {ref} is gone"


def _after(calls: int, sabotage: Any, script: dict[str, Any]) -> ScriptedModel:
    """The scripted session, with `sabotage()` done during model call number `calls`, i.e.
    between two steps of the run."""
    inner = ScriptedModel(Script.load(script))
    count = {"n": 0}

    def respond(request: ModelRequest) -> ModelTurn:
        count["n"] += 1
        if count["n"] == calls:
            sabotage()
        return inner.complete(request)

    return ScriptedModel(respond)


def _status_sections(note: str) -> int:
    return note.count("## Implementation Status")


def test_a_spec_note_with_broken_frontmatter(world) -> None:
    world.store.write_note(
        "specs", "Broken", "specs", "---\ntitle: [unclosed\n---\n\n## How to Evaluate\n- [ ] works\n"
    )
    before = world.store.content("specs", "specs/broken")
    with pytest.raises(
        BadInput, match=r"spec 'Broken' has malformed YAML frontmatter .*fix the block between the '---' lines"
    ):
        world(scenarios.succeeds_first_time(), spec="specs/broken")
    assert world.store.content("specs", "specs/broken") == before and world.store.writes == 0


def test_a_huge_spec_note(world) -> None:
    huge = scenarios.SPEC + "\n## Background\n" + ("All the history of multiplication. " * 10_000)
    world.store.write_note("specs", "Huge", "specs", huge)
    with pytest.raises(BadInput, match=r"spec 'Huge' is [\d,]+ bytes, over the 262,144-byte limit .*linked notes"):
        world(scenarios.succeeds_first_time(), spec="specs/huge")
    assert world.store.content("specs", "specs/huge") == huge and world.store.writes == 0
    assert [s["function_name"] for s in DBOS.list_workflow_steps("wf-run-1")] == ["load_playbook", "read_spec"]


def test_a_binary_file_the_model_views(world) -> None:
    (world.repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)))
    git(world.repo, "add", "logo.png")
    git(world.repo, "commit", "--quiet", "-m", "logo")
    script = scenarios.succeeds_first_time()
    script["conversations"][0]["turns"].insert(0, {"content": [tool(EDITOR, command="view", path="logo.png")]})
    result, model = world(script)
    first = tool_results(model)[0]
    assert first["is_error"] and "logo.png is a binary file; this tool works on text files only" in first["content"]
    assert result.status == "succeeded"
    assert git(world.repo, "rev-parse", f"{result.head_commit}:logo.png") == git(
        world.repo, "rev-parse", "main:logo.png"
    )


class _NonObjectInput(ScriptedModel):
    """The first reply asks for a tool with input that is a string, not a JSON object."""

    def __init__(self) -> None:
        super().__init__(Script.load(scenarios.succeeds_first_time()))
        self.calls = 0

    def complete(self, request: ModelRequest) -> ModelTurn:
        self.calls += 1
        if self.calls == 1:
            self.requests.append(request)
            block = {"type": "tool_use", "id": "toolu_bad", "name": EDITOR, "input": "view calc/__init__.py"}
            return ModelTurn(content=[block], stop_reason="tool_use")
        return super().complete(request)


def test_tool_input_that_is_not_an_object(world) -> None:
    result, model = world(_NonObjectInput())
    bad = tool_results(model)[0]
    assert bad["is_error"] and bad["content"] == "tool input must be a JSON object, got str"
    assert result.status == "succeeded"


# Straight to the runner's output, past pytest's capture (as `-s` would, which a selection may not say):
# pytest keeps the original stdout open on another descriptor, the one that leads to the output log.
FLOOD_TEST = """import os


def test_flood():
    out = next(int(fd) for fd in os.listdir("/proc/self/fd") if os.readlink(f"/proc/self/fd/{fd}").endswith(".log"))
    while True:
        os.write(out, b"flood " * 20000)
"""


def test_a_test_that_floods_its_output(calc_repo, launch_runtime, tmp_path) -> None:
    from specmill.ports.spec_store import MemorySpecStore

    store = MemorySpecStore()
    store.write_note("specs", scenarios.SPEC_TITLE, "specs", scenarios.SPEC)
    turns = [
        {"content": [tool(EDITOR, command="create", path="tests/test_flood.py", file_text=FLOOD_TEST)]},
        {"content": [tool("run_tests", selection="tests/test_flood.py")]},
        {"content": [text("It floods.")]},
    ]
    script = {
        "conversations": [
            scenarios.conversation("implement-1", 1, turns),
            scenarios.conversation("verdict-1", 1, [scenarios.verdict(False, False)], forced="record_verdict"),
        ]
    }
    started = time.monotonic()
    result, _, _ = start(
        launch_runtime,
        tmp_path / "data",
        calc_repo,
        store,
        script,
        run_id="flood",
        max_iterations=1,
        settings={"test_output_mb": 4, "test_file_size_mb": 16},
    )
    assert time.monotonic() - started < 45
    flooded = next(
        o.test_report for o in step_outputs("flood", "implement.tool") if isinstance(o, ToolOutcome) and o.test_report
    )
    assert flooded.failures[0].test == "<output>" and "more than 4 MiB of output" in flooded.failures[0].message
    assert len(flooded.output_tail) < 21_000
    final = step_outputs("flood", "run_tests")[0]  # captured by pytest until the 16 MiB file-size limit...
    assert not final.ok and not final.timed_out  # ...then pytest prints what it captured: the output cap again
    assert final.failures[0].test == "<output>" or "File too large" in final.failures[0].message
    assert result.status == "failed" and "more than 4 MiB of output" in result.reason
    note = store.content("specs", "specs/multiply")
    assert _status_sections(note) == 1 and "status: needs-attention" in note


def _worktree(world: Any, run_id: str) -> Path:
    return world.tmp_path / "data" / "worktrees" / run_id


def test_branch_worktree_and_base_ref_deleted_mid_run(world) -> None:
    repo = world.repo

    def vanish() -> None:
        shutil.rmtree(_worktree(world, "vanish"))
        git(repo, "worktree", "prune")
        git(repo, "branch", "-D", branch_name("specs/multiply", "vanish"))
        git(repo, "checkout", "--quiet", "--detach")
        git(repo, "branch", "-D", "main")

    result, _ = world(_after(3, vanish, scenarios.succeeds_first_time()), run_id="vanish", base="main")
    assert result.status == "succeeded"
    assert "main" not in git(repo, "branch", "--list", "main")
    assert git(repo, "rev-parse", result.branch) == result.head_commit  # recreated from the recorded commits
    assert "return a * b" in git(repo, "show", f"{result.head_commit}:calc/__init__.py")
    note = world.store.content("specs", "specs/multiply")
    assert _status_sections(note) == 1 and "status: implemented" in note


def test_the_run_commits_garbage_collected_mid_run(world) -> None:
    repo = world.repo

    def destroy() -> None:
        shutil.rmtree(_worktree(world, "gone"))
        git(repo, "worktree", "prune")
        git(repo, "branch", "-D", branch_name("specs/multiply", "gone"))
        git(repo, "reflog", "expire", "--expire=now", "--all")
        git(repo, "gc", "--quiet", "--prune=now")

    with pytest.raises(
        UnknownRef, match=r"is not a commit in .*the run's commits are not in this repository \(was it re-cloned\?\)"
    ):
        world(_after(3, destroy, scenarios.succeeds_first_time()), run_id="gone")
    failed = [s for s in DBOS.list_workflow_steps("gone") if s["error"] is not None]
    assert [s["function_name"] for s in failed] == ["implement.tool"]
    note = world.store.content("specs", "specs/multiply")
    assert _status_sections(note) == 1 and "status: in-progress" in note  # the last status written, whole


def _basic_memory_servers(executable: Path) -> list[int]:
    """Basic Memory stdio MCP servers this process started (not the session's shared HTTP server)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if (
            ppid == os.getpid()
            and b"mcp" in cmdline
            and b"streamable-http" not in cmdline
            and any(str(executable).encode() in a for a in cmdline)
        ):
            found.append(int(entry.name))
    return found


@pytest.mark.basic_memory
def test_basic_memory_dies_mid_run(basic_memory, calc_repo, launch_runtime, tmp_path) -> None:
    store, transport = basic_memory.store, basic_memory.client.transport
    note = basic_memory.write_spec("Multiply dying", scenarios.spec_note("Multiply dying"))
    command = transport.command

    def kill_and_break() -> None:
        servers = _basic_memory_servers(basic_memory.executable)
        assert servers, "no Basic Memory server to kill"
        for pid in servers:
            os.kill(pid, signal.SIGKILL)
        transport.command = f"{tmp_path / 'basic-memory-is-gone'} mcp"  # and it cannot come back for now

    model = _after(3, kill_and_break, scenarios.succeeds_first_time())
    try:
        assert basic_memory.project == "specs"
        with pytest.raises(BasicMemoryUnavailable) as failure:
            start(launch_runtime, tmp_path / "data", calc_repo, store, model, run_id="bm-dies", spec=note.permalink)
        assert "basic-memory-is-gone" in str(failure.value) and "SPECMILL_BASIC_MEMORY_COMMAND" in str(failure.value)
    finally:
        transport.command = command
    paid = len(model.requests)
    assert runtime.continue_run("bm-dies").status == "succeeded"  # a fresh server is started for the rest
    assert len(model.requests) == paid + 1  # only the verdict was left; no implement call was paid twice
    text_now = store.read_note(note.permalink, basic_memory.project).content
    assert _status_sections(text_now) == 1 and "status: implemented" in text_now
