"""Publishing: the branch pushed to a real (bare) remote, one pull request per run on a GitHub stand-in,
and review follow-up through a signed webhook, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from specmill import revisions
from specmill.adapters.git_remote import GitRemote
from specmill.adapters.github import GitHubCodeHost, repository_of
from specmill.errors import CodeHostError, PublishNotConfigured, PushRejected
from specmill.ports.code_host import NewPullRequest
from specmill.ports.model import ScriptedModel
from specmill.replay.scripts import Script
from tests import scenarios
from tests.fixtures.api import wait_for_status
from tests.fixtures.git_repos import git
from tests.fixtures.github import REPOSITORY, TOKEN

SECRET = "webhook-secret-for-tests"
DOCSTRING = '    """The product of a and b."""\n'


def with_bare_remote(repo: Path, tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--bare", "--quiet", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    return remote


def revision_turns() -> list[dict]:
    edit = {
        "type": "tool_use",
        "name": scenarios.EDITOR,
        "input": {
            "command": "str_replace",
            "path": "calc/__init__.py",
            "old_str": "def multiply(a: int, b: int) -> int:\n",
            "new_str": "def multiply(a: int, b: int) -> int:\n" + DOCSTRING,
        },
    }
    return [{"content": [edit]}, {"content": [{"type": "text", "text": "Documented multiply."}]}]


def publish_script() -> dict:
    """The first run implements multiply; a revision (its first message quotes the review) documents it."""
    script = scenarios.succeeds_first_time()
    revision = {"name": "revision", "match": {"first_user_contains": "A reviewer asked"}, "turns": revision_turns()}
    script["conversations"].insert(0, revision)
    return script


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def review_delivery(number: int) -> bytes:
    payload = {
        "action": "submitted",
        "review": {"state": "changes_requested", "body": "Please document multiply with a docstring."},
        "pull_request": {"number": number},
        "repository": {"full_name": REPOSITORY},
    }
    return json.dumps(payload).encode()


def test_publish_opens_one_pull_request_and_a_review_revises_it(api_client, calc_repo, github, tmp_path, database):
    remote = with_bare_remote(calc_repo, tmp_path)
    client = api_client(
        ScriptedModel(Script.load(publish_script())),
        database,
        publishing=True,
        github_token=TOKEN,
        github_repo=REPOSITORY,
        github_api_url=github.url,
        github_webhook_secret=SECRET,
    )
    started = client.post("/runs", json={"spec": "specs/multiply", "repo": str(calc_repo), "publish": "pr"})
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    done = wait_for_status(client.get, run_id, {"succeeded", "failed", "error"})
    assert done["status"] == "succeeded", done

    detail = client.get(f"/runs/{run_id}").json()
    branch, head = detail["branch"], detail["head_commit"]
    assert git(remote, "rev-parse", f"refs/heads/{branch}").strip() == head
    assert detail["pull_request"] == {"url": f"https://github.example/{REPOSITORY}/pull/1", "number": 1, "draft": False}
    assert github.rejected == []
    [pull] = github.pulls
    assert pull["head"]["ref"] == branch and pull["base"]["ref"] == git(calc_repo, "branch", "--show-current").strip()
    assert pull["title"] == scenarios.SPEC_TITLE and pull["draft"] is False
    assert f"`{run_id}`" in pull["body"] and "memory://specs/specs/multiply" in pull["body"]
    assert "| `calc.multiply(a, b)` returns the product of a and b | yes |" in pull["body"]
    assert "2 passed, 0 failed" in pull["body"]
    note = client.app.state.runs.container.spec_store.read_note("specs/multiply", "specs").content
    assert f"- Pull request: https://github.example/{REPOSITORY}/pull/1" in note

    body = review_delivery(1)
    headers = {"X-GitHub-Event": "pull_request_review", "X-GitHub-Delivery": "delivery-1"}
    forged = client.post(
        "/webhooks/github", content=body, headers={**headers, "X-Hub-Signature-256": signed(body, "x")}
    )
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "bad_signature"
    first = client.post("/webhooks/github", content=body, headers={**headers, "X-Hub-Signature-256": signed(body)})
    assert first.status_code == 200 and first.json()["action"] == "revision_started", first.text
    again = client.post("/webhooks/github", content=body, headers={**headers, "X-Hub-Signature-256": signed(body)})
    assert again.json() == {**first.json(), "action": "duplicate"}

    revision_id = first.json()["run_id"]
    revised = wait_for_status(client.get, revision_id, {"succeeded", "failed", "error"})
    assert revised["status"] == "succeeded", revised
    new_head = client.get(f"/runs/{revision_id}").json()["head_commit"]
    assert git(remote, "rev-parse", f"refs/heads/{branch}").strip() == new_head != head
    assert git(remote, "rev-list", "--count", f"{head}..{new_head}").strip() == "1"
    assert DOCSTRING in git(remote, "show", f"{new_head}:calc/__init__.py")
    assert len(github.pulls) == 1, "a revision continues the pull request, it opens none"
    [comment] = github.comments
    assert comment["number"] == 1 and f"`{revision_id}`" in comment["body"] and new_head[:7] in comment["body"]
    assert github.rejected == []


def test_a_failed_run_is_published_only_on_request_and_then_as_a_draft(api_client, calc_repo, github, tmp_path):
    with_bare_remote(calc_repo, tmp_path)
    client = api_client(
        ScriptedModel(Script.load(scenarios.never_meets(attempts=1))),
        publishing=True,
        github_token=TOKEN,
        github_repo=REPOSITORY,
        github_api_url=github.url,
    )
    request = {"spec": "specs/multiply", "repo": str(calc_repo), "publish": "pr", "max_iterations": 1}
    quiet = client.post("/runs", json=request).json()["run_id"]
    assert wait_for_status(client.get, quiet, {"succeeded", "failed", "error"})["status"] == "failed"
    assert github.pulls == []
    loud = client.post("/runs", json={**request, "publish_on_failure": True}).json()["run_id"]
    assert wait_for_status(client.get, loud, {"succeeded", "failed", "error"})["status"] == "failed"
    [pull] = github.pulls
    assert pull["draft"] is True and pull["title"].startswith("[needs attention]")
    assert "Reason: not accepted after 1 attempt(s)" in pull["body"]


def test_push_uses_a_lease_and_a_repeat_pushes_nothing(calc_repo, tmp_path):
    remote = with_bare_remote(calc_repo, tmp_path)
    push = GitRemote()
    first = git(calc_repo, "rev-parse", "HEAD").strip()
    assert push.push(str(calc_repo), "origin", "specmill/x", first, lease=None).pushed is True
    assert push.push(str(calc_repo), "origin", "specmill/x", first, lease=None).pushed is False
    (calc_repo / "more.txt").write_text("more\n")
    git(calc_repo, "add", "more.txt")
    git(calc_repo, "commit", "--quiet", "-m", "more")
    second = git(calc_repo, "rev-parse", "HEAD").strip()
    with pytest.raises(PushRejected, match="refused"):
        push.push(str(calc_repo), "origin", "specmill/x", second, lease=None)  # the remote has it: lease is stale
    assert push.push(str(calc_repo), "origin", "specmill/x", second, lease=first).pushed is True
    assert git(remote, "rev-parse", "refs/heads/specmill/x").strip() == second
    assert push.commits_between(str(calc_repo), first, second) == [f"{second[:7]} more"]
    assert push.delete_branch(str(calc_repo), "origin", "specmill/x") is True
    assert push.branch_tip(str(calc_repo), "origin", "specmill/x") is None


def test_github_adapter_speaks_the_documented_api(github):
    host = GitHubCodeHost(github.url, REPOSITORY, TOKEN)
    assert host.find_open_pull("specmill/a") is None
    pull = host.open_pull(NewPullRequest(title="t", body="b", head="specmill/a", base="main"))
    assert host.find_open_pull("specmill/a") == pull
    assert host.comment(pull.number, "hello").endswith("#issuecomment-1")
    with pytest.raises(CodeHostError, match="already exists"):
        host.open_pull(NewPullRequest(title="t", body="b", head="specmill/a", base="main"))
    host.close_pull(pull.number)
    assert host.find_open_pull("specmill/a") is None
    with pytest.raises(CodeHostError, match="401: Bad credentials"):
        GitHubCodeHost(github.url, REPOSITORY, "wrong-token").find_open_pull("x")
    with pytest.raises(PublishNotConfigured, match="GITHUB_TOKEN"):
        GitHubCodeHost(github.url, REPOSITORY, "")
    assert [r for r in github.rejected if "Bad credentials" not in r and "already exists" not in r] == []


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("git@github.com:acme/calc.git", "acme/calc"),
        ("https://github.com/acme/calc", "acme/calc"),
        ("ssh://git@github.com/acme/calc.git", "acme/calc"),
        ("https://github.example.com/acme/calc.git/", "acme/calc"),
    ],
)
def test_repository_from_remote_url(url, slug):
    assert repository_of(url) == slug


def test_repository_needs_a_setting_when_the_remote_is_not_github():
    with pytest.raises(PublishNotConfigured, match="SPECMILL_GITHUB_REPO"):
        repository_of("/srv/git/calc.git")
    assert repository_of("/srv/git/calc.git", "acme/calc") == "acme/calc"


def test_which_deliveries_ask_for_a_revision():
    repo = {"full_name": REPOSITORY}
    approve = {"action": "submitted", "review": {"state": "approved", "body": "LGTM"}, "pull_request": {"number": 3}}
    assert revisions.review_of("pull_request_review", {**approve, "repository": repo}) is None
    mention = {**approve, "review": {"state": "commented", "body": "@specmill rename it"}, "repository": repo}
    assert revisions.review_of("pull_request_review", mention).comments == ["rename it"]
    comment = {"action": "created", "comment": {"body": "@specmill add a test", "path": "calc/__init__.py"}}
    found = revisions.review_of(
        "pull_request_review_comment", {**comment, "pull_request": {"number": 3}, "repository": repo}
    )
    assert found.number == 3 and found.comments == ["On calc/__init__.py: add a test"]
    issue = {"action": "created", "comment": {"body": "@specmill again"}, "issue": {"number": 4}, "repository": repo}
    assert revisions.review_of("issue_comment", issue) is None, "a comment on an issue, not a pull request"
    assert revisions.review_of("push", {"repository": repo}) is None


def test_signature_check():
    body = b'{"a": 1}'
    assert revisions.signature_ok(SECRET, body, signed(body))
    assert not revisions.signature_ok(SECRET, body + b" ", signed(body))
    assert not revisions.signature_ok(SECRET, body, None)
    assert not revisions.signature_ok("", body, signed(body, ""))
