"""`specmill analyze`: the brief for a spec file, as Markdown or JSON; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from specmill.cli.app import app
from tests.repo_map_samples import SERVICE, write_repo

SPEC = """---
title: Delete a user
---
# Delete a user

Add `DELETE /users/{user_id}` that removes the user.

## How to Evaluate
- [ ] Deleting a missing user returns 404
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SPECMILL_DATA_DIR": str(tmp_path / "data"), "SPECMILL_PROJECT": "", "SPECMILL_BRIEF_BUDGET_TOKENS": "900"}


@pytest.fixture
def service(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "svc", SERVICE)


def _spec(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "delete-user.md"
    path.write_text(text, encoding="utf-8")
    return path


def _run(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(app, ["analyze", *args], env=env)


def test_json_brief_for_a_spec_file(service: Path, tmp_path: Path, env: dict[str, str]) -> None:
    result = _run(["--repo", str(service), "--spec-file", str(_spec(tmp_path)), "--budget", "1200", "--json"], env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["tokens", "budget", "files", "conventions", "markdown"]
    assert data["budget"] == 1200 and 0 < data["tokens"] <= 1200
    assert data["files"][0]["path"] == "app/routers/users.py"
    assert set(data["files"][0]) == {"path", "score", "symbols"}
    assert {"fastapi-router", "typer-cli", "tests"} <= {c["kind"] for c in data["conventions"]}
    assert data["markdown"].startswith("## Layout")
    assert list((tmp_path / "data" / "index" / "trees").glob("*.marshal")), "the index is cached under the data dir"


def test_markdown_brief_with_the_default_budget_and_no_criteria(service: Path, tmp_path: Path, env) -> None:
    spec = _spec(tmp_path, "# Rename a tenant\n\n`svc tenant rename OLD NEW` renames a tenant.\n")
    result = _run(["--repo", str(service), "--spec-file", str(spec)], env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("## Layout")
    assert "`app/cli/tenant_cli.py`" in result.stdout
    assert "of 900 tokens" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "100"], "give exactly one of --spec NOTE"),
        (["--spec", "specs/x", "--spec-file", "{spec}"], "give exactly one of --spec NOTE"),
        (["--spec", "specs/x"], "--spec needs a Basic Memory project"),
        (["--spec-file", "{spec}", "--project", "p"], "--project goes with --spec"),
        (["--spec-file", "{missing}"], "does not exist"),
        (["--spec-file", "{spec}", "--budget", "-5"], "negative"),
        (["--spec-file", "{spec}", "--budget", "100"], "too small for a useful brief; give at least 200 tokens"),
        (["--spec-file", "{bad_yaml}"], "malformed YAML frontmatter"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(service: Path, tmp_path: Path, env, args: list[str], message: str) -> None:
    bad_yaml = tmp_path / "bad.md"
    bad_yaml.write_text("---\ntitle: [unclosed\n---\n# x\n", encoding="utf-8")
    paths = {"spec": str(_spec(tmp_path)), "missing": str(tmp_path / "nope.md"), "bad_yaml": str(bad_yaml)}
    result = _run(["--repo", str(service), *(a.format(**paths) for a in args)], env)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr


def test_a_repository_that_is_not_a_directory(tmp_path: Path, env) -> None:
    result = _run(["--repo", str(tmp_path / "missing"), "--spec-file", str(_spec(tmp_path))], env)
    assert result.exit_code == 2
    assert "is not a directory" in result.stderr
