"""Every `specmill ...` command the README shows exists, with every option it shows.

The first-hour path runs its commands for real (tests/test_newcomer.py); the reference sections
are checked here against the CLI itself, so a renamed command or flag fails a test, not a reader.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer

from specmill.cli.app import build_app

README = Path(__file__).resolve().parents[1] / "README.md"


def shell_blocks(text: str) -> list[str]:
    """The bodies of the ```bash / ```sh fences, in order."""
    blocks, body, language = [], [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if language is None:
                language = line[3:].strip()
                body = []
            else:
                if language in ("bash", "sh", "shell"):
                    blocks.append("\n".join(body))
                language = None
        elif language is not None:
            body.append(line)
    return blocks


def readme_command_lines() -> list[str]:
    lines: list[str] = []
    for block in shell_blocks(README.read_text()):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("  #", 1)[0].strip().removeprefix("$ ")
            if line.startswith("specmill "):
                lines.append(line)
    lines.extend(re.findall(r"`(specmill [^`]+)`", README.read_text()))  # and the ones quoted in prose
    return lines


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
