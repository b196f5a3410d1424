"""The text editor tool against a directory: every command, every refusal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specmill.phases.file_tools import MAX_FILE_BYTES, EditorResult, run_editor_command


@pytest.fixture
def root(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "calc").mkdir(parents=True)
    (repo / "calc" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    (repo / "tests" / "unit").mkdir(parents=True)
    (repo / "tests" / "unit" / "deep").mkdir()
    (repo / "tests" / "unit" / "deep" / "hidden_by_depth.py").write_text("")
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text("[core]\n")
    (repo / ".venv").mkdir()
    (repo / "README.md").write_text("# calc\n")
    return repo


def run(root: Path, **tool_input: object) -> EditorResult:
    return run_editor_command(root, dict(tool_input))


def test_view_file_with_numbered_lines(root) -> None:
    result = run(root, command="view", path="calc/__init__.py")
    assert result == EditorResult(text="1: def add(a, b):\n2:     return a + b", is_error=False, changed=False)
    assert run(root, command="view", path="/calc/__init__.py").text == result.text


def test_view_range(root) -> None:
    (root / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    assert run(root, command="view", path="n.txt", view_range=[3, 4]).text == "3: line 3\n4: line 4"
    assert run(root, command="view", path="n.txt", view_range=[9, -1]).text == "9: line 9\n10: line 10"
    assert run(root, command="view", path="n.txt", view_range=[10, 99]).text == "10: line 10"
    for bad in ([0, 2], [11, -1], [5, 3], [1], "1-2", [True, 2]):
        result = run(root, command="view", path="n.txt", view_range=bad)
        assert result.is_error and "view_range" in result.text, bad


def test_view_directory_lists_two_levels_without_hidden_entries(root) -> None:
    text = run(root, command="view", path="/").text
    lines = text.splitlines()[1:]
    assert lines == ["README.md", "calc/", "calc/__init__.py", "tests/", "tests/unit/"]
    assert run(root, command="view", path="tests").text.splitlines()[1:] == [
        "tests/unit/",
        "tests/unit/deep/",
    ]
    assert run(root, command="view", path=".", view_range=[1, 2]).is_error


def test_view_truncates_big_output(root) -> None:
    (root / "big.txt").write_text("".join(f"{i:05d} " + "x" * 90 + "\n" for i in range(1000)))
    result = run_editor_command(root, {"command": "view", "path": "big.txt"}, max_characters=2_000)
    assert not result.is_error and len(result.text) < 2_200
    assert result.text.splitlines()[-1].startswith("[output truncated: showed lines 1-")
    (root / "one.txt").write_text("y" * 50_000)
    assert "truncated" in run_editor_command(root, {"command": "view", "path": "one.txt"}, max_characters=100).text


def test_view_empty_and_missing(root) -> None:
    (root / "empty.py").write_text("")
    assert run(root, command="view", path="empty.py").text == "empty.py is empty"
    missing = run(root, command="view", path="nope.py")
    assert missing.is_error and "does not exist" in missing.text


def test_create_makes_parents_and_overwrites(root) -> None:
    result = run(root, command="create", path="calc/ops/sub.py", file_text="def sub(a, b):\n    return a - b\n")
    assert result.changed and not result.is_error and "calc/ops/sub.py" in result.text
    assert (root / "calc" / "ops" / "sub.py").read_text() == "def sub(a, b):\n    return a - b\n"
    again = run(root, command="create", path="calc/ops/sub.py", file_text="x = 1\n")
    assert again.changed and "overwritten" in again.text
    same = run(root, command="create", path="calc/ops/sub.py", file_text="x = 1\n")
    assert not same.changed and not same.is_error
    assert run(root, command="create", path="calc", file_text="x").is_error


def test_str_replace(root) -> None:
    result = run(root, command="str_replace", path="calc/__init__.py", old_str="a + b", new_str="b + a")
    assert result.changed and "2:     return b + a" in result.text
    assert (root / "calc" / "__init__.py").read_text() == "def add(a, b):\n    return b + a\n"
    deleted = run(root, command="str_replace", path="calc/__init__.py", old_str="    return b + a\n")
    assert deleted.changed and (root / "calc" / "__init__.py").read_text() == "def add(a, b):\n"


def test_str_replace_must_match_exactly_once(root) -> None:
    (root / "dup.py").write_text("x = 1\ny = 2\nx = 1\n")
    many = run(root, command="str_replace", path="dup.py", old_str="x = 1", new_str="x = 3")
    assert many.is_error and not many.changed and "occurs 2 times" in many.text and "lines 1, 3" in many.text
    none = run(root, command="str_replace", path="dup.py", old_str="z = 9", new_str="")
    assert none.is_error and "did not appear verbatim" in none.text
    (root / "aaa.txt").write_text("aaa")
    assert "occurs 2 times" in run(root, command="str_replace", path="aaa.txt", old_str="aa", new_str="b").text
    assert (root / "dup.py").read_text() == "x = 1\ny = 2\nx = 1\n"


def test_insert(root) -> None:
    target = root / "calc" / "__init__.py"
    top = run(root, command="insert", path="calc/__init__.py", insert_line=0, insert_text='"""Calc."""\n')
    assert top.changed and target.read_text() == '"""Calc."""\ndef add(a, b):\n    return a + b\n'
    end = run(
        root,
        command="insert",
        path="calc/__init__.py",
        insert_line=3,
        insert_text="\n\ndef sub(a, b):\n    return a - b",
    )
    assert end.changed
    assert target.read_text().endswith("    return a + b\n\n\ndef sub(a, b):\n    return a - b\n")
    older = run(root, command="insert", path="README.md", insert_line=1, new_str="more\n")
    assert older.changed and (root / "README.md").read_text() == "# calc\nmore\n"
    out = run(root, command="insert", path="README.md", insert_line=9, insert_text="x")
    assert out.is_error and "0 (top) to 2" in out.text


@pytest.mark.parametrize("path", ["../outside.txt", "calc/../../outside.txt", "/../outside.txt"])
def test_paths_outside_the_root_are_refused(root, path) -> None:
    for tool_input in (
        {"command": "view", "path": path},
        {"command": "create", "path": path, "file_text": "x"},
    ):
        result = run_editor_command(root, tool_input)
        assert (
            result.is_error and not result.changed and "outside the repository" in result.text and path in result.text
        )
    assert not (root.parent / "outside.txt").exists()


def test_absolute_paths_mean_the_repository_root(root) -> None:
    assert run(root, command="create", path="/etc/passwd", file_text="not really\n").changed
    assert (root / "etc" / "passwd").read_text() == "not really\n"
    real = str(root.resolve() / "README.md")
    assert run(root, command="view", path=real).text == "1: # calc"


def test_symlinks_out_of_the_root_are_refused(root, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("token\n")
    os.symlink(secret, root / "leak.txt")
    os.symlink(tmp_path, root / "outdir")
    for tool_input in (
        {"command": "view", "path": "leak.txt"},
        {"command": "create", "path": "leak.txt", "file_text": "overwritten"},
        {"command": "create", "path": "outdir/new.txt", "file_text": "x"},
    ):
        result = run_editor_command(root, tool_input)
        assert result.is_error and "symlink" in result.text
    assert secret.read_text() == "token\n" and not (tmp_path / "new.txt").exists()
    os.symlink("calc/__init__.py", root / "inside.py")
    assert run(root, command="view", path="inside.py").text.startswith("1: def add")


@pytest.mark.parametrize("path", [".git/config", "/.git", "calc/../.git/config", "sub/.git/x", ".GIT/config"])
def test_git_internals_are_refused(root, path) -> None:
    result = run(root, command="create", path=path, file_text="[core]\n\tbare = true\n")
    assert result.is_error and ".git" in result.text
    assert (root / ".git" / "config").read_text() == "[core]\n"


def test_symlink_into_git_is_refused(root) -> None:
    os.symlink(".git", root / "sneaky")
    result = run(root, command="view", path="sneaky/config")
    assert result.is_error and ".git" in result.text


@pytest.mark.parametrize(
    ("tool_input", "expected"),
    [
        ({}, "command is missing or not a string"),
        ({"command": "delete", "path": "a"}, "unknown command 'delete'"),
        ({"command": "undo_edit", "path": "a"}, "undo_edit is not available"),
        ({"command": "view"}, "path is missing"),
        ({"command": "view", "path": 3}, "path must be a string"),
        ({"command": "create", "path": "a.py"}, "file_text is missing"),
        ({"command": "str_replace", "path": "README.md", "new_str": "x"}, "old_str is missing"),
        ({"command": "str_replace", "path": "README.md", "old_str": ""}, "old_str must not be empty"),
        ({"command": "str_replace", "path": "README.md", "old_str": "#", "new_str": 5}, "new_str must be a string"),
        ({"command": "insert", "path": "README.md", "insert_text": "x"}, "insert_line is missing"),
        (
            {"command": "insert", "path": "README.md", "insert_line": "1", "insert_text": "x"},
            "insert_line must be an integer",
        ),
        (
            {"command": "insert", "path": "README.md", "insert_line": True, "insert_text": "x"},
            "insert_line must be an integer",
        ),
        ({"command": "insert", "path": "README.md", "insert_line": 1}, "insert_text is missing"),
        ({"command": "view", "path": ""}, "not a usable path"),
    ],
)
def test_malformed_input_says_what_is_expected(root, tool_input, expected) -> None:
    result = run_editor_command(root, tool_input)
    assert result.is_error and not result.changed
    assert expected in result.text
    assert "takes {path: string" in result.text or "not available" in result.text or "usable" in result.text


def test_non_dict_input_is_an_error(root) -> None:
    result = run_editor_command(root, ["view", "README.md"])  # type: ignore[arg-type]
    assert result.is_error and "JSON object" in result.text


def test_binary_files_are_refused(root) -> None:
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    (root / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    for path in ("logo.png", "latin1.txt"):
        for tool_input in (
            {"command": "view", "path": path},
            {"command": "str_replace", "path": path, "old_str": "a", "new_str": "b"},
            {"command": "insert", "path": path, "insert_line": 0, "insert_text": "x"},
        ):
            result = run_editor_command(root, tool_input)
            assert result.is_error and "binary" in result.text


def test_size_cap_on_read_and_write(root) -> None:
    (root / "huge.txt").write_text("x" * (MAX_FILE_BYTES + 1))
    read = run(root, command="view", path="huge.txt")
    assert read.is_error and "limit" in read.text and "huge.txt" in read.text
    write = run(root, command="create", path="new.txt", file_text="y" * (MAX_FILE_BYTES + 1))
    assert write.is_error and "limit" in write.text and not (root / "new.txt").exists()


def test_special_files_are_refused(root) -> None:
    os.mkfifo(root / "pipe")
    result = run(root, command="view", path="pipe")
    assert result.is_error and "not a regular file" in result.text


def test_symlink_loops_and_odd_commands_are_errors(root) -> None:
    os.symlink("loop", root / "loop")
    assert run(root, command="view", path="loop/x").is_error
    assert run_editor_command(root, {"command": ["view"], "path": "README.md"}).is_error
