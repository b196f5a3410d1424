"""A spec note edited on disk is swept as edited, before Basic Memory's index catches up; one Basic
Memory just wrote is read as written, before its file is.

Basic Memory 0.24.1 answers from its index for a while after a note file changes on disk (about a
second with its watcher running, 9-12 s for a server that starts after the edit), through every
tool. The edit here is followed at once by a dry-run sweep in this process (the session's stdio
server) and by `specmill sweep --dry-run` in its own process (the session's HTTP server).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest

from specmill.adapters.git_worktree import GitWorktreeWorkspace
from specmill.adapters.pytest_runner import SubprocessTestRunner
from specmill.container import Container
from specmill.models import PatternBrief
from specmill.ports.model import ScriptedModel
from specmill.ports.repo_analysis import FixedRepoAnalyzer
from specmill.replay.scripts import Script
from specmill.sweep import workflow as sweeps
from specmill.sweep.models import SweepRequest
from tests import scenarios
from tests.fixtures.basic_memory import BasicMemoryInstance
from tests.fixtures.cli import specmill
from tests.fixtures.runtime import make_settings

pytestmark = pytest.mark.basic_memory


def test_a_sweep_right_after_a_note_file_is_edited_on_disk_sees_the_edit(
    basic_memory: BasicMemoryInstance, calc_repo: Path, tmp_path: Path
) -> None:
    title = f"Disk edit {uuid.uuid4().hex[:8]}"
    body = f"# {title}\n\n## What\nMultiply.\n\n## How to Evaluate\n- [ ] multiply works\n"
    written = basic_memory.write_spec(title, f"---\ntype: spec\nstatus: draft\nrepo: {calc_repo}\n---\n\n{body}")
    [file] = basic_memory.project_dir.rglob(f"{title}.md")
    assert "status: draft" in file.read_text()
    settings = make_settings(tmp_path / "data", project=basic_memory.project)
    container = Container(
        settings,
        basic_memory.store,
        ScriptedModel(Script.load(scenarios.succeeds_first_time())),
        GitWorktreeWorkspace(settings.data_dir),
        SubprocessTestRunner(),
        FixedRepoAnalyzer(PatternBrief(markdown="calc", tokens=1, budget=4000)),
        note_index=basic_memory.index,
    )

    file.write_text(file.read_text().replace("status: draft", "status: ready"))
    swept = sweeps.dry_run(settings, container, SweepRequest(project=basic_memory.project))
    assert written.permalink in [c.permalink for c in swept.enqueued]

    env = {**basic_memory.specmill_env(), "SPECMILL_DATA_DIR": str(tmp_path / "data")}
    env.pop("DBOS_SYSTEM_DATABASE_URL", None)
    proc = specmill(["sweep", "--dry-run", "--json"], env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    printed = {c["permalink"]: c for c in json.loads(proc.stdout)["enqueued"]}
    assert printed[written.permalink]["run_id"] == next(
        c.run_id for c in swept.enqueued if c.permalink == written.permalink
    )  # the same version of the spec, so the same run id

    spec = basic_memory.store.read_note(written.permalink, basic_memory.project)
    assert "status: ready" in spec.content  # what a run of it reads as its spec


def test_a_read_right_after_basic_memory_writes_a_note_returns_what_it_wrote(basic_memory: BasicMemoryInstance) -> None:
    """The other way round: Basic Memory writes the file a moment (up to ~1 s measured) after it accepted
    an edit, so for that moment the file holds the older text with its older mtime, and the index is
    right. That moment is made here by putting the old file back as it was, mtime included."""
    title = f"Write behind {uuid.uuid4().hex[:8]}"
    note = basic_memory.write_spec(title, f"---\ntype: spec\nstatus: draft\n---\n\n# {title}\n")
    [file] = basic_memory.project_dir.rglob(f"{title}.md")
    before = _settled(file, note.content)
    changed = before.stat().st_mtime

    basic_memory.store.replace_note(note, note.content.replace("status: draft", "status: ready"))
    _settled(file, note.content.replace("status: draft", "status: ready"))
    file.write_text(note.content)
    os.utime(file, (changed, changed))
    read = basic_memory.store.read_note(note.permalink, basic_memory.project)
    assert "status: ready" in read.content


def _settled(file: Path, text: str) -> Path:
    """The file, once Basic Memory has written `text` into it."""
    deadline = time.monotonic() + 30
    while file.read_text() != text:
        assert time.monotonic() < deadline, f"Basic Memory never wrote {file.name}"
        time.sleep(0.05)
    return file
