"""Sweeps against real Basic Memory over MCP and DBOS on PostgreSQL.

One project of thirty spec notes in mixed states (the messy kinds included) is written as
files and indexed once for the module; the tests then sweep it in order, each building on
the state the previous one left. The run queue is registered but not worked in this
process: what matters is which run ids were enqueued, and that each exists once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dbos import DBOS

from specmill import names, runtime
from specmill.adapters.git_worktree import GitWorktreeWorkspace
from specmill.adapters.pytest_runner import SubprocessTestRunner
from specmill.config import Settings
from specmill.container import Container
from specmill.durable import durable
from specmill.errors import BadInput
from specmill.models import PatternBrief, RunRequest
from specmill.ports.model import ScriptedModel
from specmill.ports.repo_analysis import FixedRepoAnalyzer
from specmill.replay.scripts import Script
from specmill.sweep import workflow as sweeps
from specmill.sweep.models import SweepRequest, SweepResult
from specmill.sweep.version import version_run_id
from tests import scenarios
from tests.fixtures.basic_memory import BasicMemoryInstance
from tests.fixtures.git_repos import CALC_FILES, init_repo
from tests.fixtures.runtime import fresh_postgres_database, make_settings

pytestmark = pytest.mark.basic_memory

BODY = "# {title}\n\n## What\n{what}\n\n## How to Evaluate\n- [ ] {title} works\n"


def note(front: str | None, title: str, what: str = "Something useful.", criteria: bool = True) -> str:
    body = BODY.format(title=title, what=what)
    if not criteria:
        body = body.replace("- [ ] ", "- ")
    return body if front is None else f"---\n{front.strip()}\ntitle: {title}\n---\n\n{body}"


# path -> (text, enqueued?, what the skip reason says). {calc} is the calc repository's path.
NOTES: dict[str, tuple[str, bool, str]] = {
    "specs/login.md": (note("type: spec\nstatus: ready\nrepo: calc", "Login"), True, ""),
    "specs/export.md": (note("type: spec\nstatus: approved\nrepo: {calc}", "Export"), True, ""),
    "specs/search.md": (note("Type: Spec\nstatus: ready\nrepo: calc", "Search"), True, ""),
    "specs/signup.md": (note("type: spec\nStatus: Ready\nrepo: calc", "Signup"), True, ""),
    "specs/audit.md": (note("type: SPEC\nstatus: READY\nREPO: calc", "Audit"), True, ""),
    "specs/spec-7-login.md": (note("type: spec\nstatus: ready\nrepo: calc", "SPEC-7 Login"), True, ""),
    "backlog/spec-7-login.md": (note("status: ready\nrepo: calc", "SPEC-7 Login", "The same number again."), True, ""),
    "specs/billing.md": (
        note("type: spec\nstatus: ready\nrepo: calc\npermalink: legacy/spec-42", "Billing Export"),
        True,
        "",
    ),
    "backlog/theme.md": (note("Status: approved\nRepo: calc", "Theme"), True, ""),
    "backlog/nested/deep.md": (note("status: ready\nrepo: calc", "Deep"), True, ""),
    "specs/tags.md": (note("type: spec\nstatus: ready\nrepo: calc", "Tags"), True, ""),
    "specs/cache.md": (note("type: spec\nstatus: ready\nrepo: calc", "Cache"), True, ""),
    "specs/quota.md": (note("type: spec\nstatus: ready\nrepo: calc", "Quota"), True, ""),
    "backlog/rough-idea.md": ("# Rough idea\n\nNo frontmatter at all.\n", False, "not marked ready"),
    "backlog/broken.md": ("---\ntype: spec\nstatus: ready\nrepo: [calc\n---\n\n# Broken\n", False, "unreadable YAML"),
    "backlog/later.md": (note("status: someday", "Later"), False, "not marked ready"),
    "specs/draft.md": (note("type: spec\nstatus: draft\nrepo: calc", "Draft"), False, "status 'draft'"),
    "specs/done.md": (note("type: spec\nstatus: implemented\nrepo: calc", "Done"), False, "not marked ready"),
    "specs/wip.md": (note("type: spec\nstatus: in-progress\nrepo: calc", "Wip"), False, "status 'in-progress'"),
    "specs/no-status.md": (note("type: spec\nrepo: calc", "No status"), False, "not marked ready: no status"),
    "specs/empty-status.md": (note("type: spec\nstatus:\nrepo: calc", "Empty status"), False, "not marked ready"),
    "specs/list-status.md": (
        note("type: spec\nstatus: [ready, draft]\nrepo: calc", "List status"),
        False,
        "is not one value",
    ),
    "specs/rejected.md": (note("type: spec\nstatus: rejected\nrepo: calc", "Rejected"), False, "not marked ready"),
    "specs/seven-draft.md": (
        note("type: spec\nstatus: draft", "SPEC-7 Login", "A third SPEC-7."),
        False,
        "not marked ready",
    ),
    "specs/no-repo.md": (note("type: spec\nstatus: ready", "No repo"), False, "no repository"),
    "specs/unknown-repo.md": (
        note("type: spec\nstatus: ready\nrepo: mobile", "Unknown repo"),
        False,
        "'repo: mobile' is",
    ),
    "specs/relative-repo.md": (
        note("type: spec\nstatus: ready\nrepo: ../calc", "Relative repo"),
        False,
        "which is not a directory",
    ),
    "specs/missing-repo.md": (
        note("type: spec\nstatus: ready\nrepo: /nonexistent/calc", "Missing repo"),
        False,
        "is not a directory",
    ),
    "specs/vague.md": (
        note("type: spec\nstatus: ready\nrepo: calc", "Vague", criteria=False),
        False,
        "no success criteria",
    ),
    # a relative repo: starts at SPECMILL_REPOS_DIR; a playbook: is a name the run loads
    "specs/own-choices.md": (
        note("type: spec\nstatus: ready\nrepo: ./{calc_name}\nplaybook: python-developer", "Own choices"),
        True,
        "",
    ),
    "specs/bad-playbook.md": (
        note("type: spec\nstatus: ready\nrepo: calc\nplaybook: no-such-playbook", "Bad playbook"),
        False,
        "unknown playbook 'no-such-playbook'",
    ),
    "specs/not-git.md": (note("type: spec\nstatus: ready\nrepo: {plain}", "Not git"), False, "is not a git repository"),
    # not specs: never counted, never reported
    "notes/meeting.md": (note("type: note\nstatus: ready\nrepo: calc", "Meeting"), False, ""),
    "notes/todo.md": ("# Todo\n\n- buy milk\n", False, ""),
}
SPEC_NOTES = 32


@dataclass
class World:
    bm: BasicMemoryInstance
    project: str
    settings: Settings
    container: Container
    calc: Path
    database: str
    swept_once: bool = False
    used_by: list[str] = field(default_factory=list)

    def permalink(self, path: str) -> str:
        return "legacy/spec-42" if path == "specs/billing.md" else f"{self.project}/{path.removesuffix('.md')}"

    def read(self, path: str) -> str:
        return self.bm.store.read_note(self.permalink(path), self.project).content

    def edit(self, path: str, old: str, new: str) -> None:
        current = self.bm.store.read_note(self.permalink(path), self.project)
        assert old in current.content, current.content
        self.bm.store.replace_note(current, current.content.replace(old, new, 1))

    def sweep(self, name: str) -> SweepResult:
        self.swept_once = True
        return sweeps.run_sweep(SweepRequest(project=self.project), f"{name}-{uuid.uuid4().hex[:6]}")

    def after_a_first_sweep(self) -> World:
        """The tests below tell one story over one world, but xdist may hand a later one to a worker
        whose world is new: there, the first sweep happens now."""
        if not self.swept_once:
            self.sweep("first")
        return self

    def enqueued_ids(self) -> dict[str, str]:
        """Run id -> DBOS status of every run workflow in the system database."""
        return {
            w.workflow_id: w.status
            for w in DBOS.list_workflows(name="specmill.run", load_input=False, load_output=False)
        }


def make_world(bm: BasicMemoryInstance, tmp: pytest.TempPathFactory, closing: ExitStack) -> World:
    """The project's notes written and indexed, a new system database, and DBOS launched on it."""
    calc = init_repo(tmp.mktemp("calc"), CALC_FILES)
    plain = tmp.mktemp("plain")
    project = f"sweeps-{uuid.uuid4().hex[:6]}"
    folder = bm.root / "projects" / project
    for path, (text, _, _) in NOTES.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            text.replace("{calc}", str(calc)).replace("{plain}", str(plain)).replace("{calc_name}", calc.name)
        )
    added = subprocess.run(
        [str(bm.executable), "project", "add", project, str(folder)],
        env=bm.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert added.returncode == 0, added.stderr or added.stdout

    database = closing.enter_context(fresh_postgres_database())
    settings = make_settings(
        tmp.mktemp("data"),
        database,
        project=project,
        sweep_folders="backlog",
        sweep_repos=f"calc={calc}",
        repos_dir=calc.parent,
        queue_polling_interval_s=0.1,
    )
    brief = PatternBrief(markdown="calc is a flat package; tests live in tests/.", tokens=12, budget=4000)
    container = Container(
        settings,
        bm.store,
        ScriptedModel(Script.load(scenarios.succeeds_first_time())),
        GitWorktreeWorkspace(settings.data_dir),
        SubprocessTestRunner(),
        FixedRepoAnalyzer(brief),
        note_index=bm.index,
    )
    runtime.launch(settings, container, executor_id="sweep-tests", queues=[names.SWEEP_QUEUE])
    closing.callback(runtime.shutdown)
    runtime.register_run_queue(settings)
    return World(bm, project, settings, container, calc, database)


class Worlds:
    """This worker's world. With `--dist worksteal` a worker may be handed a stolen block of earlier
    tests right after a later block of this module, its world kept: a test that opens the story then
    finds a world that later tests used, and gets a new one (which the tests after it go on with)."""

    def __init__(self, bm: BasicMemoryInstance, tmp: pytest.TempPathFactory) -> None:
        self.bm, self.tmp = bm, tmp
        self._make()

    def _make(self) -> None:
        self.closing = ExitStack()
        try:
            self.current = make_world(self.bm, self.tmp, self.closing)
        except BaseException:
            self.closing.close()
            raise

    def for_test(self, test: str, only_after: tuple[str, ...] | None = None) -> World:
        """The world `test` runs in; with `only_after`, one that no test but those has used."""
        if only_after is not None and not set(self.current.used_by) <= set(only_after):
            self.close()
            self._make()
        self.current.used_by.append(test)
        return self.current

    def close(self) -> None:
        self.closing.close()


@pytest.fixture(scope="module")
def worlds(basic_memory: BasicMemoryInstance, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worlds]:
    made = Worlds(basic_memory, tmp_path_factory)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def world(worlds: Worlds, request: pytest.FixtureRequest) -> World:
    return worlds.for_test(request.node.name)


@pytest.fixture
def untouched_world(worlds: Worlds, request: pytest.FixtureRequest) -> World:
    """A world no test has used yet: nothing swept, nothing edited, no run in its system database."""
    return worlds.for_test(request.node.name, only_after=())


@pytest.fixture
def world_after_the_first_sweep(worlds: Worlds, request: pytest.FixtureRequest) -> World:
    """A world where the first sweep happened and nothing since."""
    first = test_the_first_sweep_enqueues_exactly_the_ready_specs_with_a_repository.__name__
    return worlds.for_test(request.node.name, only_after=(first,)).after_a_first_sweep()


READY = sorted(path for path, (_, enqueued, _) in NOTES.items() if enqueued)


def test_the_first_sweep_enqueues_exactly_the_ready_specs_with_a_repository(untouched_world: World) -> None:
    world = untouched_world
    result = world.sweep("first")
    assert result.spec_notes == SPEC_NOTES and result.trigger == "manual" and not result.dry_run
    assert sorted(c.permalink for c in result.enqueued) == sorted(world.permalink(p) for p in READY)
    assert result.candidates == result.enqueued
    runs = world.enqueued_ids()
    assert sorted(runs) == sorted(c.run_id for c in result.enqueued) and set(runs.values()) == {"ENQUEUED"}
    by_permalink = {c.permalink: c for c in result.enqueued}
    assert by_permalink[world.permalink("specs/export.md")].repo == str(world.calc.resolve())
    assert by_permalink[world.permalink("specs/signup.md")].status == "Ready"
    own = by_permalink[world.permalink("specs/own-choices.md")]
    assert (own.repo, own.playbook) == (str(world.calc.resolve()), "python-developer")
    assert by_permalink[world.permalink("specs/login.md")].playbook is None
    for status in DBOS.list_workflows(name="specmill.run", load_input=True, load_output=False):
        request = status.input["args"][0]
        assert status.queue_name == names.RUN_QUEUE and status.queue_partition_key == names.partition_key(request.repo)
        assert request.spec == by_permalink[request.spec].permalink and request.project == world.project
        assert request.playbook == by_permalink[request.spec].playbook

    reasons = {s.permalink: s.reason for s in result.skipped}
    expected = {world.permalink(p): why for p, (_, enqueued, why) in NOTES.items() if not enqueued and why}
    assert set(reasons) == set(expected)
    for permalink, why in expected.items():
        assert why in reasons[permalink], (permalink, reasons[permalink])

    report = world.bm.store.read_note(result.report or "", world.project).content
    assert "type: sweep-report" in report and f"- Sweep: `{result.sweep_id}`" in report
    assert f"enqueued: {len(READY)}; skipped: {len(expected)}" in report
    assert all(f"`{c.run_id}`" in report for c in result.enqueued)
    assert f"| {world.permalink('specs/no-repo.md')} | no repository" in report


def test_a_second_sweep_enqueues_nothing_and_records_how_the_first_sweeps_runs_stand(
    world_after_the_first_sweep: World,
) -> None:
    world = world_after_the_first_sweep
    before = world.enqueued_ids()
    first = DBOS.list_workflows(name=sweeps.SWEEP_WORKFLOW, status="SUCCESS", load_output=True)[-1].output
    result = world.sweep("second")
    assert result.enqueued == [] and world.enqueued_ids() == before
    assert len(result.candidates) == len(READY)
    again = {s.permalink: s for s in result.skipped if s.run_id}
    assert sorted(again) == sorted(world.permalink(p) for p in READY)
    assert all("already queued as run" in s.reason for s in again.values())
    assert result.previous_sweep == first.sweep_id and {o.state for o in result.previous_runs} == {"queued"}
    first_report = world.bm.store.read_note(first.report, world.project).content
    assert first_report.count("## Final Status") == 1 and f"As sweep `{result.sweep_id}` found them" in first_report
    assert all(f"| `{c.run_id}` | {c.permalink} | queued |" in first_report for c in first.enqueued)
    assert "Nothing new to implement." in world.bm.store.read_note(result.report or "", world.project).content


def test_an_edited_spec_gets_a_new_run_and_what_specmill_writes_does_not(world: World) -> None:
    world.after_a_first_sweep()
    old = {s.permalink: s.run_id for s in world.sweep("before-edits").skipped if s.run_id}
    world.edit("specs/tags.md", "Something useful.", "Tags, with colours now.")
    world.edit("specs/login.md", "status: ready", "status: approved")  # a status is not a version
    quota = world.read("specs/quota.md")  # as if a run had written its section
    world.edit("specs/quota.md", quota, quota + "\n## Implementation Status\n\n- Run: `x`\n- Status: **ready**\n")
    result = world.sweep("after-edits")
    tags = world.permalink("specs/tags.md")
    assert [c.permalink for c in result.enqueued] == [tags] and result.enqueued[0].run_id != old[tags]
    assert result.superseded == [old[tags]]
    runs = world.enqueued_ids()
    assert runs[old[tags]] == "CANCELLED" and runs[result.enqueued[0].run_id] == "ENQUEUED"
    kept = {s.permalink: s.run_id for s in result.skipped if s.run_id}
    assert kept[world.permalink("specs/login.md")] == old[world.permalink("specs/login.md")]
    assert kept[world.permalink("specs/quota.md")] == old[world.permalink("specs/quota.md")]


def test_two_sweeps_at_once_enqueue_each_new_version_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.after_a_first_sweep()
    edited = ["specs/cache.md", "specs/audit.md", "backlog/theme.md"]
    for path in edited:
        world.edit(path, "Something useful.", f"Something useful, revised ({path}).")
    barrier = threading.Barrier(2, timeout=60)
    check = sweeps.run_outcomes

    def both_checked_before_either_enqueues(*, run_ids: list[str]) -> dict:
        outcomes = check(run_ids=run_ids)
        barrier.wait()
        return outcomes

    monkeypatch.setattr(sweeps, "check_runs", durable("sweep.check_runs", both_checked_before_either_enqueues))
    handles = []
    for name in ("scheduled", "manual"):
        from dbos import SetWorkflowID

        with SetWorkflowID(f"race-{name}-{uuid.uuid4().hex[:6]}"):
            handles.append(DBOS.start_workflow(sweeps.sweep, SweepRequest(project=world.project)))
    one, two = (h.get_result() for h in handles)
    wanted = sorted(world.permalink(p) for p in edited)
    assert sorted(c.permalink for c in one.enqueued + two.enqueued) == wanted
    assert {c.run_id for c in one.enqueued}.isdisjoint({c.run_id for c in two.enqueued})
    lost = [s for s in one.skipped + two.skipped if "started meanwhile" in s.reason]
    assert sorted(s.permalink for s in lost) == wanted  # each loser says who won
    runs = world.enqueued_ids()
    assert all(runs[c.run_id] == "ENQUEUED" for c in one.enqueued + two.enqueued)


def test_the_schedule_runs_the_same_sweep_when_triggered(world: World) -> None:
    world.after_a_first_sweep()
    world.edit("specs/spec-7-login.md", "Something useful.", "Seven, edited for the night.")
    runtime.apply_sweep_schedule(world.settings)
    schedule = DBOS.get_schedule(names.SWEEP_SCHEDULE)
    # UTC is left as DBOS's default (None)
    assert schedule is not None and schedule["schedule"] == "0 2 * * *" and schedule["cron_timezone"] is None
    assert schedule["queue_name"] == names.SWEEP_QUEUE and not schedule["automatic_backfill"]
    assert schedule["context"] == {"project": world.project}
    result = DBOS.trigger_schedule(names.SWEEP_SCHEDULE).get_result()
    assert result.trigger == "schedule" and result.project == world.project
    assert [c.permalink for c in result.enqueued] == [world.permalink("specs/spec-7-login.md")]
    status = DBOS.get_workflow_status(result.sweep_id)
    assert (
        status is not None and status.name == sweeps.SCHEDULED_SWEEP_WORKFLOW and status.queue_name == names.SWEEP_QUEUE
    )
    assert "Trigger: schedule" in world.bm.store.read_note(result.report or "", world.project).content
    for bad in ({"sweep_cron": "at two"}, {"sweep_timezone": "Mars/Olympus"}):
        with pytest.raises(BadInput, match="SPECMILL_SWEEP_CRON .* SPECMILL_SWEEP_TIMEZONE"):
            runtime.apply_sweep_schedule(world.settings.model_copy(update=bad))
    runtime.apply_sweep_schedule(world.settings.model_copy(update={"sweep_cron": ""}))
    assert DBOS.get_schedule(names.SWEEP_SCHEDULE) is None


def test_a_manual_run_and_a_sweep_share_one_run_per_version(world: World) -> None:
    world.after_a_first_sweep()
    queued = world.sweep("before-manual")
    deep = next(s for s in queued.skipped if s.permalink == world.permalink("backlog/nested/deep.md"))
    manual = RunRequest(spec="Deep", repo=str(world.calc), project=world.project)  # by title, as people type it
    assert (
        version_run_id(world.bm.store, manual.spec, world.project) == deep.run_id
    )  # `specmill run` joins the queued run

    title = f"Multiply {uuid.uuid4().hex[:6]}"
    text = scenarios.spec_note(title).replace("status: ready", "status: ready\nrepo: calc")
    written = world.bm.store.write_note(world.project, title, "specs", text)
    request = RunRequest(spec=written.permalink, repo=str(world.calc), project=world.project)
    run_id = version_run_id(world.bm.store, request.spec, world.project)
    assert run_id is not None
    result = runtime.start_run(request, run_id)  # what `specmill run` does, in this process
    assert result.status == "succeeded"
    world.bm.store.replace_note(*_with_status(world, written.permalink, "ready"))  # someone marks it ready again
    after = world.sweep("after-manual")
    skipped = next(s for s in after.skipped if s.permalink == written.permalink)
    assert skipped.run_id == run_id and f"was implemented by run {run_id}" in skipped.reason
    assert written.permalink not in [c.permalink for c in after.enqueued]


def _with_status(world: World, permalink: str, status: str) -> tuple:
    current = world.bm.store.read_note(permalink, world.project)
    assert "status: implemented" in current.content
    return current, current.content.replace("status: implemented", f"status: {status}")


def test_a_dry_run_lists_what_would_run_and_writes_nothing(world: World) -> None:
    world.after_a_first_sweep()
    world.edit("specs/export.md", "Something useful.", "Export, as CSV too.")
    index = world.bm.index
    reports = sorted(r.permalink for r in index.list_folder(world.project, "specmill/sweeps"))
    checksums = {p: world.bm.store.read_note(world.permalink(p), world.project).checksum for p in READY}
    runs = world.enqueued_ids()
    sweeps_before = len(
        DBOS.list_workflows(name=[sweeps.SWEEP_WORKFLOW, sweeps.SCHEDULED_SWEEP_WORKFLOW], load_output=False)
    )

    result = sweeps.dry_run(world.settings, world.container, SweepRequest(project=world.project))
    assert result.dry_run and result.report is None
    assert [c.permalink for c in result.enqueued] == [world.permalink("specs/export.md")]

    env = {
        **world.bm.specmill_env(),
        "SPECMILL_PROJECT": world.project,
        "DBOS_SYSTEM_DATABASE_URL": world.database,
        "SPECMILL_DATA_DIR": str(world.settings.data_dir),
        "SPECMILL_SWEEP_FOLDERS": "backlog",
        "SPECMILL_SWEEP_REPOS": f"calc={world.calc}",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "specmill", "sweep", "--dry-run", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert printed["dry_run"] and [c["permalink"] for c in printed["enqueued"]] == [world.permalink("specs/export.md")]
    assert len(printed["skipped"]) == len(result.skipped)

    assert sorted(r.permalink for r in index.list_folder(world.project, "specmill/sweeps")) == reports
    assert {p: world.bm.store.read_note(world.permalink(p), world.project).checksum for p in READY} == checksums
    assert world.enqueued_ids() == runs
    assert (
        len(DBOS.list_workflows(name=[sweeps.SWEEP_WORKFLOW, sweeps.SCHEDULED_SWEEP_WORKFLOW], load_output=False))
        == sweeps_before
    )


def test_without_a_project_the_command_says_how_to_name_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SPECMILL_PROJECT"}
    env["SPECMILL_DATA_DIR"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "specmill", "sweep"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "pass --project NAME or set SPECMILL_PROJECT" in proc.stderr
