"""Settings: the one place that reads the environment."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import ClassVar, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from specmill import __version__
from specmill.config_file import ConfigFileSource


class Settings(BaseSettings):
    """specmill's configuration, from `SPECMILL_*` variables (and a few standard ones), then the
    settings file specmill.toml (`config_file.py`): a variable wins over the file."""

    model_config = SettingsConfigDict(env_prefix="SPECMILL_", extra="ignore", populate_by_name=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = (init_settings, env_settings, dotenv_settings, file_secret_settings)
        return (*sources, ConfigFileSource(settings_cls)) if cls.reads_settings_file else sources

    reads_settings_file: ClassVar[bool] = True
    """False in a subclass that wants the environment alone (`specmill init --force` on an unreadable file)."""

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
    prompt_caching: bool = Field(
        default=True, description="Send cache_control breakpoints (off only to compare costs)."
    )
    test_timeout_s: float = Field(default=600.0, description="Wall-clock cap of one test run.")
    environments_dir: Path | None = Field(
        default=None,
        description="Where repository environments and uv's cache are kept; data_dir/environments when unset.",
    )
    setup_timeout_s: float = Field(default=900.0, gt=0, description="Wall-clock cap of provisioning one environment.")
    brief_budget_tokens: int = Field(default=4000, description="Token budget of the pattern brief.")
    model_max_attempts: int = Field(default=6, description="DBOS attempts of a model step on transient errors.")
    model_retry_interval_s: float = Field(default=2.0, description="First wait between model step attempts.")
    executor_id: str = Field(
        default_factory=lambda: f"specmill-{socket.gethostname()}",
        description="Stable id of this process in DBOS; pending runs are recovered by the same id.",
    )
    mcp_executor_id: str = Field(
        default_factory=lambda: f"mcp-{socket.gethostname()}",
        description="Executor id of `specmill mcp`; a second live process on this data dir takes ID-2, ID-3...",
    )
    executor_heartbeat_s: float = Field(
        default=5.0,
        gt=0,
        description="How often a process records that it is alive; a takeover waits for a few missed beats.",
    )
    app_version: str = Field(
        default=__version__,
        description="DBOS application version; runs recover only under the version that started them.",
    )
    app_database_url: str | None = Field(
        default=None,
        description="Database of specmill's own tables (run index, artifacts); the system database when unset.",
    )
    api_tokens: str = Field(
        default="",
        description="Comma-separated bearer tokens the HTTP API accepts; empty means no auth (loopback only).",
    )
    queue_concurrency: int = Field(
        default=4, ge=1, description="Runs one `serve` or `worker` process executes at once."
    )
    queue_global_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="Runs all processes together execute at once; unlimited when unset.",
    )
    queue_repo_concurrency: int = Field(
        default=1,
        ge=1,
        description="Runs of one repository in flight at once, across all processes.",
    )
    worker_grace_s: float = Field(
        default=30.0,
        ge=0,
        description="After SIGTERM, how long a step in flight may take to finish before the process exits.",
    )
    serve_works_queue: bool = Field(
        default=True,
        description="`serve` also executes queued runs; false leaves them to `specmill worker` processes.",
    )
    queue_polling_interval_s: float = Field(default=1.0, gt=0, description="How often the run queue is polled.")
    cors_origins: str = Field(
        default="", description="Comma-separated origins allowed by CORS; CORS is off when empty."
    )
    max_request_bytes: int = Field(default=65536, ge=1024, description="Largest HTTP request body the API reads.")
    max_budget_usd: float | None = Field(
        default=None,
        gt=0,
        description="Largest dollar cap an API caller may ask for a run; also the cap of runs that ask none.",
    )
    max_queued_runs_per_token: int | None = Field(
        default=None, ge=1, description="Runs one API token (or the open loopback API) may have queued or running."
    )
    max_event_streams: int = Field(default=64, ge=1, description="Server-Sent Event streams open at once.")
    event_poll_s: float = Field(
        default=1.0, ge=1.0, description="How often an event stream re-reads its run when no notification came."
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, description="Time a client has to send a request's headers before the server hangs up."
    )
    keep_alive_s: float = Field(default=5.0, gt=0, description="Idle time before a kept-alive connection is closed.")
    secret_env: str = Field(
        default="",
        description="Comma-separated names of more environment variables whose values are secrets to redact.",
    )
    git_remote: str = Field(default="origin", description="The git remote a published run's branch is pushed to.")
    github_token: str = Field(
        default="",
        validation_alias="GITHUB_TOKEN",
        description="Token for GitHub's REST API, to open pull requests and comment on them.",
    )
    github_repo: str | None = Field(
        default=None, description="owner/name of the GitHub repository; read from the remote's URL when unset."
    )
    github_api_url: str = Field(
        default="https://api.github.com", description="Base of GitHub's REST API (GitHub Enterprise, or a stand-in)."
    )
    github_webhook_secret: str = Field(
        default="", description="Secret of GitHub's webhook deliveries; POST /webhooks/github is off when empty."
    )
    test_sandbox: Literal["bwrap", "none"] = Field(
        default="bwrap",
        description="Isolation of test runs: bwrap (bubblewrap; a run stops when it cannot work here) or none "
        "(explicit opt-out: tests run as this user, with its files and network; every test report says so).",
    )
    test_max_processes: int = Field(
        default=256, ge=0, description="Processes a test run may have at once; past it all are killed. 0 = no limit."
    )
    test_cpu_s: int = Field(
        default=900, ge=0, description="CPU-seconds of each test process (RLIMIT_CPU); 0 = no limit."
    )
    test_memory_mb: int = Field(
        default=4096, ge=0, description="Address space of each test process in MiB; 0 = no limit."
    )
    test_file_size_mb: int = Field(
        default=512, ge=0, description="Largest file a test process may write, MiB; 0 = no limit."
    )
    test_output_mb: int = Field(default=64, ge=1, description="Output a test run may print before it is stopped, MiB.")
    test_env_allow: str = Field(
        default="",
        description="Comma-separated extra environment variable names (or NAME_* patterns) that tests may see.",
    )
    protected_paths: str | None = Field(
        default=None,
        description="Comma-separated globs (or path#section) the file tools may not change; "
        "replaces the built-in list.",
    )
    approval_timeout_s: float = Field(
        default=7 * 86400, gt=0, description="How long a plan waits for approval before the run ends approval_expired."
    )
    budget_timeout_s: float = Field(
        default=7 * 86400, gt=0, description="How long a run paused at its budget waits for a higher cap."
    )
    gate_poll_s: float = Field(
        default=60.0, gt=0, description="How often a waiting run looks at the clock and its note (the ticked plan)."
    )
    sweep_cron: str = Field(
        default="0 2 * * *",
        description="When the sweep runs (cron, 5 fields or 6 with seconds first); empty turns the schedule off.",
    )
    sweep_timezone: str = Field(default="UTC", description="IANA time zone the sweep's cron is read in.")
    sweep_backfill: bool = Field(
        default=False,
        description="After downtime, run one sweep per missed slot at start (each finds only what is still new).",
    )
    sweep_ready_statuses: str = Field(
        default="ready,approved", description="Comma-separated statuses that mark a spec ready."
    )
    sweep_folders: str = Field(
        default="", description="Comma-separated folders whose notes are specs without `type: spec`."
    )
    sweep_repos: str = Field(default="", description="Comma-separated name=path pairs a spec's `repo:` may name.")
    sweep_default_repo: str | None = Field(default=None, description="Repository of ready specs without `repo:`.")
    repos_dir: Path | None = Field(
        default=None,
        description="Folder a relative `repo:` in a spec's frontmatter is resolved against; "
        "the current directory when unset.",
    )
    sweep_report_folder: str = Field(default="specmill/sweeps", description="Folder of the sweep report notes.")
    worktree_retention_h: float = Field(
        default=72.0,
        ge=0,
        description="`serve` and workers remove the worktrees of ended runs unchanged for this many hours "
        "(branches stay); 0 keeps them until `specmill gc`.",
    )
    worktree_gc_interval_s: float = Field(
        default=3600.0, gt=0, description="How often `serve` and workers look for worktrees past the retention."
    )

    def sqlite_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'specmill.sqlite').resolve()}"

    def database_url(self) -> str:
        return self.system_database_url or self.sqlite_url()

    def records_url(self) -> str:
        return self.app_database_url or self.database_url()

    def environments_root(self) -> Path:
        return self.environments_dir or self.data_dir / "environments"

    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    def api_token_list(self) -> list[str]:
        return [token.strip() for token in self.api_tokens.split(",") if token.strip()]

    def secret_values(self) -> dict[str, str]:
        """Label -> value of every secret this process holds, for redaction: credential-named
        variables, SPECMILL_SECRET_ENV, passwords inside URLs, and the API tokens."""
        extra = set(_names(self.secret_env))
        found = {
            name: value
            for name, value in os.environ.items()
            if value and (name in extra or _CREDENTIAL_NAME.search(name))
        }
        urls = {
            **os.environ,
            "DBOS_SYSTEM_DATABASE_URL": self.system_database_url or "",
            "SPECMILL_APP_DATABASE_URL": self.app_database_url or "",
        }
        for name, value in urls.items():
            if "://" in value and "@" in value:
                try:
                    password = urlsplit(value.strip()).password
                except ValueError:
                    continue
                if password:
                    found[f"{name} password"] = unquote(password)
        for number, token in enumerate(self.api_token_list(), 1):
            found[f"SPECMILL_API_TOKENS#{number}"] = token
        return found

    def test_env_allow_list(self) -> list[str]:
        return _names(self.test_env_allow)

    def protected_path_list(self) -> list[str] | None:
        """None means the file tools' built-in list."""
        return None if self.protected_paths is None else _names(self.protected_paths)


_CREDENTIAL_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE", re.IGNORECASE)


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
