"""Helpers of the safety tests: a whole run in this process with chosen ports, and everything a
run leaves behind (databases decoded, the spec note, logs, events) as one searchable text."""

from __future__ import annotations

import base64
import binascii
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from dbos import DBOS

from specmill import runtime
from specmill.adapters.git_worktree import GitWorktreeWorkspace
from specmill.adapters.pytest_runner import SubprocessTestRunner
from specmill.container import Container
from specmill.models import PatternBrief, RunRequest, RunResult
from specmill.ports import SpecStore, TestRunner
from specmill.ports.model import ScriptedModel
from specmill.ports.repo_analysis import FixedRepoAnalyzer
from specmill.ports.spec_store import MemorySpecStore
from specmill.replay.scripts import Script
from tests.fixtures.runtime import make_settings

BRIEF = PatternBrief(markdown="calc is a flat package; tests live in tests/.", tokens=12, budget=4000)
EDITOR = "str_replace_based_edit_tool"


def tool(name: str, **tool_input: Any) -> dict[str, Any]:
    return {"type": "tool_use", "name": name, "input": tool_input}


def text(words: str) -> dict[str, Any]:
    return {"type": "text", "text": words}


def start(
    launch_runtime: Callable[..., object],
    data_dir: Path,
    repo: Path,
    store: SpecStore,
    script: Any,
    *,
    run_id: str = "safety-run",
    spec: str = "specs/multiply",
    database_url: str | None = None,
    runner: TestRunner | None = None,
    brief: PatternBrief = BRIEF,
    settings: dict[str, Any] | None = None,
    **request: Any,
) -> tuple[RunResult, ScriptedModel, Container]:
    """Launch specmill in this process with these ports and run one spec to its end."""
    model = script if hasattr(script, "complete") else ScriptedModel(Script.load(script))
    config = make_settings(data_dir, database_url, **(settings or {}))
    container = Container(
        config,
        store,
        model,
        GitWorktreeWorkspace(config.data_dir),
        runner or SubprocessTestRunner.from_settings(config),
        FixedRepoAnalyzer(brief),
        note_index=MemorySpecStore(),
    )  # a run never lists notes
    launch_runtime(config, container)
    result = runtime.start_run(RunRequest(spec=spec, repo=str(repo), project="specs", **request), run_id)
    return result, model, container


def tool_results(model: ScriptedModel) -> list[dict[str, Any]]:
    """Every tool_result block the model was sent, first to last, without repeats."""
    seen: dict[str, dict[str, Any]] = {}
    for request in model.requests:
        for message in request.messages:
            if message["role"] != "user" or not isinstance(message["content"], list):
                continue
            for block in message["content"]:
                if block.get("type") == "tool_result":
                    seen.setdefault(block["tool_use_id"], block)
    return list(seen.values())


def step_outputs(run_id: str, name: str) -> list[Any]:
    return [s["output"] for s in DBOS.list_workflow_steps(run_id) if s["function_name"] == name]


def _decoded(value: Any) -> str:
    """A cell as text, plus its base64-decoded bytes: DBOS stores pickles as base64, where a
    secret would not show up in a plain search."""
    if value is None:
        return ""
    raw = value if isinstance(value, (bytes, memoryview)) else str(value).encode("utf-8", "replace")
    parts = [bytes(raw).decode("latin-1")]
    stripped = bytes(raw).strip()
    if len(stripped) >= 8:
        try:
            parts.append(base64.b64decode(stripped, validate=True).decode("latin-1"))
        except (binascii.Error, ValueError):
            pass
    return "\n".join(parts)


def sqlite_dump(path: Path) -> tuple[str, list[str]]:
    """Every cell of every table, decoded, plus the raw bytes of the file and its WAL; and the tables."""
    chunks = [p.read_bytes().decode("latin-1") for p in (path, Path(f"{path}-wal")) if p.exists()]
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                chunks.extend(_decoded(cell) for cell in row)
    return "\n".join(chunks), tables


def postgres_dump(url: str) -> tuple[str, list[str]]:
    """Every cell of every table in every schema, decoded; and the tables it read."""
    chunks: list[str] = []
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            for row in conn.execute(f'SELECT * FROM "{schema}"."{table}"'):
                chunks.extend(_decoded(cell) for cell in row)
    return "\n".join(chunks), [f"{schema}.{table}" for schema, table in tables]
