"""The sweep's pure parts: versions and run ids, reading messy frontmatter, choosing a
repository, deciding from existing runs, and the report note's text."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from specmill.config import Settings
from specmill.errors import BadInput
from specmill.models import Note
from specmill.phases.update_spec import merge_status, render_status_section
from specmill.ports.spec_store import MemorySpecStore
from specmill.sweep import plan
from specmill.sweep.discover import (
    classify,
    resolve_repo,
    spec_note_queries,
    spec_notes_from,
    value_of,
)
from specmill.sweep.models import Candidate, Discovery, RunOutcome, Skipped, SweepConfig, SweepResult
from specmill.sweep.report import merge_section, render_final_status, render_report, report_title
from specmill.sweep.version import is_version_run_id, run_id_for, spec_version

SPEC = """---
title: Login
type: spec
status: ready
repo: calc
---

# Login

## What
Users log in.

## How to Evaluate
- [ ] a user with the right password gets a session
"""


def section(run_id: str = "v0-x", status: str = "implemented") -> str:
    return render_status_section(
        run_id=run_id,
        status=status,
        branch="specmill/x",
        head_commit="abc",
        tests=None,
        verdict=None,
        iteration=1,
        max_iterations=3,
    )


def test_what_specmill_writes_into_a_spec_is_not_a_new_version() -> None:
    written = merge_status(SPEC, section(), "implemented")
    assert "## Implementation Status" in written and "status: implemented" in written
    assert spec_version(written) == spec_version(SPEC)
    rewritten = merge_status(written, section("v1-y", "needs-attention"), "needs-attention")
    assert spec_version(rewritten) == spec_version(SPEC)
    # Basic Memory adds a permalink; a person recapitalises the status key; Windows line ends
    assert spec_version(SPEC.replace("repo: calc\n", "repo: calc\npermalink: p/login\n")) == spec_version(SPEC)
    assert spec_version(SPEC.replace("status: ready", "Status: Approved")) == spec_version(SPEC)
    assert spec_version(SPEC.replace("\n", "\r\n")) == spec_version(SPEC)
    # no frontmatter at all, then specmill's status-only frontmatter
    bare = SPEC.split("---\n", 2)[2]
    assert spec_version(merge_status(bare, section(), "implemented")) == spec_version(bare)


def test_what_a_person_writes_is_a_new_version() -> None:
    for edit in (
        SPEC.replace("Users log in.", "Users log in with a passkey."),
        SPEC.replace("repo: calc", "repo: api"),
        SPEC + "- [ ] a wrong password is refused\n",
    ):
        assert spec_version(edit) != spec_version(SPEC)


def test_run_ids_name_project_permalink_and_version() -> None:
    run_id = run_id_for("specs", "specs/login", SPEC)
    assert run_id.startswith("v") and run_id.endswith("-specs-login") and is_version_run_id(run_id)
    assert run_id == run_id_for("specs", "specs/login", merge_status(SPEC, section(), "implemented"))
    assert run_id != run_id_for("other", "specs/login", SPEC)
    assert run_id != run_id_for("specs", "specs/login-2", SPEC)
    assert (
        run_id[:9] != run_id_for("specs", "specs/login", SPEC.replace("log in", "sign in"))[:9]
    )  # branch names differ
    long = run_id_for("specs", "specs/" + "very-long-" * 30, SPEC)
    assert len(long) <= 100 and not long.endswith("-")
    assert not is_version_run_id("a1b2c3d4e5f6")


def test_keys_are_read_in_any_capitalisation_and_specmills_lowercase_key_wins() -> None:
    assert value_of({"Status": "Ready"}, "status") == "Ready"
    assert value_of({"Status": "Ready", "status": "in-progress"}, "status") == "in-progress"
    assert value_of({"REPO": "calc"}, "repo") == "calc"
    assert value_of({}, "repo") is not None  # the missing marker, not None


def test_the_repository_comes_from_repo_then_the_default(tmp_path: Path) -> None:
    (tmp_path / "calc").mkdir()
    config = SweepConfig(repos={"calc": str(tmp_path)}, default_repo=None, repos_base=str(tmp_path))
    assert resolve_repo({"repo": "calc"}, config) == (str(tmp_path), "")
    assert resolve_repo({"Repo": f" {tmp_path} "}, config) == (str(tmp_path), "")
    assert resolve_repo({"repo": "./calc"}, config) == (str(tmp_path / "calc"), "")  # relative: from repos_base
    repo, why = resolve_repo({}, config)
    assert repo is None and "add 'repo:'" in why and "SPECMILL_SWEEP_DEFAULT_REPO" in why and "calc" in why
    with pytest.raises(BadInput, match=r"'repo: mobile' is .*mobile, which is not a directory.*SPECMILL_SWEEP_REPOS"):
        resolve_repo({"repo": "mobile"}, config)
    with pytest.raises(BadInput, match="not a name or a path"):
        resolve_repo({"repo": ["a", "b"]}, config)
    assert resolve_repo({"repo": ""}, config.model_copy(update={"default_repo": "/srv/default"})) == (
        "/srv/default",
        "",
    )


def test_settings_become_a_sweep_config(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        sweep_ready_statuses="Ready, approved ,",
        sweep_folders="/backlog/, ideas",
        sweep_repos="calc=/srv/calc, api = /srv/api, broken",
        sweep_default_repo="~/default",
        sweep_report_folder="/reports/",
        repos_dir=tmp_path / "code",
    )
    config = SweepConfig.from_settings(settings)
    assert config.repos_base == str((tmp_path / "code").resolve())
    assert SweepConfig.from_settings(Settings(data_dir=tmp_path)).repos_base == str(Path.cwd().resolve())
    assert config.ready_statuses == ("ready", "approved") and config.folders == ("backlog", "ideas")
    assert config.repos == {"calc": "/srv/calc", "api": "/srv/api"}
    assert config.default_repo == str(Path("~/default").expanduser()) and config.report_folder == "reports"
    assert Settings(data_dir=tmp_path).sweep_cron == "0 2 * * *" and not Settings(data_dir=tmp_path).sweep_backfill


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (SPEC.replace("status: ready", "status: implemented"), "not marked ready: status 'implemented'"),
        (SPEC.replace("status: ready\n", ""), "not marked ready: no status"),
        (SPEC.replace("status: ready", "status: [ready, draft]"), "not one value"),
        (SPEC.replace("repo: calc", "repo: [calc"), "unreadable YAML"),
        (SPEC.replace("- [ ] a user", "- a user"), "no success criteria"),
        (SPEC.replace("repo: calc", "repo: mobile"), "'repo: mobile' is"),
        (SPEC.replace("repo: calc", "repo: calc\nplaybook: ../evil"), "is not a playbook name"),
        (SPEC.replace("repo: calc", "repo: calc\nplaybook: no-such-playbook"), "unknown playbook 'no-such-playbook'"),
    ],
)
def test_a_note_read_after_the_index_said_ready_is_checked_again(tmp_path: Path, content: str, reason: str) -> None:
    config = SweepConfig(repos={"calc": str(tmp_path)})
    outcome = classify(
        Note(project="p", permalink="p/specs/login", title="Login", content=content, checksum="c"),
        config,
        Settings(data_dir=tmp_path),
    )
    assert isinstance(outcome, Skipped) and reason in outcome.reason, outcome


def candidate(name: str, run_id: str | None = None) -> Candidate:
    return Candidate(
        permalink=f"p/{name}", title=name, status="ready", repo="/r", run_id=run_id or f"v{name:0<12}-p-{name}"
    )


def test_a_version_with_a_run_is_never_enqueued_again_whatever_became_of_it() -> None:
    states = ["queued", "running", "succeeded", "failed", "budget_exhausted", "error", "cancelled"]
    new = candidate("fresh")
    cands = [candidate(f"s{n}") for n in range(len(states))] + [new]
    existing = {c.run_id: RunOutcome(run_id=c.run_id, state=state) for c, state in zip(cands, states)}
    found = Discovery(
        project="p", spec_notes=9, candidates=cands, skipped=[Skipped(permalink="p/a", reason="not marked ready")]
    )
    enqueue, skipped = plan.decide(found, existing)
    assert enqueue == [new]
    assert [s.permalink for s in skipped] == ["p/a"] + [f"p/s{n}" for n in range(len(states))]
    reasons = {s.permalink: s.reason for s in skipped}
    assert "already queued" in reasons["p/s0"] and "was implemented by run" in reasons["p/s2"]
    assert "edit the spec" in reasons["p/s3"] and "specmill resume" in reasons["p/s3"]
    assert "--budget-usd" in reasons["p/s4"] and "cancelled" in reasons["p/s6"]


def test_dbos_states_in_peoples_words() -> None:
    assert plan.run_state("ENQUEUED", None) == "queued" and plan.run_state("PENDING", None) == "running"
    assert plan.run_state("SUCCESS", "failed") == "failed" and plan.run_state("SUCCESS", "succeeded") == "succeeded"
    assert (
        plan.run_state("ERROR", None) == "error" and plan.run_state("MAX_RECOVERY_ATTEMPTS_EXCEEDED", None) == "error"
    )
    assert plan.run_state("CANCELLED", None) == "cancelled"


def test_only_queued_older_versions_of_the_same_spec_are_superseded() -> None:
    new = candidate("login", "vbbbbbbbbbbbb-p-login")
    queued = [
        RunOutcome(run_id="vaaaaaaaaaaaa-p-login", state="queued", spec="p/login", project="p"),  # older version
        RunOutcome(run_id="vbbbbbbbbbbbb-p-login", state="queued", spec="p/login", project="p"),  # this version
        RunOutcome(run_id="api-started-1", state="queued", spec="p/login", project="p"),  # started over HTTP
        RunOutcome(run_id="vcccccccccccc-p-login", state="queued", spec="p/login", project="q"),  # another project
        RunOutcome(run_id="vdddddddddddd-p-other", state="queued", spec="p/other", project="p"),  # another spec
    ]
    assert plan.superseded([new], queued, "p") == ["vaaaaaaaaaaaa-p-login"]
    assert plan.superseded([], queued, "p") == []


def result(**fields: object) -> SweepResult:
    values: dict[str, object] = dict(
        sweep_id="sweep-1",
        project="p",
        trigger="manual",
        started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        spec_notes=3,
        candidates=[candidate("a")],
        enqueued=[candidate("a")],
        skipped=[Skipped(permalink="p/b", reason="no repository | add one")],
    )
    values.update(fields)
    return SweepResult(**values)  # type: ignore[arg-type]


def test_the_report_lists_what_was_enqueued_and_why_the_rest_was_skipped() -> None:
    text = render_report(result(previous_sweep="sweep-0", superseded=["vold-p-a"]))
    assert text.startswith('---\ntype: sweep-report\nsweep_id: "sweep-1"\n---\n')
    assert (
        "# Sweep 2026-01-02 03:04:05 UTC" in text
        and "- Spec notes: 3; ready with a repository: 1; enqueued: 1; skipped: 1" in text
    )
    assert f"| p/a | `{candidate('a').run_id}` | /r |" in text
    assert "| p/b | no repository \\| add one |" in text and "`vold-p-a`" in text and "`sweep-0`" in text
    assert "Nothing new to implement." in render_report(result(enqueued=[]))
    quiet = [Skipped(permalink=f"p/{n}", reason="not marked ready: its status is not one of ready") for n in "cd"]
    grouped = render_report(result(skipped=[Skipped(permalink="p/b", reason="no repository"), *quiet]))
    assert "| p/b | no repository |\n\nNot marked ready: its status is not one of ready (2): `p/c`, `p/d`\n" in grouped
    assert report_title(result()).startswith("2026-01-02 030405 ") and report_title(result()) != report_title(
        result(sweep_id="sweep-2")
    )


def test_the_final_status_section_is_added_once_and_replaced_after() -> None:
    report = render_report(result())
    first = merge_section(report, render_final_status([RunOutcome(run_id="r1", state="queued", spec="p/a")], "sweep-2"))
    assert first.startswith(report) and first.count("## Final Status") == 1 and "| `r1` | p/a | queued |" in first
    second = merge_section(
        first, render_final_status([RunOutcome(run_id="r1", state="succeeded", spec="p/a")], "sweep-3")
    )
    assert second.count("## Final Status") == 1 and "succeeded" in second and "queued |" not in second
    assert (
        merge_section(second, render_final_status([RunOutcome(run_id="r1", state="succeeded", spec="p/a")], "sweep-3"))
        == second
    )
    middle = merge_section("# T\n\n## Final Status\nold\n\n## After\nkept\n", "## Final Status\n\nnew\n")
    assert middle == "# T\n\n## Final Status\n\nnew\n\n## After\nkept\n"


def test_a_parsed_spec_has_the_version_of_its_note() -> None:
    from specmill.phases.read_spec import parse_spec
    from specmill.sweep.version import run_id_for_spec

    for content in (SPEC, merge_status(SPEC, section(), "implemented"), SPEC.replace("\n", "\r\n")):
        spec = parse_spec(Note(project="specs", permalink="specs/login", title="Login", content=content))
        assert run_id_for_spec(spec) == run_id_for("specs", "specs/login", SPEC)


def test_a_run_named_after_a_version_does_not_implement_a_later_edit(world) -> None:
    from specmill.errors import BadInput
    from tests import scenarios

    run_id = run_id_for("specs", "specs/multiply", scenarios.SPEC)
    world.store.edit_as_person("specs", "specs/multiply", lambda text: text.replace("as easily as they add", "quickly"))
    with pytest.raises(BadInput, match="changed since run"):
        world(scenarios.succeeds_first_time(), run_id=run_id)
    assert "## Implementation Status" not in world.store.content("specs", "specs/multiply")  # nothing was attempted


def test_the_fake_store_answers_a_sweeps_index_questions_as_basic_memory_does() -> None:
    store = MemorySpecStore()
    store.put("p", "specs/login", SPEC)
    store.put("p", "specs/draft", SPEC.replace("status: ready", "status: draft"))
    store.put("p", "backlog/idea", "---\nStatus: Ready\n---\n\n# Idea\n")
    store.put("p", "notes/meeting", "---\ntype: note\nstatus: ready\n---\n\n# Meeting\n")
    store.put("p", "specs/broken", "---\ntype: spec\nstatus: [ready\n---\n\n# Broken\n")
    store.put("other", "specs/elsewhere", SPEC)
    config = SweepConfig(folders=("backlog",))
    specs = spec_notes_from([query() for query in spec_note_queries(store, config, "p")], config)
    assert sorted(specs) == ["backlog/idea", "specs/draft", "specs/login"]
    assert specs["specs/login"].note_type == "spec" and specs["specs/login"].file_path == "specs/login.md"
