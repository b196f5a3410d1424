"""Runtime checks that need no database."""

from __future__ import annotations

import sqlite3
import sys

import pytest

from specmill import runtime
from specmill.config import Settings
from specmill.errors import EnvironmentProblem


def test_old_sqlite_on_python_312_stops_with_a_clear_message(monkeypatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 12, 1, "final", 0))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.40.1")
    with pytest.raises(EnvironmentProblem, match=r"needs SQLite >= 3\.42 .*DBOS_SYSTEM_DATABASE_URL"):
        runtime.check_sqlite_support("sqlite:///x.sqlite")


@pytest.mark.parametrize(("python", "sqlite"), [((3, 11, 7), "3.40.1"), ((3, 12, 1), "3.42.0")])
def test_sqlite_is_fine_where_dbos_supports_it(monkeypatch, python, sqlite) -> None:
    monkeypatch.setattr(sys, "version_info", python)
    monkeypatch.setattr(sqlite3, "sqlite_version", sqlite)
    runtime.check_sqlite_support("sqlite:///x.sqlite")


def test_postgres_is_never_refused(monkeypatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 12, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.30.0")
    runtime.check_sqlite_support("postgresql://u@h/db")


def test_dbos_config_carries_an_explicit_executor_id_and_version(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, executor_id="worker-a", app_version="7.0")
    config = runtime.dbos_config(settings)
    assert config["executor_id"] == "worker-a" and config["application_version"] == "7.0"
    assert config["system_database_url"].startswith("sqlite:///") and str(tmp_path) in config["system_database_url"]
    assert runtime.dbos_config(settings, executor_id="cli-abc")["executor_id"] == "cli-abc"
