"""`specmill init` on a fresh home with the real Basic Memory, and the settings file it writes:
read beneath the environment, and refused in one line when it is malformed or holds an unknown key."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from specmill.config import Settings
from specmill.config_file import ConfigFileError
from specmill.errors import BadInput
from tests import scenarios
from tests.fixtures.basic_memory import basic_memory_executable
from tests.fixtures.cli import specmill

pytestmark = pytest.mark.basic_memory


def fresh_home(tmp_path: Path) -> dict[str, str]:
    """An environment with nothing set up: a home of its own, Basic Memory's state in it, no settings."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPECMILL_", "XDG_", "BASIC_MEMORY_"))}
    env.pop("DBOS_SYSTEM_DATABASE_URL", None)
    env.update(
        HOME=str(home),
        BASIC_MEMORY_CONFIG_DIR=str(home / ".basic-memory"),
        BASIC_MEMORY_HOME=str(home / "basic-memory"),
        SPECMILL_BASIC_MEMORY_COMMAND=f"{basic_memory_executable()} mcp",
        PYTHONUNBUFFERED="1",
    )
    return env


def test_init_yes_sets_up_a_fresh_home_and_never_replaces_its_settings_unasked(
    tmp_path: Path, messages_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = messages_server(scenarios.succeeds_first_time())
    env = {**fresh_home(tmp_path), "ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": server.base_url}
    home = Path(env["HOME"])
    notes = tmp_path / "notes"
    proc = specmill(["init", "--yes", "--json", "--create-project", str(notes), "--sample-spec"], env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert body["status"] == "ok", body
    config = home / ".config" / "specmill" / "specmill.toml"
    assert body["config"] == {"path": str(config), "written": True, "changes": body["config"]["changes"]}
    data_dir = home / ".local" / "share" / "specmill"
    assert tomllib.loads(config.read_text()) == {
        "project": "specs",
        "basic_memory_command": env["SPECMILL_BASIC_MEMORY_COMMAND"],
        "data_dir": str(data_dir),
    }
    assert body["basic_memory"]["created"] and body["basic_memory"]["project_dir"] == str(notes)
    assert [f["part"] for f in body["findings"]] == ["git", "basic memory", "model", "database", "sandbox"]
    assert {f["part"]: f["detail"] for f in body["findings"]}["model"].startswith("the key works")
    assert any(r["path"] == "/v1/messages/count_tokens" for r in server.requests()), "the key was really tried"

    listed = subprocess.run(
        [str(basic_memory_executable()), "project", "list", "--json", "--local"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    projects = {p["name"]: p["local_path"] for p in json.loads(listed.stdout)["projects"]}
    assert projects.get("specs") == str(notes), listed.stdout
    sample = notes / "specs" / "goodbye-endpoint.md"
    repo = data_dir / "example" / "greeting-service"
    assert body["sample_spec"] == {"note": str(sample), "repo": str(repo)}
    assert f'repo: "{repo}"' in sample.read_text() and (repo / ".git").is_dir()
    assert body["next"] == ["specmill run specs/goodbye-endpoint"]

    before = config.read_bytes()
    again = specmill(["init", "--yes", "--json", "--project", "other"], env)
    assert again.returncode == 2, again.stderr
    message = json.loads(again.stdout)["error"]["message"]
    assert f"{config} exists with other settings (~ project: 'specs' -> 'other')" in message
    assert "rerun with --force" in message and config.read_bytes() == before

    monkeypatch.setenv("HOME", str(home))  # this process reads the file init wrote
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.delenv("SPECMILL_PROJECT", raising=False)
    assert Settings().project == "specs" and Settings().data_dir == data_dir
    monkeypatch.setenv("SPECMILL_PROJECT", "from-the-environment")
    assert Settings().project == "from-the-environment", "a variable wins over the file"


def test_without_basic_memory_init_says_how_to_install_it(tmp_path: Path) -> None:
    env = {**fresh_home(tmp_path), "SPECMILL_BASIC_MEMORY_COMMAND": f"{tmp_path / 'no-basic-memory'} mcp"}
    proc = specmill(["init", "--yes", "--json"], env)
    assert proc.returncode == 3, proc.stderr
    message = json.loads(proc.stdout)["error"]["message"]
    assert "uv tool install basic-memory==0.24.1" in message and "specmill init --install" in message
    assert not (Path(env["HOME"]) / ".config").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('project = "specs"\ndata_dir = \n', "line 2: not valid TOML: Invalid value (column 12)"),
        ('project = "specs"\n\nprojet = "x"\n', "line 3: unknown setting 'projet': did you mean 'project'?"),
        ('SPECMILL_PROJECT = "specs"\n', "line 1: unknown setting 'SPECMILL_PROJECT': write 'project'"),
        ("[sweep]\nrepos = 1\n", "line 1: unknown setting 'sweep'"),
    ],
)
def test_a_malformed_file_or_an_unknown_key_is_one_line_naming_the_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    path = tmp_path / "specmill.toml"
    path.write_text(text)
    monkeypatch.setenv("SPECMILL_CONFIG", str(path))
    with pytest.raises(ConfigFileError) as raised:
        Settings()
    assert str(raised.value).startswith(f"{path}, {expected}")


def test_the_cli_stops_on_a_bad_settings_file_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "specmill.toml"
    path.write_text('projet = "specs"\n')
    env = {**fresh_home(tmp_path), "SPECMILL_CONFIG": str(path)}
    proc = specmill(["doctor"], env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: {path}, line 1: unknown setting 'projet': did you mean 'project'?"
    path.write_text("queue_concurrency = 0\n")
    proc = specmill(["init", "--yes"], env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        f"error: setting 'queue_concurrency': Input should be greater than or equal to 1 (in the environment or {path})"
    )
    env["SPECMILL_CONFIG"] = str(tmp_path / "missing.toml")
    proc = specmill(["doctor"], env)
    assert proc.returncode == 2 and "SPECMILL_CONFIG names" in proc.stderr


def test_the_file_is_read_beneath_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "specmill.toml"
    path.write_text('project = "specs"\nqueue_concurrency = 2\nrepos_dir = "~/code"\n')
    monkeypatch.setenv("SPECMILL_CONFIG", str(path))
    monkeypatch.delenv("SPECMILL_PROJECT", raising=False)
    monkeypatch.setenv("SPECMILL_QUEUE_CONCURRENCY", "7")
    settings = Settings()
    assert settings.project == "specs" and settings.queue_concurrency == 7
    assert settings.repos_dir == Path("~/code").expanduser()


def test_the_settings_init_writes_keep_the_files_other_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from specmill.init_steps import plan_config, write_config

    path = tmp_path / "specmill" / "specmill.toml"
    known = Settings.model_fields
    first = plan_config(path, {"project": "specs", "model": None}, known)
    assert not first.exists and first.changes == ["+ project = 'specs'"]
    write_config(first)
    path.write_text(path.read_text() + 'queue_concurrency = 2\nsweep_repos = "api=~/code/api"\n')
    again = plan_config(path, {"project": "specs"}, known)
    assert again.unchanged and again.values["queue_concurrency"] == 2
    changed = plan_config(path, {"project": "other", "data_dir": "/d"}, known)
    assert changed.changes == ["~ project: 'specs' -> 'other'", "+ data_dir = '/d'"]
    write_config(changed)
    monkeypatch.setenv("SPECMILL_CONFIG", str(path))
    monkeypatch.delenv("SPECMILL_PROJECT", raising=False)
    assert (Settings().project, Settings().queue_concurrency, Settings().data_dir) == ("other", 2, Path("/d"))

    path.write_text('projet = "x"\nqueue_concurrency = 2\n')
    replaced = plan_config(path, {"project": "specs"}, known, replace_unreadable=True)
    assert replaced.changes == ["- projet (not a setting)", "+ project = 'specs'"]
    assert replaced.values == {"queue_concurrency": 2, "project": "specs"}
    path.write_text("not toml at all")
    with pytest.raises(BadInput, match="is not valid TOML"):
        plan_config(path, {"project": "specs"}, known)
    assert plan_config(path, {"project": "specs"}, known, replace_unreadable=True).values == {"project": "specs"}


def test_what_to_run_next_offline_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from specmill.cli.init import NO_KEY_NOTE, _model_finding, _next_steps

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    sample = {"note": "n", "repo": "r"}
    assert _next_steps("specs", "/notes", sample) == ["specmill run specs/goodbye-endpoint --offline"]
    assert _model_finding().detail == NO_KEY_NOTE and "--offline" in NO_KEY_NOTE
    own = _next_steps("specs", "/notes", None)
    assert own[0].startswith("export ANTHROPIC_API_KEY=")
    assert own[-1] == "specmill run specs/goodbye-endpoint --project specs --repo PATH"


def test_init_asks_what_it_needs_and_does_what_was_answered(tmp_path: Path, messages_server) -> None:
    """Without --yes, init asks for the project, its folder, the data folder and the sample spec."""
    server = messages_server(scenarios.succeeds_first_time())
    env = {**fresh_home(tmp_path), "ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": server.base_url}
    notes, data_dir = tmp_path / "team-notes", tmp_path / "specmill-data"
    answers = f"team\n{notes}\n{data_dir}\ny\n"
    proc = specmill(["init"], env, timeout=600, input=answers)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for question in (
        "Basic Memory projects: main",  # the project Basic Memory makes on its first start
        "Project of your spec notes [specs]:",
        "Create project 'team' with its notes in [~/team]:",
        "specmill's data folder [",
        "Add a sample spec (and a repository to run it in)? [y/N]:",
    ):
        assert question in proc.stdout, proc.stdout
    config = Path(env["HOME"]) / ".config" / "specmill" / "specmill.toml"
    written = tomllib.loads(config.read_text())
    assert (written["project"], written["data_dir"]) == ("team", str(data_dir))
    sample = notes / "specs" / "goodbye-endpoint.md"
    assert sample.is_file() and (data_dir / "example" / "greeting-service" / ".git").is_dir()
    assert "specs go to 'team'" in proc.stdout and "specmill run specs/goodbye-endpoint" in proc.stdout
