"""Every run tests the worktree in the repository's own environment, built once per lock and Python.

End to end through the real workflow (scripted model, real git, real uv, real sandboxed pytest):
each project's dependency is one specmill's own venv lacks, its tests check the Python version, the
environment and that the code they import is the worktree's, and a second run reuses the
environment instead of installing again.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from dbos import DBOS

from specmill.errors import EnvironmentSetupFailed
from specmill.models import RepoEnvironment, RunResult, TestReport
from tests import scenarios
from tests.fixtures.environments import (
    UV_PYPROJECT,
    installed_project,
    requirements_project,
    src_layout,
    uv_project,
)
from tests.fixtures.git_repos import git

OWN = (sys.version_info.major, sys.version_info.minor)


def step_output(run_id: str, name: str) -> object:
    outputs = [s["output"] for s in DBOS.list_workflow_steps(run_id) if s["function_name"] == name]
    assert outputs, f"run {run_id} has no {name} step"
    return outputs[-1]


def assert_tested_in_the_environment(result: object, run_id: str, kind: str, *, cached: bool) -> RepoEnvironment:
    assert isinstance(result, RunResult), result
    assert result.status == "succeeded", result.reason
    environment = step_output(run_id, "implement.environment")
    assert isinstance(environment, RepoEnvironment)
    assert environment.kind == kind and environment.cached is cached
    assert (environment.setup_s == 0.0) is cached
    report = step_output(run_id, "run_tests")
    assert isinstance(report, TestReport)
    assert (report.passed, report.failed, report.errors) == (3, 0, 0), report.output_tail
    return environment


def assert_nothing_of_it_on_the_branch(repo: Path, branch: str) -> None:
    files = git(repo, "ls-tree", "-r", "--name-only", branch).splitlines()
    assert not [f for f in files if f.startswith((".venv", "build/")) or "__pycache__" in f or ".egg-info" in f]


PROJECTS = {
    "uv": (lambda lock: uv_project(lock), "uv", lambda script: script),
    "requirements": (lambda lock: requirements_project(OWN), "pip", lambda script: script),
    "installed-package": (lambda lock: installed_project(OWN), "pip", src_layout),
}


@pytest.mark.parametrize("project", list(PROJECTS))
def test_the_tests_run_in_the_repository_environment_and_a_second_run_reuses_it(
    project: str, run_on, project_repo, uv_lock: str
) -> None:
    files, kind, adapt = PROJECTS[project]
    repo = project_repo(files(uv_lock))
    script = adapt(scenarios.succeeds_first_time())

    first, _, store = run_on(repo, f"{project}-1", script)
    built = assert_tested_in_the_environment(first, f"{project}-1", kind, cached=False)
    assert f"- Environment: {kind}: " in store.content("specs", "specs/multiply")  # which, and why
    assert built.setup_s > 0 and built.venv and Path(built.venv).is_relative_to(run_on.environments)
    assert built.test_command == "python -m pytest" and "python -m pytest" in built.reason
    assert_nothing_of_it_on_the_branch(repo, first.branch)

    second, model, _ = run_on(repo, f"{project}-2", script)
    reused = assert_tested_in_the_environment(second, f"{project}-2", kind, cached=True)
    assert reused.venv == built.venv and reused.variables["PYTHONPATH"] != built.variables["PYTHONPATH"]
    assert len(model.requests) == 6  # five implement turns and the verdict: the environment cost no call


def test_a_uv_project_on_postgresql_is_tested_in_its_environment(
    run_on, project_repo, uv_lock: str, postgres_url: str
) -> None:
    repo = project_repo(uv_project(uv_lock))
    result, _, _ = run_on(repo, "uv-pg-1", database=postgres_url)
    environment = assert_tested_in_the_environment(result, "uv-pg-1", "uv", cached=False)
    assert "3.12" in environment.reason and "uv.lock" in environment.reason


BROKEN_SETUP = "import sys\nsys.exit('this build is broken on purpose')\n"
BAD_INPUT = {
    "lock-out-of-date": (
        lambda lock: {
            **uv_project(lock),
            "pyproject.toml": UV_PYPROJECT.replace('["humanize"]', '["humanize", "six"]'),
        },
        "uv.lock does not match pyproject.toml",
    ),
    "missing-interpreter": (
        lambda lock: {**requirements_project(OWN), ".python-version": "3.4\n"},
        "no Python matching '3.4' (from .python-version)",
    ),
    "failing-build": (
        lambda lock: {
            **installed_project(OWN),
            "setup.py": BROKEN_SETUP,
        },
        "this build is broken on purpose",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_a_setup_failure_ends_the_run_before_any_model_call_and_the_spec_says_why(
    case: str, run_on, project_repo, uv_lock: str
) -> None:
    files, says = BAD_INPUT[case]
    repo = project_repo(files(uv_lock))
    result, model, store = run_on(repo, f"bad-{case}")
    assert isinstance(result, EnvironmentSetupFailed), result
    assert says in str(result)
    assert model.requests == []
    note = store.content("specs", "specs/multiply")
    assert "status: needs-attention" in note and "EnvironmentSetupFailed" in note and says in note
