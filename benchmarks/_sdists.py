"""Release sdists from PyPI, downloaded once into a cache outside the repository, and a git history built
from them: each release is one commit, so consecutive releases stand in for a real change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

CACHE = Path(os.environ.get("SPECMILL_BENCH_CACHE", Path.home() / ".cache" / "specmill-bench"))


def sdist_tree(dist: str, version: str) -> Path:
    """The release's sdist unpacked under the cache; returns its top folder (`<name>-<version>/`)."""
    target = CACHE / "sdists" / f"{dist}-{version}"
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        download = target / "download"
        download.mkdir(parents=True)
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--ignore-requires-python"]
        command += ["--no-binary", ":all:", "-d", str(download), f"{dist}=={version}"]
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            raise OSError(f"pip download {dist}=={version} failed: {proc.stderr.strip().splitlines()[-1:]}")
        archive = next(download.iterdir())
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                z.extractall(target / "tree")
        else:
            with tarfile.open(archive) as t:
                t.extractall(target / "tree", filter="data")
        shutil.rmtree(download)
        (target / ".complete").touch()
    return next(p for p in (target / "tree").iterdir() if p.is_dir())


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env).stdout


def history(dist: str, versions: list[str]) -> Path:
    """A git repository with one commit per release, tagged `v<version>`, built once under the cache."""
    repo = CACHE / "history" / f"{dist}-{versions[0]}-{versions[-1]}-{len(versions)}"
    if (repo / ".complete").exists():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for version in versions:
        tree = sdist_tree(dist, version)
        for child in repo.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        shutil.copytree(tree, repo, dirs_exist_ok=True, symlinks=True)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", f"{dist} {version}")
        git(repo, "tag", f"v{version}")
    (repo / ".complete").touch()
    git(repo, "checkout", "-q", "--detach", f"v{versions[0]}")
    return repo
