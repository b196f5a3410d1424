"""Shared fixtures live in tests/fixtures/, one module per real service."""

pytest_plugins = [
    "tests.fixtures.basic_memory",
    "tests.fixtures.cli",
    "tests.fixtures.git_repos",
    "tests.fixtures.messages_server",
    "tests.fixtures.runtime",
    "tests.fixtures.workflow",
    "tests.fixtures.api",
]
