"""An in-process Workspace for unit tests: plain directories and in-memory snapshots.

A "commit" is the hash of the tree it snapshots, so identical files give the
identical id, and `checkout` restores a snapshot exactly (extra files vanish),
which is all the phases rely on. No git is needed, so tests stay fast.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from specmill.errors import BadInput, NotAGitRepository, UnknownRef
from specmill.models import WorkspaceState

_SAFE_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Entry:
    """One file of a snapshot: `kind` is 'file', 'exec' or 'link' (data = link target)."""

    kind: str
    data: bytes


Snapshot = dict[str, Entry]


def snapshot_id(files: Snapshot) -> str:
    """Content address of a tree: the same files always give the same id."""
    digest = hashlib.sha1()
    for rel in sorted(files):
        entry = files[rel]
        digest.update(f"{rel}\0{entry.kind}\0{hashlib.sha1(entry.data).hexdigest()}\n".encode())
    return digest.hexdigest()


def read_tree(root: Path) -> Snapshot:
    """Every file under `root` except `.git`, keyed by POSIX relative path; empty dirs are dropped like git."""
    files: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath) == root and d == ".git"))
        for name in list(dirnames):
            full = Path(dirpath) / name
            if full.is_symlink():  # a link to a directory is stored as a link, not followed
                dirnames.remove(name)
                files[full.relative_to(root).as_posix()] = Entry("link", os.readlink(full).encode())
        for name in filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if rel == ".git":
                continue
            if full.is_symlink():
                files[rel] = Entry("link", os.readlink(full).encode())
            elif full.is_file():
                kind = "exec" if full.stat().st_mode & stat.S_IXUSR else "file"
                files[rel] = Entry(kind, full.read_bytes())
    return files


def write_tree(root: Path, files: Snapshot) -> None:
    """Make `root` hold exactly `files` (everything else is deleted)."""
    if root.exists() or root.is_symlink():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for rel, entry in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if entry.kind == "link":
            os.symlink(entry.data.decode(), target)
        else:
            target.write_bytes(entry.data)
            target.chmod(0o755 if entry.kind == "exec" else 0o644)


class DirectoryWorkspace:
    """Worktrees are `data_dir/worktrees/<run_id>`; `repo` is any directory (no git needed)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.snapshots: dict[str, Snapshot] = {}
        self.heads: dict[str, str] = {}  # branch -> commit
        self.bases: dict[str, tuple[str, str]] = {}  # run id -> (base ref, base commit)

    def prepare(self, run_id: str, repo: str, branch: str, base_ref: str | None) -> WorkspaceState:
        """Snapshot `repo` as the base (or use a known snapshot id as `base_ref`); idempotent."""
        root = Path(repo)
        if not root.is_dir():
            raise NotAGitRepository(f"'{repo}' is not a git repository: pass --repo the root of a git checkout")
        ref = base_ref or "HEAD"
        if run_id in self.bases:
            ref, base = self.bases[run_id]
        elif ref == "HEAD":
            base = self._store(read_tree(root))
        elif ref in self.snapshots:
            base = ref
        else:
            raise UnknownRef(f"'{ref}' is not a commit in {repo}: pass --base a branch, tag or commit that exists there")
        self.bases[run_id] = (ref, base)
        head = self.heads.setdefault(branch, base)
        path = self._path(run_id)
        if not path.exists():
            write_tree(path, self.snapshots[head])
        return WorkspaceState(
            run_id=run_id, repo=str(root), path=str(path), branch=branch,
            base_ref=ref, base_commit=base, head_commit=head,
        )

    def checkout(self, state: WorkspaceState, commit: str) -> Path:
        files = self._get(commit)
        path = self._path(state.run_id)
        write_tree(path, files)
        self.heads[state.branch] = commit
        return path

    def commit_all(self, state: WorkspaceState, message: str) -> str:
        """The snapshot id of the directory as it is; equal to HEAD when nothing changed."""
        commit = self._store(read_tree(self._path(state.run_id)))
        self.heads[state.branch] = commit
        return commit

    def diff(self, state: WorkspaceState, head_commit: str) -> str:
        return diff_snapshots(self._get(state.base_commit), self._get(head_commit))

    def tree_id(self, state: WorkspaceState, commit: str) -> str:
        """Commits are trees here; kept for parity with `GitWorktreeWorkspace.tree_id`."""
        self._get(commit)
        return commit

    def files(self, commit: str) -> dict[str, str]:
        """Text of every file of a snapshot, for assertions in tests."""
        return {rel: e.data.decode("utf-8", "replace") for rel, e in self._get(commit).items()}

    def _store(self, files: Snapshot) -> str:
        commit = snapshot_id(files)
        self.snapshots.setdefault(commit, files)
        return commit

    def _get(self, commit: str) -> Snapshot:
        try:
            return self.snapshots[commit]
        except KeyError:
            raise UnknownRef(f"'{commit}' is not a known snapshot of this workspace") from None

    def _path(self, run_id: str) -> Path:
        if not _SAFE_RUN_ID.match(run_id):
            raise BadInput(f"run id '{run_id}' may only contain letters, digits, '.', '_' and '-'")
        return self.data_dir / "worktrees" / run_id


def diff_snapshots(old: Snapshot, new: Snapshot) -> str:
    """A git-style unified diff of two snapshots (binary files are only named)."""
    out: list[str] = []
    for rel in sorted(set(old) | set(new)):
        a, b = old.get(rel), new.get(rel)
        if a == b:
            continue
        out.append(f"diff --git a/{rel} b/{rel}\n")
        try:
            a_lines = a.data.decode().splitlines(keepends=True) if a else []
            b_lines = b.data.decode().splitlines(keepends=True) if b else []
        except UnicodeDecodeError:
            out.append(f"Binary files a/{rel} and b/{rel} differ\n")
            continue
        for line in difflib.unified_diff(
            a_lines, b_lines, fromfile=f"a/{rel}" if a else "/dev/null", tofile=f"b/{rel}" if b else "/dev/null"
        ):
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
