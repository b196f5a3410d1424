"""The on-disk index: every parsed file's facts, stored per tree hash, reused file by file.

Parsing is nearly all of a scan's cost, and specmill scans the same repository again and
again - once per run, each time in a fresh worktree whose files have new timestamps. So
facts are keyed by content, not by time: the git blob id of each file (taken from
`git ls-files -s` for files that match the index, which costs no reading at all) or, for
modified, untracked or non-git files, the same id computed from the bytes.

Layout under the cache directory:
- `trees/<tree hash>.marshal`: the facts of every parsed file of one tree (content-addressed,
  never changed once written). The tree hash covers each parsed path and blob id, and the
  source of the parser and of its encoding, so a new specmill version never reads an old index.
- `roots/<hash of the root path>.marshal`: which tree that checkout had, with each file's size
  and mtime, so a non-git directory is re-read only where its stat changed.
- `latest`: the last tree written, the starting point for a checkout seen for the first time.

A scan loads the snapshot of its exact tree when there is one (warm), else the previous
snapshot, and parses only the files whose (path, blob) pair that snapshot does not hold.
Both are `marshal_files` (a header, a CRC, plain data that loads without running code): written
atomically, and an unreadable or damaged file is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from specmill import __version__
from specmill.adapters.repo_scan import facts_codec, marshal_files, other_languages, symbols, walk, words
from specmill.adapters.repo_scan.walk import Listed, RepoFile, Tree, list_files, parse_plan, read_bytes
from specmill.adapters.safe_git import GitCommandFailed, run_git

KEEP_TREES = 8
"""Snapshots kept; older ones are deleted. Each is a few MB for a large repository."""
TREE, ROOT = "index tree 1", "index root 1"
"""What `marshal_files` headers say the two kinds of index file hold."""
RACY_NS = 2_000_000_000
"""A file modified this close to the last save may have changed again within the same mtime tick."""


def blob_id(data: bytes) -> str:
    """Git's id for a blob with this content, so ids from `git ls-files` and from the bytes agree."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _parser_fingerprint() -> str:
    """Changes whenever the parser's code, the Python version or the installed grammars change."""
    digest = hashlib.sha1(f"{sys.version_info[:2]} {other_languages.installed()}".encode())
    for module in (symbols, other_languages, words, facts_codec, marshal_files, walk):
        try:
            digest.update(Path(module.__file__ or "").read_bytes())
        except OSError:  # no source on disk (a frozen build): the package version stands in for it
            digest.update(f"{module.__name__} {__version__}".encode())
    return digest.hexdigest()[:16]


def git_blobs(root: Path) -> dict[str, str]:
    """Blob ids of the tracked files whose working copy matches git's index; {} when `root` is no
    work tree's top level or git is unavailable."""
    if not (root / ".git").exists():
        return {}
    try:
        staged = run_git(["ls-files", "-s", "-z"], cwd=root, text=False, timeout=60).stdout
        dirty = run_git(["diff-files", "--name-only", "-z"], cwd=root, text=False, timeout=60).stdout
    except (OSError, subprocess.SubprocessError, GitCommandFailed):
        return {}
    changed = set(dirty.split(b"\0"))
    blobs: dict[str, str] = {}
    for entry in staged.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        fields = meta.split(b" ")
        if len(fields) != 3 or fields[2] != b"0" or fields[0] == b"160000" or path in changed:
            continue
        blobs[path.decode("utf-8", errors="surrogateescape")] = fields[1].decode()
    return blobs


@dataclass(frozen=True)
class Plan:
    """A listed tree before parsing: its files, those due for parsing with their blob ids, and its hash."""

    listed: list[Listed]
    truncated: bool
    due: list[Listed]
    named: dict[str, RepoFile]
    state: dict[str, Any]
    blobs: dict[str, str]
    read: dict[str, bytes]
    tree_hash: str

    def key(self) -> str:
        """Changes when any file may have: parsed files by content, the others (configs among them) by stat."""
        return self._key

    @cached_property
    def _key(self) -> str:
        digest = hashlib.sha1(self.tree_hash.encode())
        for item in self.listed:
            if item.path in self.named:
                digest.update(f"{item.path}\0{item.size}\0{item.mtime_ns}\n".encode("utf-8", errors="surrogateescape"))
        return digest.hexdigest()


class Index:
    """One cache directory; `scan(root)` is `walk(root)` with parsing skipped where the content is known."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.fingerprint = _parser_fingerprint()

    def _tree_path(self, tree_hash: str) -> Path:
        return self.cache_dir / "trees" / f"{tree_hash}{marshal_files.SUFFIX}"

    def _state_path(self, root: Path) -> Path:
        name = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:20]
        return self.cache_dir / "roots" / f"{name}{marshal_files.SUFFIX}"

    def _load_tree(self, tree_hash: str | None) -> dict[tuple[str, str], list[Any]]:
        data = marshal_files.read(self._tree_path(tree_hash), TREE) if tree_hash else None
        if not isinstance(data, dict) or data.get("parser") != self.fingerprint:
            return {}
        with contextlib.suppress(OSError):
            os.utime(self._tree_path(tree_hash or ""))
        try:
            return {(row[1][0], row[0]): row[1] for row in data["files"]}
        except (KeyError, IndexError, TypeError):
            return {}

    def _blobs(self, root: Path, due: list[Listed], state: dict[str, Any]) -> tuple[dict[str, str], dict[str, bytes]]:
        """Each due file's blob id, reading only files neither git nor an unchanged stat vouches for."""
        from_git = git_blobs(root)
        stats = state.get("stats", {}) if isinstance(state.get("stats"), dict) else {}
        trusted_before = int(state.get("saved_ns", 0)) - RACY_NS
        blobs: dict[str, str] = {}
        read: dict[str, bytes] = {}
        for item in due:
            known = stats.get(item.path)
            if item.path in from_git:
                blobs[item.path] = from_git[item.path]
            elif isinstance(known, list) and known[:2] == [item.size, item.mtime_ns] and item.mtime_ns < trusted_before:
                blobs[item.path] = str(known[2])
            else:
                raw = read_bytes(root / item.path)
                if raw is None:
                    continue  # described as unreadable, never cached
                read[item.path] = raw
                blobs[item.path] = blob_id(raw)
        return blobs, read

    def plan(self, root: Path) -> Plan:
        """What a scan of `root` would parse, and the hash of that tree; reads only files nothing vouches for."""
        listed, truncated = list_files(root)
        due, named = parse_plan(listed)
        state = marshal_files.read(self._state_path(root), ROOT)
        state = state if isinstance(state, dict) else {}
        blobs, read = self._blobs(root, due, state)
        digest = hashlib.sha1(self.fingerprint.encode())
        for item in sorted(due, key=lambda i: i.path):
            digest.update(f"{item.path}\0{blobs.get(item.path, '-')}\n".encode("utf-8", errors="surrogateescape"))
        return Plan(listed, truncated, due, named, state, blobs, read, digest.hexdigest())

    def scan(self, root: Path, plan: Plan | None = None) -> Tree:
        """Like `walk(root)`, same result; `plan` is `self.plan(root)` when the caller has made it already."""
        plan = plan or self.plan(root)
        truncated, due, named, state, blobs, read, tree_hash = (
            plan.truncated,
            plan.due,
            plan.named,
            plan.state,
            plan.blobs,
            plan.read,
            plan.tree_hash,
        )
        exact = self._load_tree(tree_hash)
        known = exact or self._load_tree(state.get("tree")) or self._load_tree(self._latest())
        files: list[RepoFile] = list(named.values())
        rows: list[list[Any]] = []
        missing: list[Listed] = []
        for item in due:
            blob = blobs.get(item.path)
            row = known.get((item.path, blob)) if blob else None
            described = None
            if row is not None:
                with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
                    described = facts_codec.decode(row)
            if described is None:
                missing.append(item)
                continue
            files.append(described)
            rows.append([blob, row])
        if missing:  # a pool of processes takes a while to import; a warm scan never needs it
            from specmill.adapters.repo_scan.parallel import describe_all

            for item, (described, row) in zip(missing, describe_all(root, missing, read), strict=True):
                files.append(described)
                if blob := blobs.get(item.path):
                    rows.append([blob, row])
        reparsed = [item.path for item in missing]
        if not exact or reparsed:
            marshal_files.write(self._tree_path(tree_hash), TREE, {"parser": self.fingerprint, "files": rows})
            marshal_files.prune(self.cache_dir / "trees", KEEP_TREES)
        stats = {i.path: [i.size, i.mtime_ns, blobs[i.path]] for i in due if i.path in blobs}
        if not (exact and not reparsed and state.get("tree") == tree_hash and state.get("stats") == stats):
            marshal_files.write(
                self._state_path(root), ROOT, {"tree": tree_hash, "saved_ns": time.time_ns(), "stats": stats}
            )
        self._set_latest(tree_hash)
        return Tree(tuple(sorted(files, key=lambda f: f.path)), truncated, tuple(sorted(reparsed)))

    def _latest(self) -> str | None:
        with contextlib.suppress(OSError):
            return (self.cache_dir / "latest").read_text(encoding="utf-8").strip() or None
        return None

    def _set_latest(self, tree_hash: str) -> None:
        if self._latest() != tree_hash:
            with contextlib.suppress(OSError):
                (self.cache_dir / "latest").write_text(tree_hash, encoding="utf-8")
