"""RepoMapAnalyzer on a FastAPI + Typer + DBOS service shaped like specmill's users' repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from specmill.adapters.repo_map import RepoMapAnalyzer
from specmill.models import Convention, PatternBrief
from tests.repo_map_samples import SERVICE, make_spec, write_repo

DELETE_USER = make_spec(
    "Delete a user",
    "Add `DELETE /users/{user_id}` that removes the user.",
    ("Deleting a missing user returns 404",),
)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_repo(tmp_path_factory.mktemp("service"), SERVICE)


@pytest.fixture(scope="module")
def brief(service: Path) -> PatternBrief:
    return RepoMapAnalyzer().analyze(service, DELETE_USER, 8000)


def _convention(brief: PatternBrief, kind: str) -> Convention:
    found = [c for c in brief.conventions if c.kind == kind]
    assert len(found) == 1, f"expected one {kind!r} convention, got {[c.kind for c in brief.conventions]}"
    return found[0]


def test_layout_names_the_packages(brief: PatternBrief) -> None:
    layout = _convention(brief, "layout")
    assert "flat layout" in layout.summary
    assert layout.files == ["app/__init__.py", "tests/__init__.py"]


def test_entry_point_is_resolved_to_its_file(brief: PatternBrief) -> None:
    entry = _convention(brief, "entry-points")
    assert "`svc` -> `app.cli.main:app` (`app/cli/main.py`)" in entry.summary
    assert entry.files == ["app/cli/main.py"]


def test_fastapi_app_and_routers(brief: PatternBrief) -> None:
    app = _convention(brief, "fastapi-app")
    assert app.files == ["app/main.py"]
    routers = _convention(brief, "fastapi-router")
    assert routers.files == ["app/main.py", "app/routers/items.py", "app/routers/users.py"]
    assert "routers in `app/routers/*.py` (items.py, users.py), each `router = APIRouter(...)`" in routers.summary
    assert "included in `app/main.py` with `app.include_router(users.router)`" in routers.summary
    assert "new router: `app/routers/<name>.py`, included in `app/main.py`" in routers.summary
    assert "not imported" not in routers.summary


def test_typer_cli_root_and_groups(brief: PatternBrief) -> None:
    cli = _convention(brief, "typer-cli")
    assert cli.files == ["app/cli/main.py", "app/cli/tenant_cli.py"]
    assert "root `app = typer.Typer(help='svc admin')` in `app/cli/main.py`" in cli.summary
    assert "`app.add_typer(tenant_cli.app, name='tenant')`" in cli.summary
    assert "groups `app/cli/tenant_cli.py` (2 commands)" in cli.summary
    assert "new group: `app/cli/<name>.py`" in cli.summary
    assert "click-cli" not in {c.kind for c in brief.conventions}


def test_dbos_workflows_and_steps(brief: PatternBrief) -> None:
    dbos = _convention(brief, "dbos")
    assert dbos.files == ["app/workflows.py"]
    assert dbos.summary.index("workflows `onboard_user`") < dbos.summary.index("steps `send_welcome_email`")


def test_settings_and_dependency_injection(brief: PatternBrief) -> None:
    settings = _convention(brief, "settings")
    assert settings.files == ["app/config.py"]
    assert "`class Settings(BaseSettings)`" in settings.summary
    assert "env_prefix='SVC_'" in settings.summary
    assert "cached `get_settings()`" in settings.summary
    di = _convention(brief, "dependency-injection")
    assert di.files == ["app/deps.py", "tests/conftest.py"]
    assert "`SessionDep`, `SettingsDep`" in di.summary
    assert "dependency_overrides" in di.summary


def test_test_layout_fixtures_and_command(brief: PatternBrief) -> None:
    tests = _convention(brief, "tests")
    assert tests.files == ["tests/test_items.py", "tests/test_tenant_cli.py", "tests/test_users.py"]
    assert "named `test_*.py`" in tests.summary
    assert "`tests/test_tenant_cli.py` <-> `app/cli/tenant_cli.py`" in tests.summary
    assert "`TestClient` (`tests/conftest.py`)" in tests.summary
    assert "`CliRunner` (`tests/test_tenant_cli.py`)" in tests.summary
    assert "a new test goes in `tests/test_<module>.py`" in tests.summary
    fixtures = _convention(brief, "test-fixtures")
    assert fixtures.files == ["tests/conftest.py"]
    assert "fixtures `settings`, `client`" in fixtures.summary
    command = _convention(brief, "test-command")
    assert "run `pytest`" in command.summary and "testpaths=['tests']" in command.summary
    assert command.files == ["pyproject.toml"]


def test_frameworks_and_tooling(brief: PatternBrief) -> None:
    frameworks = _convention(brief, "frameworks").summary
    for name in (
        "fastapi (pyproject.toml",
        "typer (pyproject.toml",
        "dbos (pyproject.toml",
        "pydantic-settings (pyproject.toml",
        "pytest (pyproject.toml",
    ):
        assert name in frameworks
    ruff = _convention(brief, "lint")
    assert ruff.summary.startswith("ruff (pyproject.toml [tool.ruff])")
    assert "line-length=100" in ruff.summary and "lint.select=[E, F, I, UP]" in ruff.summary
    mypy = _convention(brief, "types")
    assert "mypy" in mypy.summary and "strict=True" in mypy.summary


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("Delete a user", "Add `DELETE /users/{user_id}` that removes the user.", "app/routers/users.py"),
        ("Rename a tenant from the CLI", "`svc tenant rename OLD NEW` renames a tenant.", "app/cli/tenant_cli.py"),
        ("Onboarding sends a welcome email", "The onboarding workflow retries the email step.", "app/workflows.py"),
        ("Settings: database url", "Read the database URL from SVC_DATABASE_URL.", "app/config.py"),
    ],
)
def test_ranking_puts_the_file_the_spec_talks_about_first(service: Path, title: str, body: str, expected: str) -> None:
    brief = RepoMapAnalyzer().analyze(service, make_spec(title, body), 4000)
    assert brief.files[0].path == expected
    scores = [f.score for f in brief.files]
    assert scores == sorted(scores, reverse=True)


def test_relevant_files_carry_signatures(brief: PatternBrief) -> None:
    first = brief.files[0]
    assert first.path == "app/routers/users.py"
    get_user = "`@router.get('/{user_id}') async def get_user(user_id: int, session: SessionDep) -> User`"
    assert f"{get_user} - Fetch one user by id." in first.symbols
    assert "  - `router = APIRouter(prefix='/users', tags=['users'])`" in brief.markdown
    headings = [brief.markdown.index(h) for h in ("## Layout", "## Conventions", "## Relevant files")]
    assert headings == sorted(headings)
    assert "`app/routers/__init__.py`" not in brief.markdown.split("## Relevant files")[1]


def test_without_matching_words_the_entry_modules_come_first(service: Path) -> None:
    brief = RepoMapAnalyzer().analyze(service, make_spec("Something unrelated entirely"), 4000)
    assert {f.path for f in brief.files[:2]} == {"app/main.py", "app/cli/main.py"}


def test_runs_are_deterministic_and_path_independent(service: Path, tmp_path: Path) -> None:
    first = RepoMapAnalyzer().analyze(service, DELETE_USER, 1200)
    again = RepoMapAnalyzer().analyze(service, DELETE_USER, 1200)
    assert first == again
    copy = shutil.copytree(service, tmp_path / "elsewhere")
    moved = RepoMapAnalyzer().analyze(copy, DELETE_USER, 1200)
    assert moved == first
    assert str(service) not in first.markdown and str(tmp_path) not in moved.markdown


def test_skips_vcs_virtualenvs_caches_and_binaries(tmp_path: Path) -> None:
    write_repo(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/core.py": "def run() -> None: ...\n",
            ".git/config": "[core]\n",
            ".venv/lib/site.py": "def leaked(): ...\n",
            "env/pyvenv.cfg": "home = /usr\n",
            "env/lib/other.py": "def leaked(): ...\n",
            "node_modules/x/index.js": "x\n",
            "build/lib/pkg/core.py": "def leaked(): ...\n",
            "pkg/__pycache__/core.cpython-311.pyc": "x",
            "docs/logo.png": "x",
            "pkg/broken.py": "def oops(:\n",
        },
    )
    (tmp_path / "pkg" / "blob.py").write_bytes(b"\x00\x01binary")
    os.makedirs(os.path.join(os.fsencode(tmp_path), b"caf\xe9"))  # names that are not UTF-8: no text to show
    Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"pkg", b"caf\xe9.py"))).write_text("def leaked(): ...\n")
    brief = RepoMapAnalyzer().analyze(tmp_path, make_spec("Run the core and the broken blob"), 4000)
    brief.model_dump_json()
    paths = {f.path for f in brief.files}
    assert paths == {"pkg/core.py", "pkg/broken.py", "pkg/blob.py"}
    assert "leaked" not in brief.markdown and "logo.png" not in brief.markdown
    assert "- `pkg/broken.py` (syntax error at line 1)" in brief.markdown
    assert "- `pkg/blob.py` (binary)" in brief.markdown


def test_same_brief_under_any_hash_seed(service: Path) -> None:
    """Set iteration order changes with PYTHONHASHSEED; the brief must not."""
    script = (
        "import sys; from pathlib import Path; from specmill.adapters.repo_map import RepoMapAnalyzer; "
        "from tests.test_repo_map import DELETE_USER; "
        "print(RepoMapAnalyzer().analyze(Path(sys.argv[1]), DELETE_USER, 1500).model_dump_json())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script, str(service)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=Path(__file__).parent.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
