"""Paths the model may read but not change: how the tests run, CI, and specmill's playbooks.

A model that is asked to make tests pass can also make them pass by editing what runs
them (deselecting tests in `pytest.ini`, rewriting the CI job, loosening its own
playbook). Those files are refused to the file tools' write commands; views stay
allowed, because knowing the test configuration helps the model.

A rule is an `fnmatch` pattern on the path relative to the repository root, compared
case-insensitively (`*` also matches `/`), and it covers everything below a matching
directory. `path#section` protects one section of a TOML or INI file instead of the
whole file, so a model can still add a dependency to `pyproject.toml` but cannot touch
its `[tool.pytest.ini_options]`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from pathlib import PurePosixPath

DEFAULT_PROTECTED: tuple[str, ...] = (
    # the test command's configuration
    "pytest.ini",
    "tox.ini",
    "noxfile.py",
    "pyproject.toml#tool.pytest",
    "setup.cfg#tool:pytest",
    # continuous integration
    ".github",
    ".gitlab-ci.yml",
    ".gitlab",
    ".circleci",
    ".travis.yml",
    "azure-pipelines.yml",
    "Jenkinsfile",
    ".buildkite",
    ".drone.yml",
    "bitbucket-pipelines.yml",
    # playbooks and agent definitions
    "workflows/*.md",
    ".claude",
)
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:[#;].*)?$")


def protecting_rule(rel_paths: Sequence[str], rules: Sequence[str]) -> str | None:
    """The whole-file rule that forbids changing any of `rel_paths` (as asked, as resolved)."""
    for rel in rel_paths:
        for rule in rules:
            if "#" not in rule and _matches(rel, rule):
                return rule
    return None


def section_rules(rel_paths: Sequence[str], rules: Sequence[str]) -> list[str]:
    """The `path#section` rules that apply to a file (so its old and new text must be compared)."""
    return [rule for rule in rules if "#" in rule and any(_matches(rel, rule.split("#", 1)[0]) for rel in rel_paths)]


def changed_section(before: str, after: str, rules: Sequence[str]) -> str | None:
    """The first protected section whose text differs between `before` and `after`."""
    for rule in rules:
        section = rule.split("#", 1)[1]
        if _section_text(before, section) != _section_text(after, section):
            return section
    return None


def _matches(rel: str, pattern: str) -> bool:
    path = PurePosixPath(rel.lower())
    pattern = pattern.lower().strip("/")
    candidates = [path, *path.parents][:-1]  # the path and every directory above it, not "."
    return any(fnmatch.fnmatchcase(str(candidate), pattern) for candidate in candidates)


def _section_text(text: str, section: str) -> str:
    """Every line of `section` and its sub-sections (`[tool.pytest]`, `[tool.pytest.ini_options]`)."""
    kept: list[str] = []
    inside = False
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            name = header.group(1).strip().strip('"')
            inside = name == section or name.startswith(section + ".")
        if inside:
            kept.append(line.rstrip())
    return "\n".join(kept)
