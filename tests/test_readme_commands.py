"""Every `specmill ...` command the README shows exists, with every option it shows.

The first-hour path runs its commands for real (tests/test_newcomer.py); the reference sections
are checked here against the CLI itself, so a renamed command or flag fails a test, not a reader.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import typer

from specmill.cli.app import build_app
from tests.readme import README, commands


def readme_command_lines() -> list[str]:
    text = README.read_text()
    lines = [line for line in commands(text) if line.startswith("specmill ")]
    return lines + re.findall(r"`(specmill [^`]+)`", text)  # and the ones quoted in prose


def resolve(root: Any, words: list[str]) -> tuple[Any, list[str]]:
    """The (sub)command the words name, and the words after it (Typer's click, by duck typing)."""
    command = root
    while hasattr(command, "list_commands") and words and not words[0].startswith("-"):
        sub = command.commands.get(words[0])
        assert sub is not None, f"no command '{words[0]}' under '{command.name}'"
        command, words = sub, words[1:]
    return command, words


def options_of(command: Any) -> set[str]:
    names = {"--help"}
    for param in command.params:
        if param.param_type_name == "option":
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def test_the_readme_shows_commands() -> None:
    assert len(readme_command_lines()) > 30


def test_every_readme_command_and_option_exists() -> None:
    root = typer.main.get_command(build_app())
    problems = []
    for line in readme_command_lines():
        try:
            words = shlex.split(line.replace("[", " ").replace("]", " ").replace("|", " "))
        except ValueError as exc:
            problems.append(f"{line}: {exc}")
            continue
        try:
            command, rest = resolve(root, words[1:])
        except AssertionError as exc:
            problems.append(f"{line}: {exc}")
            continue
        if command.context_settings.get("ignore_unknown_options"):
            continue  # a pass-through (`specmill dbos ...`): the options are the other tool's
        known = options_of(command)
        for word in rest:
            flag = word.split("=", 1)[0]
            if flag.startswith("--") and flag not in known:
                problems.append(f"{line}: `{command.name}` has no option {flag}")
    assert not problems, "\n".join(problems)
