"""Anthropic's text editor tool (`text_editor_20250728`, `str_replace_based_edit_tool`) on a worktree.

The model sees the repository root as `/`: relative paths and paths with a leading
`/` both name files under the root (an absolute path under the real root is also
understood). Anything that would leave the root, go through a symlink pointing
out of it, or touch `.git` is refused, and so is any change to a protected path
(test configuration, CI, playbooks: see `protected_paths`). Every problem is
returned as a tool error the model can read and act on; nothing here raises.

Input names follow the tool as the model emits it: `view` (path, view_range),
`create` (path, file_text), `str_replace` (path, old_str, new_str) and `insert`
(path, insert_line, insert_text; `new_str` is accepted too, the older spelling).
`view` numbers lines as `N: text`, the format the tool's documentation shows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from specmill.phases.protected_paths import DEFAULT_PROTECTED, changed_section, protecting_rule, section_rules

EDITOR_TOOL_TYPE = "text_editor_20250728"
EDITOR_TOOL_NAME = "str_replace_based_edit_tool"
MAX_FILE_BYTES = 256 * 1024
MAX_VIEW_CHARS = 20_000
MAX_LISTING = 400
SNIPPET_CONTEXT = 4
SKIPPED_DIRS = {"__pycache__", "node_modules"}

EXPECTED = {
    "view": "view takes {path: string, view_range?: [start, end]} (1-based lines, end -1 = to the end)",
    "create": "create takes {path: string, file_text: string}",
    "str_replace": "str_replace takes {path: string, old_str: string, new_str: string}",
    "insert": "insert takes {path: string, insert_line: integer (0 = top), insert_text: string}",
}


class EditorResult(BaseModel):
    """What the model reads back, and whether the worktree changed (then a commit follows)."""

    model_config = ConfigDict(frozen=True)

    text: str
    is_error: bool = False
    changed: bool = False


class _Refused(Exception):
    """Internal: turns into an error result at the top."""


@dataclass(frozen=True)
class _Guard:
    """What a write must not change: the protected sections that apply to this file."""

    shown: str
    sections: tuple[str, ...] = ()

    def check(self, target: Path, new_text: str) -> None:
        if not self.sections:
            return
        before = target.read_text(encoding="utf-8", errors="replace") if target.is_file() else ""
        section = changed_section(before, new_text, self.sections)
        if section:
            raise _Refused(
                f"No change was made: the [{section}] section of {self.shown} is protected (it configures how the "
                "tests run); leave that section as it is and change the code or the tests instead"
            )


def run_editor_command(
    root: Path,
    tool_input: dict[str, Any],
    max_characters: int = MAX_VIEW_CHARS,
    protected: Sequence[str] | None = None,
) -> EditorResult:
    """Execute one editor call under `root`; problems come back as `is_error` results.

    `protected` replaces `DEFAULT_PROTECTED`, the paths write commands may not change.
    """
    try:
        if not isinstance(tool_input, dict):
            raise _Refused(f"the input must be a JSON object; {_commands()}")
        command = tool_input.get("command")
        if not isinstance(command, str):
            raise _Refused(f"command is missing or not a string; {_commands()}")
        if command == "undo_edit":
            raise _Refused("undo_edit is not available in text_editor_20250728: edit the file again to revert a change")
        if command not in EXPECTED:
            raise _Refused(f"unknown command {command!r}; {_commands()}")
        raw = _field(tool_input, command, "path", str)
        target, shown = _resolve(Path(root), raw)
        if command == "view":
            return _view(Path(root), target, shown, tool_input.get("view_range"), max_characters)
        guard = _guard(Path(root), target, shown, DEFAULT_PROTECTED if protected is None else protected)
        if command == "create":
            return _create(target, shown, _field(tool_input, command, "file_text", str), guard)
        if command == "str_replace":
            old = _field(tool_input, command, "old_str", str)
            new = tool_input.get("new_str", "")
            if not isinstance(new, str):
                raise _Refused(f"new_str must be a string; {EXPECTED[command]}")
            return _str_replace(target, shown, old, new, guard)
        line = _field(tool_input, command, "insert_line", int)
        key = "insert_text" if "insert_text" in tool_input else "new_str"
        return _insert(target, shown, line, _field(tool_input, command, key, str, shown_name="insert_text"), guard)
    except _Refused as exc:
        return EditorResult(text=str(exc), is_error=True)
    except OSError as exc:
        return EditorResult(text=f"the file system refused: {_describe(Path(root), exc)}", is_error=True)


def _describe(root: Path, exc: OSError) -> str:
    """The OS error with the path shown as the model knows it (relative to the root)."""
    where = ""
    if exc.filename:
        try:
            where = f" ({Path(exc.filename).relative_to(root.resolve()).as_posix()})"
        except ValueError:
            pass
    return f"{exc.strerror or exc}{where}"


def _commands() -> str:
    return "expected one of: " + "; ".join(EXPECTED.values())


def _field(data: dict[str, Any], command: str, name: str, kind: type, shown_name: str | None = None) -> Any:
    value = data.get(name)
    if value is None or not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        problem = "is missing" if value is None else f"must be {'an integer' if kind is int else 'a string'}"
        raise _Refused(f"{shown_name or name} {problem}; {EXPECTED[command]}")
    return value


def _resolve(root: Path, raw: str) -> tuple[Path, str]:
    """Map a model path onto the worktree; refuse escapes, symlinks out, and `.git`."""
    if not raw.strip() or "\0" in raw:
        raise _Refused(f"path {raw!r} is not a usable path; paths are relative to the repository root")
    real_root = root.resolve()
    candidate = Path(raw)
    if candidate.is_absolute():
        inside_real = candidate == real_root or real_root in candidate.parents
        candidate = candidate.relative_to(real_root) if inside_real else Path(raw.lstrip("/"))
    normal = os.path.normpath(candidate.as_posix()) if candidate.parts else "."
    if normal == ".." or normal.startswith("../"):
        raise _Refused(f"path '{raw}' is outside the repository; only files under the repository root can be used")
    if _touches_git(Path(normal)):
        raise _Refused(f"path '{raw}' is inside .git; the repository's git data cannot be read or changed")
    try:
        resolved = (real_root / normal).resolve()
    except RuntimeError:  # a symlink loop
        raise _Refused(f"path '{raw}' goes through a symlink loop") from None
    if resolved != real_root and real_root not in resolved.parents:
        raise _Refused(f"path '{raw}' goes through a symlink that leads outside the repository; that is not allowed")
    if _touches_git(resolved.relative_to(real_root)):
        raise _Refused(f"path '{raw}' leads into .git; the repository's git data cannot be read or changed")
    return resolved, (normal if normal != "." else "/")


def _guard(root: Path, target: Path, shown: str, rules: Sequence[str]) -> _Guard:
    """Refuse a write to a protected path (as asked or after symlinks) before anything is read."""
    rel_paths = [shown, target.relative_to(root.resolve()).as_posix()]
    rule = protecting_rule(rel_paths, rules)
    if rule:
        raise _Refused(
            f"{shown} is protected (rule '{rule}'): the test configuration, CI files and playbooks cannot be "
            "changed; change the code or the tests instead"
        )
    return _Guard(shown, tuple(section_rules(rel_paths, rules)))


def _touches_git(rel: Path) -> bool:
    return any(part.lower() == ".git" for part in rel.parts)


def _read_text(target: Path, shown: str) -> str:
    if not target.exists():
        raise _Refused(f"{shown} does not exist; use create to make a new file")
    if target.is_dir():
        raise _Refused(f"{shown} is a directory; this command needs a file")
    if not target.is_file():
        raise _Refused(f"{shown} is not a regular file")
    size = target.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _Refused(
            f"{shown} is {size} bytes, over the {MAX_FILE_BYTES}-byte limit of one call; "
            "it cannot be opened with this tool"
        )
    data = target.read_bytes()
    if b"\0" in data[:8192]:
        raise _Refused(f"{shown} is a binary file; this tool works on text files only")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(f"{shown} is a binary file (not UTF-8 text); this tool works on text files only") from None


def _write_text(target: Path, shown: str, text: str, guard: _Guard) -> None:
    data = text.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise _Refused(
            f"the new content of {shown} would be {len(data)} bytes, over the {MAX_FILE_BYTES}-byte limit "
            "of one call; split it into smaller files"
        )
    guard.check(target, text)
    target.write_bytes(data)


def _lines(text: str) -> list[str]:
    """Lines as numbered by `view` and `insert`: a final newline does not start a new line."""
    return text[:-1].split("\n") if text.endswith("\n") else (text.split("\n") if text else [])


def _numbered(lines: list[str], first: int) -> list[str]:
    return [f"{first + i}: {line}" for i, line in enumerate(lines)]


def _view(root: Path, target: Path, shown: str, view_range: Any, max_characters: int) -> EditorResult:
    if target.is_dir():
        if view_range is not None:
            raise _Refused("view_range applies to files only; view the directory without it")
        return EditorResult(text=_listing(root.resolve(), target, shown))
    lines = _lines(_read_text(target, shown))
    start, end = _range(view_range, len(lines), shown)
    if not lines:
        return EditorResult(text=f"{shown} is empty")
    out: list[str] = []
    budget = max_characters
    for line in _numbered(lines[start - 1 : end], start):
        if len(line) + 1 > budget:
            if not out:  # one enormous line: show its start rather than nothing
                out.append(line[:budget])
            shown_end = start + max(len(out), 1) - 1
            out.append(
                f"[output truncated: showed lines {start}-{shown_end} of {len(lines)}; use view_range to see the rest]"
            )
            break
        out.append(line)
        budget -= len(line) + 1
    return EditorResult(text="\n".join(out))


def _range(view_range: Any, count: int, shown: str) -> tuple[int, int]:
    """Validate a 1-based [start, end] (end -1 = last line); an end past the file is clamped."""
    if view_range is None:
        return 1, count
    if (
        not isinstance(view_range, list)
        or len(view_range) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in view_range)
    ):
        raise _Refused(f"view_range must be a list of two integers [start, end]; {EXPECTED['view']}")
    start, end = view_range
    if start < 1 or (count and start > count) or (end != -1 and end < start):
        raise _Refused(
            f"view_range {view_range} does not fit {shown}, which has {count} lines: "
            "use [start, end] with 1 <= start <= end, or end -1 for the last line"
        )
    return start, count if end == -1 else min(end, count)


def _listing(root: Path, target: Path, shown: str) -> str:
    """Files and directories up to 2 levels deep, hidden entries and caches left out."""
    entries: list[str] = []
    for depth_one in sorted(target.iterdir()):
        if depth_one.name.startswith(".") or depth_one.name in SKIPPED_DIRS:
            continue
        entries.append(_entry(root, depth_one))
        if depth_one.is_dir() and not depth_one.is_symlink():
            for depth_two in sorted(depth_one.iterdir()):
                if not (depth_two.name.startswith(".") or depth_two.name in SKIPPED_DIRS):
                    entries.append(_entry(root, depth_two))
    header = f"Files and directories up to 2 levels deep in {shown}, excluding hidden items:"
    if len(entries) > MAX_LISTING:
        entries = entries[:MAX_LISTING] + [
            f"[listing truncated after {MAX_LISTING} entries; view a subdirectory to see more]"
        ]
    return "\n".join([header, *(entries or ["(empty)"])])


def _entry(root: Path, path: Path) -> str:
    rel = path.relative_to(root).as_posix()
    return f"{rel}/" if path.is_dir() else rel


def _create(target: Path, shown: str, text: str, guard: _Guard) -> EditorResult:
    if target.is_dir():
        raise _Refused(f"{shown} is a directory; create needs a file path")
    existed = target.exists()
    if existed and not target.is_file():
        raise _Refused(f"{shown} is not a regular file")
    if existed and target.stat().st_size <= MAX_FILE_BYTES and target.read_bytes() == text.encode("utf-8"):
        return EditorResult(text=f"{shown} already has exactly this content; nothing changed")
    guard.check(target, text)  # before mkdir, so a refusal leaves no empty directories behind
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_text(target, shown, text, guard)
    verb = "overwritten" if existed else "created"
    return EditorResult(text=f"File {verb} successfully at: {shown}", changed=True)


def _occurrence_lines(text: str, needle: str) -> list[int]:
    """1-based line of every (even overlapping) occurrence: all must be unambiguous."""
    found, at = [], text.find(needle)
    while at != -1:
        found.append(text.count("\n", 0, at) + 1)
        at = text.find(needle, at + 1)
    return found


def _str_replace(target: Path, shown: str, old: str, new: str, guard: _Guard) -> EditorResult:
    if not old:
        raise _Refused(f"old_str must not be empty; {EXPECTED['str_replace']}")
    text = _read_text(target, shown)
    where = _occurrence_lines(text, old)
    if not where:
        raise _Refused(
            f"No replacement was performed: old_str did not appear verbatim in {shown}. "
            "View the file and copy the text exactly, whitespace included."
        )
    if len(where) > 1:
        lines = ", ".join(str(n) for n in where[:20])
        raise _Refused(
            f"No replacement was performed: old_str occurs {len(where)} times in {shown} (lines {lines}); "
            "include more surrounding lines so it matches exactly once."
        )
    at = text.index(old)
    updated = text[:at] + new + text[at + len(old) :]
    if updated == text:
        return EditorResult(text=f"old_str and new_str are identical; {shown} is unchanged")
    _write_text(target, shown, updated, guard)
    first = where[0]
    return EditorResult(text=_edited(shown, updated, first, first + new.count("\n")), changed=True)


def _insert(target: Path, shown: str, insert_line: int, insert_text: str, guard: _Guard) -> EditorResult:
    text = _read_text(target, shown)
    lines = _lines(text)
    if not 0 <= insert_line <= len(lines):
        raise _Refused(
            f"insert_line {insert_line} is out of range: {shown} has {len(lines)} lines, so use 0 (top) to {len(lines)}"
        )
    if not insert_text:
        return EditorResult(text=f"insert_text is empty; {shown} is unchanged")
    new_lines = _lines(insert_text) or [""]
    lines[insert_line:insert_line] = new_lines
    ends_with_newline = text.endswith("\n") or not text
    updated = "\n".join(lines) + ("\n" if ends_with_newline else "")
    _write_text(target, shown, updated, guard)
    return EditorResult(text=_edited(shown, updated, insert_line + 1, insert_line + len(new_lines)), changed=True)


def _edited(shown: str, text: str, first: int, last: int) -> str:
    lines = _lines(text)
    start = max(1, first - SNIPPET_CONTEXT)
    end = min(len(lines), last + SNIPPET_CONTEXT)
    snippet = "\n".join(_numbered(lines[start - 1 : end], start))
    return (
        f"The file {shown} has been edited. A snippet of the result:\n{snippet}\n"
        "Review the change and edit again if it is not as intended."
    )
