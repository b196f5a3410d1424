"""The brief on repositories shaped like real ones: sub-projects beside the package, tests nested by
package, two console scripts on one target, symlinks pointing out, and budgets filled by a real count."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import anthropic
import bpe_openai
import pytest

import specmill
from specmill.adapters.brief_counter import MessagesTokenCounter
from specmill.adapters.repo_map import MIN_BUDGET, RepoMapAnalyzer
from specmill.errors import BadInput
from specmill.replay.server import MessagesServer
from tests.repo_map_samples import make_spec, write_repo

CL100K = bpe_openai.get_encoding("cl100k_base")
CLI = "import typer\n\napp = typer.Typer(name='{name}')\n"
PACKAGE_AND_BENCHMARKS = {
    "pyproject.toml": '[project]\nname = "notes"\nversion = "1"\n\n[project.scripts]\n'
    'notes = "notes.cli.main:app"\nnt = "notes.cli.main:app"\n',
    "src/notes/__init__.py": "",
    "src/notes/cli/__init__.py": "",
    "src/notes/cli/main.py": CLI.format(name="notes")
    + "from notes.cli.commands import sync\n\napp.add_typer(sync.sync_app, name='sync')\n",
    "src/notes/cli/commands/__init__.py": "",
    "src/notes/cli/commands/sync.py": "import typer\n\nsync_app = typer.Typer()\n\n\n@sync_app.command()\n"
    "def run() -> None:\n    '''Synchronise the notes of a project.'''\n",
    "src/notes/api/__init__.py": "",
    "src/notes/api/routes.py": "def list_notes() -> list[str]:\n    return []\n",
    "tests/cli/test_sync.py": "def test_sync() -> None:\n    assert True\n",
    "tests/cli/test_main.py": "def test_main() -> None:\n    assert True\n",
    "tests/api/test_routes.py": "def test_routes() -> None:\n    assert True\n",
    "tests/conftest.py": "",
    "benchmarks/pyproject.toml": '[project]\nname = "notes-bench"\nversion = "1"\n',
    "benchmarks/src/notes_bench/__init__.py": "",
    "benchmarks/src/notes_bench/cli.py": CLI.format(name="bench")
    + "datasets_app = typer.Typer()\napp.add_typer(datasets_app, name='datasets')\n\n\n"
    "@datasets_app.command('fetch')\ndef fetch_benchmark_datasets() -> None:\n"
    "    '''Fetch the benchmark datasets.'''\n",
    "benchmarks/tests/test_bench_cli.py": "def test_cli() -> None:\n    assert True\n",
}
CLI_SPEC = make_spec("Add an export command to the notes CLI", "A new `export` group writes notes to a folder.")


def _brief(root: Path, spec=CLI_SPEC, budget: int = 4000):
    return RepoMapAnalyzer().analyze(root, spec, budget)


def _line(markdown: str, prefix: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith(prefix))


def test_a_sub_project_is_never_the_place_for_new_code(tmp_path: Path) -> None:
    brief = _brief(write_repo(tmp_path, PACKAGE_AND_BENCHMARKS))
    typer_line = _line(brief.markdown, "- typer-cli:")
    assert "benchmarks/" not in typer_line
    assert "added with `add_typer` in `src/notes/cli/main.py`" in typer_line
    assert "- sub-projects, not the place for the package's code: `benchmarks/`" in brief.markdown
    assert "benchmarks" not in _line(brief.markdown, "- tests:")


def test_a_spec_about_the_sub_project_reads_its_own_conventions(tmp_path: Path) -> None:
    spec = make_spec("Fetch benchmark datasets in parallel", "`fetch_benchmark_datasets` in the bench CLI.")
    brief = _brief(write_repo(tmp_path, PACKAGE_AND_BENCHMARKS), spec)
    assert "the spec is about the sub-project `benchmarks/`" in brief.markdown
    assert "added with `add_typer` in `src/notes_bench/cli.py`" in _line(brief.markdown, "- typer-cli:")


def test_the_test_layout_follows_nesting_by_package(tmp_path: Path) -> None:
    tests = _line(_brief(write_repo(tmp_path, PACKAGE_AND_BENCHMARKS)).markdown, "- tests:")
    assert "tests nest by package under `tests/`" in tests
    assert "`tests/cli/` for `src/notes/cli/`" in tests and "`tests/api/` for `src/notes/api/`" in tests
    assert "a new test goes in `tests/<package>/test_<module>.py`" in tests
    assert "`tests/test_<module>.py`" not in tests


def test_flat_tests_keep_the_flat_rule(tmp_path: Path) -> None:
    files = {k: v for k, v in PACKAGE_AND_BENCHMARKS.items() if not k.startswith("tests/")}
    files |= {"tests/test_sync.py": "def test_sync() -> None:\n    assert True\n"}
    assert "a new test goes in `tests/test_<module>.py`" in _line(
        _brief(write_repo(tmp_path, files)).markdown, "- tests:"
    )


def test_no_file_is_listed_twice(tmp_path: Path) -> None:
    brief = _brief(write_repo(tmp_path, PACKAGE_AND_BENCHMARKS))
    scripts = _line(brief.markdown, "- console scripts")
    assert scripts.count("src/notes/cli/main.py") == 1 and "`notes`, `nt`" in scripts
    paths = [f.path for f in brief.files]
    assert len(paths) == len(set(paths))
    headers = [line for line in brief.markdown.splitlines() if line.startswith("- `")]
    assert len(headers) == len(set(headers))


def test_symlinks_out_of_the_repository_are_never_followed(tmp_path: Path) -> None:
    outside = write_repo(
        tmp_path / "outside",
        {
            "secret.py": "def leaked_secret_function() -> str:\n    return 'hunter2-outside'\n",
            "pyproject.toml": '[tool.ruff]\nline-length = 7777\n\n[project.scripts]\nevil = "evil.mod:app"\n',
            "lib/stolen_module.py": "def stolen_helper() -> None:\n    pass\n",
        },
    )
    root = write_repo(tmp_path / "repo", {k: v for k, v in PACKAGE_AND_BENCHMARKS.items() if k != "pyproject.toml"})
    (root / "pyproject.toml").symlink_to(outside / "pyproject.toml")
    (root / "src/notes/secret.py").symlink_to(outside / "secret.py")
    (root / "src/notes/lib").symlink_to(outside / "lib", target_is_directory=True)
    (root / "requirements.txt").symlink_to(outside / "secret.py")
    for index in (None, tmp_path / "index"):
        brief = RepoMapAnalyzer(index).analyze(root, make_spec("Leaked secret stolen helper evil"), 8000)
        text = brief.model_dump_json()
        for leaked in ("leaked_secret_function", "hunter2", "7777", "stolen", "evil.mod"):
            assert leaked not in text


def test_a_budget_below_the_minimum_is_bad_input(tmp_path: Path) -> None:
    root = write_repo(tmp_path, PACKAGE_AND_BENCHMARKS)
    with pytest.raises(BadInput, match=f"too small for a useful brief; give at least {MIN_BUDGET} tokens"):
        _brief(root, budget=MIN_BUDGET - 1)
    assert _brief(root, budget=MIN_BUDGET).files, "at the minimum budget the brief names a file"


def test_at_a_small_budget_the_spec_files_come_before_conventions(tmp_path: Path) -> None:
    brief = _brief(write_repo(tmp_path, PACKAGE_AND_BENCHMARKS), budget=MIN_BUDGET)
    assert "`src/notes/cli/commands/sync.py`" in brief.markdown or "`src/notes/cli/main.py`" in brief.markdown


@pytest.fixture(scope="module")
def real_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """specmill's own source: a real package of ~150 files, enough to fill an 8,000-token brief."""
    root = tmp_path_factory.mktemp("real") / "repo"
    shutil.copytree(Path(specmill.__file__).parent, root / "src" / "specmill")
    RepoMapAnalyzer(root.parent / "index").analyze(root, SPEC, MIN_BUDGET)  # parse once for the tests below
    return root


SPEC = make_spec("Retry a failed model step", "The workflow retries `call_model` on transient model errors.")


def _signature_heavy(root: Path) -> Path:
    """Long typed signatures and CamelCase classes: the text the local estimate over-counts most."""
    head = "from typing import Any, Callable, Optional\n\n"
    method = (
        "    def load_{m}_{f}(self, key: Optional[dict[str, list[int]]] = None, *, timeout: float = 10.5, "
        "on_error: Callable[[Exception], None] | None = None, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:\n"
        "        ...\n"
    )
    for m in range(40):
        body = [head, f"class HTTPStore{m}Backend(BaseStoreMixin, Mapping[str, Any]):\n"]
        body += [method.format(m=m, f=f) for f in range(10)]
        (root / "src/stores").mkdir(parents=True, exist_ok=True)
        (root / f"src/stores/store_{m}.py").write_text("".join(body), encoding="utf-8")
    (root / "pyproject.toml").write_text('[project]\nname = "stores"\nversion = "1"\n', encoding="utf-8")
    return root


@pytest.fixture(scope="module", params=["specmill", "signature-heavy"])
def filled_tree(request: pytest.FixtureRequest, real_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    if request.param == "specmill":
        return real_tree, SPEC
    spec = make_spec("Store loading timeouts", "`load` in the HTTP stores honours `timeout` and `on_error`.")
    return _signature_heavy(tmp_path_factory.mktemp("signatures")), spec


@pytest.mark.parametrize("budget", [1000, 4000, 8000])
def test_offline_the_brief_fills_most_of_its_budget_and_never_crosses_it(filled_tree: tuple, budget: int) -> None:
    root, spec = filled_tree
    brief = RepoMapAnalyzer(root.parent / "index", lambda text: None).analyze(root, spec, budget)
    used = len(CL100K.encode(brief.markdown))
    assert 0.8 * budget <= used <= budget, f"{used} cl100k tokens for a budget of {budget}"


@pytest.mark.parametrize("budget", [1000, 4000, 8000])
def test_with_the_counting_endpoint_the_brief_fills_90_percent(
    real_tree: Path, messages_server: Callable[..., MessagesServer], budget: int
) -> None:
    server = messages_server({"conversations": [{"name": "c", "turns": [{"content": "x"}]}]})
    client = anthropic.Anthropic(base_url=server.base_url, api_key="test", max_retries=0)
    counter = MessagesTokenCounter("claude-test", client)
    brief = RepoMapAnalyzer(real_tree.parent / "index", counter).analyze(real_tree, SPEC, budget)
    counted = counter(brief.markdown)
    assert counted == brief.tokens
    assert 0.9 * budget <= brief.tokens <= budget, f"{brief.tokens} counted tokens for a budget of {budget}"


def test_the_counter_counts_for_the_default_playbook_model_unless_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    from specmill.config import Settings
    from specmill.playbooks import Playbook

    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    assert MessagesTokenCounter.from_settings(Settings(model=None)).model == Playbook.model_fields["model"].default
    assert MessagesTokenCounter.from_settings(Settings(model="claude-x")).model == "claude-x"
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    offline = MessagesTokenCounter.from_settings(Settings(model=None))
    assert not offline.available and offline("some text") is None


def test_an_unreachable_endpoint_falls_back_to_the_local_estimate(real_tree: Path) -> None:
    client = anthropic.Anthropic(base_url="http://127.0.0.1:9", api_key="test", max_retries=0, timeout=2)
    offline = RepoMapAnalyzer().analyze(real_tree, SPEC, 2000)
    assert (
        RepoMapAnalyzer(count_tokens=MessagesTokenCounter("claude-test", client)).analyze(real_tree, SPEC, 2000)
        == offline
    )


def test_a_small_brief_names_more_files_than_it_details(real_tree: Path) -> None:
    """At 1,000 tokens the top files are described and the next ones named by path: a change spans many files."""
    brief = RepoMapAnalyzer(real_tree.parent / "index").analyze(real_tree, SPEC, 1000)
    headers = [line for line in brief.markdown.splitlines() if line.startswith("- `")]
    described = [line for line in headers if not line.endswith("`")]
    assert len(brief.files) >= 30, f"{len(brief.files)} files named"
    assert 10 <= len(described) <= 15 and headers[: len(described)] == described
