"""Honest test results: the change under judgement cannot steer the run that judges it. Protected test
configuration is compared as parsed TOML/INI, the selection takes test names only, and a pytest hook the
model adds cannot turn a failing test into a pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from specmill.phases.file_tools import run_editor_command
from specmill.phases.judged_run import config_files, restore_test_setup
from specmill.phases.protected_paths import DEFAULT_PROTECTED, changed_section, section_rules
from specmill.phases.test_selection import selection_problem
from specmill.ports.spec_store import MemorySpecStore
from tests import scenarios
from tests.fixtures.git_repos import CALC_FILES, git
from tests.safety_support import EDITOR, start, step_outputs, text, tool

PYPROJECT = '[project]\nname = "calc"\ndependencies = []\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'


@pytest.mark.parametrize(
    "after",
    [
        PYPROJECT + '\n[tool . pytest . ini_options]\naddopts = "--deselect tests/test_known_bug.py"\n',
        PYPROJECT.replace("[tool.pytest.ini_options]\n", '[ tool."pytest".ini_options ]\naddopts = "-p no:python"\n'),
        PYPROJECT.replace('testpaths = ["tests"]', 'testpaths = ["calc"]'),
        PYPROJECT + "\n[tool.pytest.ini_options\n",  # does not parse: counts as changed
    ],
    ids=["spaced-header", "quoted-key", "value", "unparsable"],
)
def test_a_pytest_section_change_is_seen_however_it_is_spelled(after: str) -> None:
    rules = section_rules(["pyproject.toml"], DEFAULT_PROTECTED)
    assert changed_section(PYPROJECT, after, rules) == "tool.pytest"


def test_a_decoy_header_inside_a_string_is_no_section(tmp_path: Path) -> None:
    rules = section_rules(["pyproject.toml"], DEFAULT_PROTECTED)
    decoy = PYPROJECT.replace('[project]\nname = "calc"', '[project]\nname = "calc"\ndescription = """\n[tool.x]\n"""')
    assert changed_section(PYPROJECT, decoy, rules) is None  # a harmless edit that only looks like a header
    hidden = PYPROJECT.replace('testpaths = ["tests"]', 'testpaths = ["tests"]\nnote = """\n[tool.other]\n"""\n')
    hidden += 'addopts = "-x"\n'
    assert changed_section(PYPROJECT, hidden, rules) == "tool.pytest"  # the old line reader missed this one
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    refused = run_editor_command(
        tmp_path, {"command": "create", "path": "pyproject.toml", "file_text": hidden}, protected=DEFAULT_PROTECTED
    )
    assert refused.is_error and (tmp_path / "pyproject.toml").read_text() == PYPROJECT


def test_setup_cfg_is_compared_as_parsed_ini() -> None:
    rules = section_rules(["setup.cfg"], DEFAULT_PROTECTED)
    before = "[metadata]\nname = calc\n\n[tool:pytest]\naddopts = -q\n"
    assert changed_section(before, before.replace("name = calc", "name = calc2"), rules) is None
    assert changed_section(before, before + "\n[ tool:pytest ]\naddopts = -x\n", rules) == "tool:pytest"
    assert changed_section(before, before.replace("addopts = -q", "addopts = -q\n  -p flip"), rules) == "tool:pytest"


@pytest.mark.parametrize(
    "selection",
    [
        "-o addopts=",
        "-c other.ini",
        "--basetemp=/outside",
        "-p flip",
        "tests/test_calc.py -x",
        "../x/test_a.py",
        "/etc",
    ],
)
def test_the_selection_refuses_options_and_paths_outside(selection: str, calc_repo: Path) -> None:
    problem = selection_problem(selection, calc_repo)
    assert problem and ("option" in problem or "outside the repository" in problem)


@pytest.mark.parametrize("selection", ["tests/test_calc.py", "tests/test_calc.py::test_add", "tests/t.py::T::t[1-2]"])
def test_the_selection_accepts_test_paths_and_node_ids(selection: str, calc_repo: Path) -> None:
    assert selection_problem(selection, calc_repo) is None


KNOWN_BUG = "def test_known_bug():\n    assert 1 + 1 == 3\n"
BASE_CONFTEST = "import pytest\n\n\n@pytest.fixture\ndef two():\n    return 2\n"
FLIP = """import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"
"""


def test_restoring_the_base_setup_names_what_it_put_back(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "conftest.py").write_text(BASE_CONFTEST)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    base = config_files(tmp_path)
    (tmp_path / "conftest.py").write_text(BASE_CONFTEST + FLIP)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:python\n")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.replace("dependencies = []", 'dependencies = ["attrs"]'))
    (tmp_path / "tests" / "conftest.py").write_text(FLIP)
    (tmp_path / "tests" / "test_x.py").write_text("pytest_plugins = ['flip']\n")
    restored, problems = restore_test_setup(tmp_path, base, ["tests/test_x.py", "tests/conftest.py"])
    assert restored == ["conftest.py", "pytest.ini"]  # the dependency edit in pyproject.toml stays
    assert (tmp_path / "conftest.py").read_text() == BASE_CONFTEST and not (tmp_path / "pytest.ini").exists()
    assert 'dependencies = ["attrs"]' in (tmp_path / "pyproject.toml").read_text()
    assert not (tmp_path / "tests" / "conftest.py").exists()
    assert problems == [
        "tests/conftest.py (new) defines the pytest hook pytest_runtest_makereport; it was left out of this run",
        "tests/test_x.py loads plugins (pytest_plugins)",
    ]


@pytest.mark.parametrize("how", ["edit-existing-conftest", "new-conftest"])
def test_a_result_flipping_hook_cannot_turn_a_failing_test_into_a_pass(
    how, make_repo, launch_runtime, tmp_path
) -> None:
    repo = make_repo(
        {
            **CALC_FILES,
            "tests/test_known_bug.py": KNOWN_BUG,
            "conftest.py": BASE_CONFTEST,
            "pyproject.toml": PYPROJECT,
        }
    )
    if how == "new-conftest":
        write = tool(EDITOR, command="create", path="tests/conftest.py", file_text=FLIP)
    else:
        write = tool(EDITOR, command="insert", path="conftest.py", insert_line=6, insert_text="\n\n" + FLIP)
    store = MemorySpecStore()
    store.write_note("specs", scenarios.SPEC_TITLE, "specs", scenarios.SPEC)
    turns = [{"content": [write]}, {"content": [tool("run_tests")]}, {"content": [text("All green now.")]}]
    script = {
        "conversations": [
            scenarios.conversation("implement-1", 1, turns),
            scenarios.conversation("verdict-1", 1, [scenarios.verdict(True, True)], forced="record_verdict"),
        ]
    }
    run_id = f"flip-{how}"
    result, _, _ = start(launch_runtime, tmp_path / "data", repo, store, script, run_id=run_id, max_iterations=1)

    flipped = [o.test_report for o in step_outputs(run_id, "implement.tool") if getattr(o, "test_report", None)]
    assert flipped[0].ok and flipped[0].failed == 0  # in the model's own run the hook did lie
    judged = step_outputs(run_id, "run_tests")[0]
    assert not judged.ok and judged.failed == 1
    assert [f.test for f in judged.failures if "known_bug" in f.test] == ["tests.test_known_bug::test_known_bug"]
    if how == "new-conftest":
        assert (
            judged.failures[0].test == "<test configuration>"
            and "pytest_runtest_makereport" in judged.failures[0].message
        )
    else:
        assert judged.output_tail.startswith("[specmill: this run used the base commit's conftest.py;")
    assert result.status == "failed"
    assert FLIP.strip() in git(
        repo, "show", f"{result.branch}:{'tests/conftest.py' if how == 'new-conftest' else 'conftest.py'}"
    )
