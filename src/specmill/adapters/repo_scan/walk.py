"""List the files worth describing, and read Python sources - never importing or running them."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from specmill.adapters.repo_scan.other_languages import grammar_for, parse_other
from specmill.adapters.repo_scan.symbols import PyFacts, parse_module

SKIP_DIRS = frozenset(
    {"node_modules", "__pycache__", "build", "dist", "site-packages", "venv", "htmlcov", "__pypackages__"}
)
BINARY_SUFFIXES = frozenset(
    ".png .jpg .jpeg .gif .ico .bmp .webp .svgz .pdf .zip .gz .tgz .bz2 .xz .7z .tar .whl .egg .so .dylib"
    " .dll .exe .bin .pyc .pyo .pyd .db .sqlite .sqlite3 .woff .woff2 .ttf .otf .eot .mp3 .mp4 .wav .mov"
    " .avi .jar .class .pkl .pickle .parquet .npy .npz .h5 .onnx .pt .pth .safetensors".split()
)
MAX_PARSE_BYTES = 400_000
"""Python files above this are listed by name: parsing them costs seconds and they rarely teach conventions."""
MAX_PARSE_TOTAL = 64_000_000
"""Parse at most this many bytes, shallow files first; the rest are listed by name. Parsing runs at
about 2 MB/s, so the first scan of a 50 MB tree takes ~25 s; the on-disk index (see `index`) then
brings later scans to a few seconds, and this cap keeps a monorepo's first scan near half a minute."""
MAX_FILES = 20_000
"""Stop walking after this many files so a huge monorepo still yields a brief quickly."""


@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int
    facts: PyFacts | None = None
    note: str = ""

    @property
    def is_python(self) -> bool:
        return self.path.endswith(".py")

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Tree:
    files: tuple[RepoFile, ...]
    truncated: bool
    reparsed: tuple[str, ...] = ()
    """Files a cached scan had to parse because the cache did not know their content."""


def _skip_dir(name: str) -> bool:
    """A folder skipped by its name; a virtualenv (any folder below the root holding `pyvenv.cfg`) is
    skipped once listed, which costs no extra call per folder."""
    return name.startswith(".") or name in SKIP_DIRS or name.endswith(".egg-info")


def module_name(path: str) -> tuple[str, bool]:
    """Dotted module for a repository-relative path, and whether it is a package `__init__`."""
    parts = path[: -len(".py")].split("/")
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


class Listed(NamedTuple):
    """A file found by the walk, before anything is read: what the index keys its cache on.
    A tuple: a large repository lists tens of thousands, and a tuple is the cheapest record to build."""

    path: str
    size: int
    mtime_ns: int


Describe = Callable[[Path, Listed], RepoFile]
"""Turns a listed file that is due for parsing into a RepoFile; the index wraps `describe` with its cache."""


def parses(path: str) -> bool:
    """Files whose content the brief describes: Python, and languages with an installed grammar."""
    return path.endswith(".py") or grammar_for(path) is not None


def describe(root: Path, listed: Listed, raw: bytes | None = None) -> RepoFile:
    """Read and parse one file; `raw` is its content when the caller has read it already."""
    rel, size = listed.path, listed.size
    if raw is None:
        raw = read_bytes(root / rel)
        if raw is None:
            return RepoFile(rel, size, note="unreadable")
    if b"\0" in raw:
        return RepoFile(rel, size, note="binary")
    text = raw.decode("utf-8", errors="replace")
    if not rel.endswith(".py"):
        return RepoFile(rel, size, facts=parse_other(rel, text))
    module, is_package = module_name(rel)
    try:
        facts = parse_module(text, module, is_package)
    except SyntaxError as exc:
        return RepoFile(rel, size, note=f"syntax error at line {exc.lineno}")
    except (ValueError, RecursionError, MemoryError):
        return RepoFile(rel, size, note="could not be parsed")
    return RepoFile(rel, size, facts=facts)


def list_files(root: Path) -> tuple[list[Listed], bool]:
    """Every file under `root` except VCS data, virtualenvs, caches, build output and binaries; and
    whether the listing stopped at MAX_FILES. Sorted by path, directory by directory."""
    found: list[Listed] = []
    pending = [(str(root), "")]
    by_name = attrgetter("name")
    while pending:
        folder, rel_dir = pending.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=by_name)
        except OSError:
            continue
        if rel_dir and any(entry.name == "pyvenv.cfg" for entry in entries):
            continue
        subdirs = []
        for entry in entries:
            name = entry.name
            if not name.isascii() and not _is_utf8(name):
                continue  # a name that is no UTF-8 can be neither shown to the model nor sent over its API
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not _skip_dir(name):
                        subdirs.append((entry.path, f"{rel_dir}{name}/"))
                    continue
                dot = name.rfind(".")  # the suffix as `os.path.splitext` finds it, the name not starting with "."
                if name[0] == "." or (dot > 0 and name[dot:].lower() in BINARY_SUFFIXES):
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found.append(Listed(f"{rel_dir}{name}", stat.st_size, stat.st_mtime_ns))
            if len(found) >= MAX_FILES:
                return found, True
        pending.extend(reversed(subdirs))
    return found, False


def _is_utf8(name: str) -> bool:
    """Whether a name from the file system is text: bytes that are not UTF-8 come as lone surrogates."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_plan(listed: list[Listed]) -> tuple[list[Listed], dict[str, RepoFile]]:
    """Which files get parsed, shallow files first within MAX_PARSE_TOTAL; the others, described by name.

    The plan depends on paths and sizes only, so a cached scan parses exactly what a cold one does.
    """
    due: list[Listed] = []
    named: dict[str, RepoFile] = {}
    parsed_bytes = 0
    for item in sorted(listed, key=lambda item: (item.path.count("/"), item.path)):
        rel, size = item.path, item.size
        if not parses(rel):
            named[rel] = RepoFile(rel, size)
        elif size > MAX_PARSE_BYTES:
            named[rel] = RepoFile(rel, size, note=f"{size / 1_000_000:.1f} MB, not parsed")
        elif parsed_bytes + size > MAX_PARSE_TOTAL:
            parsed_bytes += size
            named[rel] = RepoFile(rel, size, note="not parsed: repository over the parse limit")
        else:
            parsed_bytes += size
            due.append(item)
    return due, named


def walk(root: Path, describe_file: Describe | None = None) -> Tree:
    """List the tree and describe every file; `describe_file` lets a cache stand in for parsing."""
    listed, truncated = list_files(root)
    due, named = parse_plan(listed)
    run = describe_file or describe
    described = list(named.values()) + [run(root, item) for item in due]
    return Tree(tuple(sorted(described, key=lambda f: f.path)), truncated)


def read_bytes(path: Path, limit: int | None = None) -> bytes | None:
    """A regular file's bytes, never through a symbolic link: a link could point out of the repository.

    The walk skips links and does not descend into linked folders, so only the last component
    can be one; `O_NOFOLLOW` refuses it at open time, with no window between a check and the read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        try:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or (limit is not None and info.st_size > limit):
                return None
            return handle.read()
        except OSError:
            return None


def read_text(path: Path, limit: int = 1_000_000) -> str | None:
    """A small text file's content, or None when it is missing, huge, not text or a symbolic link."""
    raw = read_bytes(path, limit)
    try:
        return raw.decode("utf-8") if raw is not None else None
    except UnicodeDecodeError:
        return None
