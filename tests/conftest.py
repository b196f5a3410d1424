"""Shared fixtures live in tests/fixtures/, one module per real service."""

import os
from collections.abc import Iterator

import pytest

pytest_plugins = [
    "tests.fixtures.basic_memory",
    "tests.fixtures.cli",
    "tests.fixtures.git_repos",
    "tests.fixtures.messages_server",
    "tests.fixtures.runtime",
    "tests.fixtures.workflow",
    "tests.fixtures.api",
    "tests.fixtures.browser",
    "tests.fixtures.environments",
    "tests.fixtures.github",
]


@pytest.fixture(scope="session", autouse=True)
def no_user_settings_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Settings come from the environment alone: the developer's own ~/.config/specmill/specmill.toml is
    never read (every specmill process the tests start inherits this)."""
    previous = {name: os.environ.get(name) for name in ("XDG_CONFIG_HOME", "SPECMILL_CONFIG")}
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))
    os.environ.pop("SPECMILL_CONFIG", None)
    yield
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session", autouse=True)
def shared_environments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One folder of repository environments (and uv cache) for the session, so the specmill processes
    the end-to-end tests start build the sample repositories' environments once, not once a test."""
    previous = os.environ.get("SPECMILL_ENVIRONMENTS_DIR")
    os.environ["SPECMILL_ENVIRONMENTS_DIR"] = str(tmp_path_factory.mktemp("environments"))
    yield
    if previous is None:
        os.environ.pop("SPECMILL_ENVIRONMENTS_DIR", None)
    else:
        os.environ["SPECMILL_ENVIRONMENTS_DIR"] = previous


@pytest.fixture(scope="session", autouse=True)
def sample_pytest_without_plugins() -> Iterator[None]:
    """The sample repositories' tests need no pytest plugins, and this venv's (hypothesis,
    schemathesis) take seconds to load in every pytest that specmill starts; specmill passes the
    variable through. Set once the session runs, so this pytest (and xdist's workers) load theirs."""
    previous = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    yield
    if previous is None:
        os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    else:
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = previous
