"""Settings: the one place that reads the environment."""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from specmill import __version__


class Settings(BaseSettings):
    """specmill's configuration, from `SPECMILL_*` variables (and a few standard ones)."""

    model_config = SettingsConfigDict(env_prefix="SPECMILL_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(
        default=Path(".specmill"),
        description="Worktrees, the SQLite system database and caches live here.",
    )
    system_database_url: str | None = Field(
        default=None,
        validation_alias="DBOS_SYSTEM_DATABASE_URL",
        description="PostgreSQL URL of DBOS's system database; a SQLite file in data_dir when unset.",
    )
    basic_memory_command: str = Field(
        default="basic-memory mcp",
        description="Command that starts the Basic Memory MCP server over stdio.",
    )
    basic_memory_url: str | None = Field(
        default=None,
        description="Streamable-HTTP URL of a running Basic Memory server; wins over the command.",
    )
    basic_memory_start_timeout_s: float = Field(default=60.0, description="How long the MCP session may take to start.")
    project: str | None = Field(default=None, description="Default Basic Memory project of spec notes.")
    model: str | None = Field(default=None, description="Overrides the playbook's model for every run.")
    playbooks_dir: Path | None = Field(
        default=None,
        description="Extra folder of playbooks, searched before the bundled workflows/ folder.",
    )
    test_timeout_s: float = Field(default=600.0, description="Wall-clock cap of one test run.")
    brief_budget_tokens: int = Field(default=4000, description="Token budget of the pattern brief.")
    model_max_attempts: int = Field(default=6, description="DBOS attempts of a model step on transient errors.")
    model_retry_interval_s: float = Field(default=2.0, description="First wait between model step attempts.")
    executor_id: str = Field(
        default_factory=lambda: f"specmill-{socket.gethostname()}",
        description="Stable id of this process in DBOS; pending runs are recovered by the same id.",
    )
    app_version: str = Field(
        default=__version__,
        description="DBOS application version; runs recover only under the version that started them.",
    )

    def sqlite_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'specmill.sqlite').resolve()}"

    def database_url(self) -> str:
        return self.system_database_url or self.sqlite_url()
