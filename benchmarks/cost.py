"""Tokens and dollars of a scripted 30-turn implement session, prompt caching on and off.

The real anthropic SDK talks to the loopback Messages API server, which accounts prompt
caching the way the API documents it (prefix hits within the TTL, a minimum cacheable
length). Prices: specmill's default table for the playbook's model.

Run: .venv/bin/python benchmarks/cost.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import anthropic
from _common import machine, table  # noqa: I001

from specmill import runtime
from specmill.adapters.anthropic_model import AnthropicModel
from specmill.adapters.git_worktree import GitWorktreeWorkspace
from specmill.adapters.pytest_runner import SubprocessTestRunner
from specmill.config import Settings
from specmill.container import Container
from specmill.models import RunRequest
from specmill.ports.repo_analysis import FixedRepoAnalyzer
from specmill.ports.spec_store import MemorySpecStore
from specmill.replay.server import MessagesServer
from tests import cost_scenarios, scenarios
from tests.fixtures.git_repos import CALC_FILES, init_repo


def session(caching: bool, tmp: Path) -> list[object]:
    store = MemorySpecStore()
    store.write_note("specs", scenarios.SPEC_TITLE, "specs", scenarios.SPEC)
    settings = Settings(data_dir=tmp / "data", project="specs", executor_id="bench", prompt_caching=caching)
    with MessagesServer(cost_scenarios.thirty_turns()) as server:
        model = AnthropicModel(anthropic.Anthropic(base_url=server.base_url, api_key="bench", max_retries=0))
        container = Container(
            settings,
            store,
            model,
            GitWorktreeWorkspace(settings.data_dir),
            SubprocessTestRunner(),
            FixedRepoAnalyzer(cost_scenarios.long_brief()),
            note_index=store,
        )
        runtime.launch(settings, container)
        try:
            repo = init_repo(tmp / "repo", dict(CALC_FILES))
            result = runtime.start_run(RunRequest(spec="specs/multiply", repo=str(repo), project="specs"), "cost")
        finally:
            runtime.shutdown()
    phase = result.ledger.phases["implement"]
    u = phase.usage
    total_in = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens
    return [
        "on" if caching else "off",
        phase.calls,
        u.input_tokens,
        u.cache_read_input_tokens,
        u.cache_creation_input_tokens,
        u.output_tokens,
        f"{u.cache_read_input_tokens / total_in:.0%}",
        f"${phase.cost_usd:.4f}",
    ]


def main() -> None:
    rows = []
    for caching in (True, False):
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(session(caching, Path(tmp)))
    on, off = float(rows[0][-1][1:]), float(rows[1][-1][1:])
    print("30-turn implement session (29 tool calls), model claude-sonnet-5 at list prices")
    print(f"machine: {machine()}")
    print(table(["caching", "calls", "input", "cache read", "cache write", "output", "read share", "cost"], rows))
    print(f"cost with caching is {on / off:.0%} of the cost without")


if __name__ == "__main__":
    main()
