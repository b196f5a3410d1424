"""Paths the model may read but not change: how the tests run, CI, and specmill's playbooks.

A model that is asked to make tests pass can also make them pass by editing what runs
them (deselecting tests in `pytest.ini`, rewriting the CI job, loosening its own
playbook). Those files are refused to the file tools' write commands; views stay
allowed, because knowing the test configuration helps the model.

A rule is an `fnmatch` pattern on the path relative to the repository root, compared
case-insensitively (`*` also matches `/`), and it covers everything below a matching
directory. `path#section` protects one section of a TOML or INI file instead of the
whole file, so a model can still add a dependency to `pyproject.toml` but cannot touch
its `[tool.pytest.ini_options]`. Sections are compared as parsed (tomllib, configparser),
never as text lines: `[tool . pytest . ini_options]` is the same table, and a header
inside a multi-line string is no header. A file that does not parse counts as changed.
"""

from __future__ import annotations

import configparser
import fnmatch
import tomllib
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
        path, section = rule.split("#", 1)
        if section_value(before, path, section) != section_value(after, path, section):
            return section
    return None


def _matches(rel: str, pattern: str) -> bool:
    path = PurePosixPath(rel.lower())
    pattern = pattern.lower().strip("/")
    candidates = [path, *path.parents][:-1]  # the path and every directory above it, not "."
    return any(fnmatch.fnmatchcase(str(candidate), pattern) for candidate in candidates)


def section_value(text: str, path: str, section: str) -> object:
    """What `section` (and its sub-sections) of a TOML or INI file holds, as parsed; text that does not
    parse is returned whole, so any change to it counts."""
    if path.lower().endswith(".toml"):
        try:
            node: object = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return ("unparsable", text)
        for key in section.split("."):
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node
    parser = configparser.RawConfigParser(strict=False, default_section="\0none")
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return ("unparsable", text)
    return {
        name: dict(parser.items(name))
        for name in parser.sections()
        if name.strip() == section or name.strip().startswith(section + ".")
    }
