"""Playbooks: agent definitions in Markdown with YAML frontmatter (workflows/*.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from specmill.errors import BadInput, UnknownPlaybook

DEFAULT_PLAYBOOK = "python-developer"
BUNDLED_DIR = Path(__file__).resolve().parents[2] / "workflows"
PLAYBOOK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
"""What a caller of the API may name: a file stem in a playbook folder, never a path."""


class Playbook(BaseModel):
    """The frontmatter keys of a Claude Code subagent file, plus specmill's own."""

    name: str
    description: str = ""
    model: str = "claude-sonnet-5"
    test_command: str | None = Field(
        default=None,
        description="Run in the worktree; pytest gets JUnit XML. Unset: the repository's own, else python -m pytest.",
    )
    setup_command: str | None = Field(
        default=None, description="Provisions the repository's environment (wins over what is detected)."
    )
    environment: Literal["auto", "none"] = Field(
        default="auto", description="none: no environment of the repository's, tests use specmill's interpreter."
    )
    max_iterations: int = Field(default=3, ge=1, description="Implement -> test -> validate rounds before giving up.")
    max_turns: int = Field(default=40, ge=1, description="Model calls per implement round.")
    max_tokens: int = Field(default=8192, ge=256, description="Output cap of one model call.")
    brief_budget_tokens: int | None = Field(default=None, description="Pattern brief budget; the setting when unset.")
    budget_usd: float | None = Field(default=None, gt=0, description="Default dollar cap of a run; none when unset.")
    budget_tokens: int | None = Field(default=None, gt=0, description="Default token cap of a run; none when unset.")
    cache_ttl: Literal["5m", "1h", "auto"] = Field(
        default="auto", description="Prompt-cache TTL; auto switches to 1h once a test run outlasts four minutes."
    )
    keep_tool_results: int = Field(
        default=8, ge=1, description="Recent tool results kept whole; older ones shrink to a line."
    )
    repeat_limit: int = Field(default=3, ge=2, description="Identical tool call + result this often ends the round.")
    approval: Literal["none", "plan"] = Field(default="none", description="`plan`: a person approves the plan first.")
    on_budget: Literal["stop", "pause"] = Field(default="stop", description="`pause`: wait for a higher cap.")
    max_replans: int = Field(default=2, ge=0, description="Plans a person may reject before the run ends rejected.")
    publish: Literal["none", "push", "pr"] = Field(
        default="none", description="After a run: push its branch, or push it and open a pull request."
    )
    prompt: str = Field(description="The Markdown body: the role prompt of the implement phase.")


def search_dirs(extra: Path | None = None) -> list[Path]:
    dirs = [extra] if extra else []
    dirs += [Path.cwd() / "workflows", BUNDLED_DIR]
    unique: list[Path] = []
    for folder in dirs:
        if folder not in unique and folder.is_dir():
            unique.append(folder)
    return unique


def available(extra: Path | None = None) -> dict[str, Path]:
    """Playbook name -> file; earlier folders win."""
    found: dict[str, Path] = {}
    for folder in search_dirs(extra):
        for path in sorted(folder.glob("*.md")):
            found.setdefault(path.stem, path)
    return found


def load_playbook(name_or_path: str | None, extra: Path | None = None) -> Playbook:
    """Load by name from the playbook folders, or from a path to a Markdown file."""
    wanted = name_or_path or DEFAULT_PLAYBOOK
    candidate = Path(wanted)
    if candidate.suffix == ".md" and candidate.is_file():
        return parse_playbook(candidate.read_text(encoding="utf-8"), source=str(candidate))
    files = available(extra)
    if wanted not in files:
        names = ", ".join(sorted(files)) or "none"
        raise UnknownPlaybook(
            f"unknown playbook '{wanted}': choose one of {names}, or pass a path to an agent .md file"
        )
    return parse_playbook(files[wanted].read_text(encoding="utf-8"), source=str(files[wanted]))


def server_playbooks(extra: Path | None = None) -> dict[str, Path]:
    """Playbook name -> file in the server's own folders (the configured one, then the bundled one):
    what an API caller may name. The working directory is left out: it is the CLI user's, not the API's."""
    found: dict[str, Path] = {}
    for folder in dict.fromkeys(d for d in (extra, BUNDLED_DIR) if d is not None and d.is_dir()):
        for path in sorted(folder.glob("*.md")):
            found.setdefault(path.stem, path)
    return found


def resolve_local(name_or_path: str | None, extra: Path | None = None) -> str | None:
    """For the CLI: a playbook the local user names (a path, or a name in ./workflows or the playbook
    folders) as the absolute path of its file, so the run itself never searches a working directory."""
    if name_or_path is None:
        return None
    candidate = Path(name_or_path)
    if candidate.suffix == ".md" and candidate.is_file():
        return str(candidate.resolve())
    found = available(extra).get(name_or_path)
    return str(found.resolve()) if found is not None else name_or_path


def load_for_run(name_or_path: str | None, extra: Path | None = None) -> Playbook:
    """What a run loads: a name from the server's folders only, or an absolute path that the local CLI
    resolved (an HTTP or MCP caller can name playbooks only, never paths)."""
    if name_or_path and Path(name_or_path).is_absolute() and name_or_path.endswith(".md"):
        return load_playbook(name_or_path, extra)
    return load_named(name_or_path, extra)


def load_named(name: str | None, extra: Path | None = None) -> Playbook:
    """Load a playbook by name only, from the server's folders. A path, `..` or a `.md` suffix is
    refused with the same message as a name that does not exist, so an error never tells which
    files are on the server."""
    wanted = name or DEFAULT_PLAYBOOK
    files = server_playbooks(extra)
    if not PLAYBOOK_NAME.fullmatch(wanted) or wanted not in files:
        shown = wanted if len(wanted) <= 100 else wanted[:100] + "..."
        raise UnknownPlaybook(
            f"unknown playbook '{shown}': name one of {', '.join(sorted(files)) or 'none'} (GET /playbooks)"
        )
    return parse_playbook(files[wanted].read_text(encoding="utf-8"), source=f"playbook '{wanted}'")


def parse_playbook(text: str, source: str = "playbook") -> Playbook:
    if not text.startswith("---"):
        raise BadInput(f"{source}: a playbook starts with YAML frontmatter between '---' lines")
    try:
        _, front, body = text.split("---", 2)
        meta = yaml.safe_load(front) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise BadInput(
            f"{source}: unreadable frontmatter ({exc.__class__.__name__}); check the YAML between '---' lines"
        ) from None
    if not isinstance(meta, dict):
        raise BadInput(f"{source}: frontmatter must be a mapping of keys to values")
    meta.pop("tools", None)
    try:
        return Playbook(prompt=body.strip(), **meta)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise BadInput(f"{source}: invalid '{field}': {first['msg']}") from None
