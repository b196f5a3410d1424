"""Reading the README the way a person does: its sections, and the shell commands in their code fences."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def section(text: str, heading: str) -> str:
    """From `heading` to the next heading of its level or above, headings inside code fences ignored."""
    level = len(heading) - len(heading.lstrip("#"))
    lines, inside, fenced = [], False, False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            depth = len(line) - len(line.lstrip("#"))
            if inside and depth <= level:
                break
            inside = inside or line.strip() == heading
        if inside:
            lines.append(line)
    assert lines, f"the README has no section '{heading}'"
    return "\n".join(lines)


def shell_blocks(text: str) -> list[str]:
    """The bodies of the ```bash / ```sh fences, in order."""
    blocks, body, language = [], [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if language is None:
                language, body = line[3:].strip(), []
            else:
                if language in ("bash", "sh", "shell"):
                    blocks.append("\n".join(body))
                language = None
        elif language is not None:
            body.append(line)
    return blocks


def commands(text: str) -> list[str]:
    """Every command line of the shell fences: continuation lines joined, comments dropped."""
    found = []
    for block in shell_blocks(text):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            line = line.split("  #", 1)[0].strip().removeprefix("$ ")
            if line:
                found.append(line)
    return found
