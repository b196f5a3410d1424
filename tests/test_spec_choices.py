"""A spec note's own `repo:` and `playbook:`: what they resolve to, and that a flag wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from specmill.config import Settings
from specmill.errors import BadInput, NotAGitRepository
from specmill.models import RunRequest
from specmill.preflight import with_spec_choices
from specmill.spec_choices import playbook_of, repo_of


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", **values)


def test_the_note_fills_in_what_the_command_left_out(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    request = RunRequest(spec="specs/x", repo="", project="specs")
    chosen = with_spec_choices(
        request, {"Repo": "api", "playbook": "python-developer"}, settings(tmp_path, repos_dir=tmp_path)
    )
    assert chosen.repo == str(tmp_path / "api")
    assert chosen.playbook is not None and chosen.playbook.endswith("python-developer.md")
    given = request.model_copy(update={"repo": "/given"})
    served = with_spec_choices(given, {"playbook": "python-developer"}, settings(tmp_path), local=False)
    assert served.playbook == "python-developer"  # a server keeps the name: the run loads the server's own


def test_a_flag_wins_over_the_note(tmp_path: Path) -> None:
    request = RunRequest(spec="specs/x", repo="/flag/repo", playbook="/flag/playbook.md", project="specs")
    chosen = with_spec_choices(request, {"repo": "./nowhere", "playbook": "no-such"}, settings(tmp_path))
    assert (chosen.repo, chosen.playbook) == ("/flag/repo", "/flag/playbook.md")


def test_a_relative_repo_starts_at_repos_dir_else_the_current_directory(tmp_path: Path, monkeypatch) -> None:
    assert repo_of({"repo": "../api"}, {}, str(tmp_path / "code")) == str(tmp_path / "code" / "../api")
    assert repo_of({"repo": "api"}, {"api": "/srv/api"}, str(tmp_path)) == "/srv/api"  # a configured name first
    assert repo_of({"repo": "~/api"}, {}, str(tmp_path)) == str(Path("~/api").expanduser())
    assert repo_of({"repo": " "}, {}, str(tmp_path)) is None and repo_of({}, {}, str(tmp_path)) is None
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path)
    request = RunRequest(spec="specs/x", repo="", project="specs")
    assert with_spec_choices(request, {"repo": "here"}, settings(tmp_path)).repo == str(tmp_path / "here")


def test_what_the_note_names_must_be_usable(tmp_path: Path) -> None:
    request = RunRequest(spec="specs/x", repo="", project="specs")
    with pytest.raises(NotAGitRepository, match=r"the spec's 'repo: gone' is .*gone, which is not a directory"):
        with_spec_choices(request, {"repo": "gone"}, settings(tmp_path, repos_dir=tmp_path))
    with pytest.raises(BadInput, match="no repository: pass --repo PATH"):
        with_spec_choices(request, {}, settings(tmp_path))
    with pytest.raises(BadInput, match="not a name or a path"):
        repo_of({"repo": ["a"]}, {}, str(tmp_path))
    for bad in ("../evil", "/etc/playbook.md", ["a"]):
        with pytest.raises(BadInput, match="is not a playbook name"):
            playbook_of({"playbook": bad})
    assert playbook_of({"Playbook": " python-developer "}) == "python-developer"
