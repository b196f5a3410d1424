"""A run killed after its push and before its pull request is recorded opens one pull request, not two,
once it is resumed: the pull request step looks for an open one of its branch before it opens one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid

import pytest

from tests.fixtures.cli import specmill
from tests.fixtures.git_repos import git
from tests.fixtures.github import REPOSITORY, TOKEN
from tests.test_publish import DOCSTRING, publish_script

pytestmark = [pytest.mark.basic_memory, pytest.mark.slow]


@pytest.mark.parametrize("database", [None], ids=["sqlite"])  # tests/test_publish.py covers PostgreSQL
def test_kill_between_pull_request_and_checkpoint_opens_one(
    cli_env, spec, calc_repo, messages_server, github, tmp_path
):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--bare", "--quiet", str(remote))
    git(calc_repo, "remote", "add", "origin", str(remote))
    server = messages_server(publish_script())
    env = {
        **cli_env,
        "ANTHROPIC_BASE_URL": server.base_url,
        "GITHUB_TOKEN": TOKEN,
        "SPECMILL_GITHUB_REPO": REPOSITORY,
        "SPECMILL_GITHUB_API_URL": github.url,
    }
    run_id = f"pub-{uuid.uuid4().hex[:8]}"
    args = ["run", spec, "--repo", str(calc_repo), "--run-id", run_id, "--publish", "pr", "--json"]
    log = tmp_path / "first.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "specmill", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    killed: list[int] = []

    def kill_the_caller(pull: dict) -> None:  # GitHub has the pull request; specmill never hears of it
        os.killpg(proc.pid, signal.SIGKILL)
        killed.append(pull["number"])

    github.on_pull_created = kill_the_caller
    try:
        proc.wait(timeout=180)
    finally:
        github.on_pull_created = None
    assert killed == [1], f"the run never opened its pull request: {log.read_text()[-3000:]}"
    assert proc.returncode == -signal.SIGKILL
    branch = github.pulls[0]["head"]["ref"]
    pushed = git(remote, "rev-parse", f"refs/heads/{branch}").strip()

    resumed = specmill(["resume", run_id, "--json"], env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    result = json.loads(resumed.stdout)
    assert result["status"] == "succeeded"
    assert result["pull_request"]["number"] == 1
    assert len(github.pulls) == 1
    assert [r for r in github.requests if r == ("POST", f"/repos/{REPOSITORY}/pulls")] == [
        ("POST", f"/repos/{REPOSITORY}/pulls")
    ]
    assert git(remote, "rev-parse", f"refs/heads/{branch}").strip() == pushed == result["head_commit"]
    assert github.rejected == []

    # Review follow-up by hand: a second commit on the same branch, a reply on the same pull request.
    revised = specmill(["revise", run_id, "--comment", "Please document multiply.", "--json"], env)
    assert revised.returncode == 0, revised.stderr[-3000:]
    revision = json.loads(revised.stdout)
    assert revision["branch"] == branch and revision["pull_request"]["number"] == 1
    assert git(remote, "rev-parse", f"refs/heads/{branch}").strip() == revision["head_commit"] != pushed
    assert DOCSTRING in git(remote, "show", f"{revision['head_commit']}:calc/__init__.py")
    [comment] = github.comments
    assert comment["number"] == 1 and revision["run_id"] in comment["body"]
    assert len(github.pulls) == 1

    unknown = specmill(["revise", "no-such-run", "--comment", "x", "--json"], env)
    assert unknown.returncode == 2 and json.loads(unknown.stdout)["error"]["message"].startswith("no run 'no-such-run'")
