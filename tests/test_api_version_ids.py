"""`POST /runs` without an Idempotency-Key names its run by the spec's version, as `specmill run`
and sweeps do: one version is one run unless the caller sends a key for another. A `repo` or
`playbook` the caller leaves out is the one the spec's frontmatter names."""

from __future__ import annotations

import shutil
from pathlib import Path

from specmill.playbooks import BUNDLED_DIR
from specmill.ports.model import ScriptedModel
from specmill.ports.spec_store import MemorySpecStore
from specmill.replay.scripts import Script
from specmill.sweep.version import run_id_for
from tests import scenarios
from tests.fixtures.api import wait_for_status


def test_one_spec_version_is_one_run_unless_a_key_asks_for_another(
    api_client, database, calc_repo: Path, spec_store: MemorySpecStore
) -> None:
    client = api_client(ScriptedModel(Script.load(scenarios.succeeds_first_time())), database)
    body = {"spec": "specs/multiply", "repo": str(calc_repo)}
    first = client.post("/runs", json=body)
    again = client.post("/runs", json=body)
    assert first.status_code == again.status_code == 202, first.text
    run_id = first.json()["run_id"]
    assert again.json()["run_id"] == run_id
    assert run_id == run_id_for("specs", "specs/multiply", spec_store.read_note("specs/multiply", "specs").content)
    wait_for_status(client.get, run_id, {"succeeded"})
    assert client.post("/runs", json=body).json()["run_id"] == run_id  # a finished version is still that run

    other = client.post("/runs", json={**body, "max_iterations": 1})  # other settings: another run
    assert other.status_code == 202 and other.json()["run_id"] != run_id
    keyed = client.post("/runs", json=body, headers={"Idempotency-Key": "again-1"})  # a key asks for another run
    assert keyed.status_code == 202 and keyed.json()["run_id"] == "again-1"
    for started in (other, keyed):
        wait_for_status(
            client.get, started.json()["run_id"], {"succeeded", "failed", "error", "budget_exhausted", "cancelled"}
        )

    spec_store.edit_as_person("specs", "specs/multiply", lambda text: text.replace("as easily as they add", "quickly"))
    edited = client.post("/runs", json=body)
    assert edited.status_code == 202 and edited.json()["run_id"] not in (run_id, other.json()["run_id"], "again-1")
    assert edited.json()["run_id"].startswith("v")


def chosen_spec(store: MemorySpecStore, title: str, choices: str) -> str:
    """A copy of the multiply spec whose frontmatter names its own `repo:` / `playbook:` (`choices`)."""
    text = scenarios.spec_note(title).replace("status: ready", f"status: ready\n{choices}".rstrip())
    return store.write_note("specs", title, "specs", text).permalink


def test_a_spec_names_its_own_repo_and_playbook_and_fields_given_win(
    api_client, calc_repo: Path, spec_store: MemorySpecStore, tmp_path: Path
) -> None:
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    shutil.copy(BUNDLED_DIR / "python-developer.md", playbooks / "careful.md")
    model = ScriptedModel(Script.load(scenarios.succeeds_first_time()))
    client = api_client(model, playbooks_dir=playbooks, repos_dir=calc_repo.parent)
    spec = chosen_spec(spec_store, "Chosen", f"repo: {calc_repo.name}\nplaybook: careful")  # relative: repos_dir

    started = client.post("/runs", json={"spec": spec})
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    request = client.get(f"/runs/{run_id}").json()["request"]
    assert (request["repo"], request["playbook"]) == (str(calc_repo.resolve()), "careful")
    # the same version with the same effective request is the same run, however it was asked for
    same = client.post("/runs", json={"spec": spec, "repo": str(calc_repo), "playbook": "careful"})
    assert same.status_code == 202 and same.json()["run_id"] == run_id
    assert wait_for_status(client.get, run_id, {"succeeded", "failed", "error"})["status"] == "succeeded"

    unusable = chosen_spec(spec_store, "Unusable", "repo: ./nowhere\nplaybook: no-such")
    given = {"spec": unusable, "repo": str(calc_repo), "playbook": "careful"}
    keyed = client.post("/runs", json=given, headers={"Idempotency-Key": "given-1"})  # the caller's fields win
    assert keyed.status_code == 202, keyed.text
    request = client.get("/runs/given-1").json()["request"]
    assert (request["repo"], request["playbook"]) == (str(calc_repo.resolve()), "careful")

    refused = [
        (chosen_spec(spec_store, "Bare", ""), None, "no_repo", "pass repo, or add 'repo: PATH' to the spec's"),
        ("specs/no-such", None, "spec_not_found", "'specs/no-such' not found"),
        (unusable, None, "not_a_git_repository", "the spec's 'repo: ./nowhere' is"),
        (unusable, str(calc_repo), "unknown_playbook", "the spec's frontmatter: unknown playbook 'no-such'"),
    ]
    for spec_asked, repo, code, message in refused:
        answer = client.post("/runs", json={"spec": spec_asked, **({"repo": repo} if repo else {})})
        assert answer.status_code == 422 and answer.json()["error"]["code"] == code, answer.text
        assert message in answer.json()["error"]["message"] and "\n" not in answer.json()["error"]["message"]
    assert [r["run_id"] for r in client.get("/runs").json()["runs"]] == ["given-1", run_id]  # the 422s started none
    wait_for_status(client.get, "given-1", {"succeeded", "failed", "error", "budget_exhausted", "cancelled"})
