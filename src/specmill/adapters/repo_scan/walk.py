"""List the files worth describing, and read Python sources - never importing or running them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
MAX_PARSE_TOTAL = 12_000_000
"""Parse at most this many bytes of Python, shallow files first, so a monorepo stays within seconds."""
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


def _skip_dir(path: Path, name: str) -> bool:
    return (
        name.startswith(".")
        or name in SKIP_DIRS
        or name.endswith(".egg-info")
        or (path / name / "pyvenv.cfg").exists()
    )


def module_name(path: str) -> tuple[str, bool]:
    """Dotted module for a repository-relative path, and whether it is a package `__init__`."""
    parts = path[: -len(".py")].split("/")
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _describe(root: Path, rel: str, size: int, over_total: bool) -> RepoFile:
    if not rel.endswith(".py"):
        return RepoFile(rel, size)
    if size > MAX_PARSE_BYTES:
        return RepoFile(rel, size, note=f"{size / 1_000_000:.1f} MB, not parsed")
    if over_total:
        return RepoFile(rel, size, note="not parsed: repository over the parse limit")
    try:
        raw = (root / rel).read_bytes()
    except OSError:
        return RepoFile(rel, size, note="unreadable")
    if b"\0" in raw:
        return RepoFile(rel, size, note="binary")
    module, is_package = module_name(rel)
    try:
        facts = parse_module(raw.decode("utf-8", errors="replace"), module, is_package)
    except SyntaxError as exc:
        return RepoFile(rel, size, note=f"syntax error at line {exc.lineno}")
    except (ValueError, RecursionError, MemoryError):
        return RepoFile(rel, size, note="could not be parsed")
    return RepoFile(rel, size, facts=facts)


def walk(root: Path) -> Tree:
    """Every file under `root` except VCS data, virtualenvs, caches, build output and binaries."""
    found: list[tuple[str, int]] = []
    truncated = False
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(here, d))
        rel_dir = here.relative_to(root).as_posix()
        for name in sorted(filenames):
            if name.startswith(".") or Path(name).suffix.lower() in BINARY_SUFFIXES:
                continue
            full = here / name
            if full.is_symlink() or not full.is_file():
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            try:
                found.append((rel, full.stat().st_size))
            except OSError:
                continue
            if len(found) >= MAX_FILES:
                truncated = True
                break
        if truncated:
            break
    parsed_bytes = 0
    described = []
    for rel, size in sorted(found, key=lambda item: (item[0].count("/"), item[0])):
        if rel.endswith(".py") and size <= MAX_PARSE_BYTES:
            parsed_bytes += size
        described.append(_describe(root, rel, size, parsed_bytes > MAX_PARSE_TOTAL))
    return Tree(tuple(sorted(described, key=lambda f: f.path)), truncated)


def read_text(path: Path, limit: int = 1_000_000) -> str | None:
    """A small text file's content, or None when it is missing, huge or not text."""
    try:
        if not path.is_file() or path.stat().st_size > limit:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
