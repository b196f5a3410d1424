"""compose.yaml: PostgreSQL, the API, a worker and Basic Memory over streamable HTTP, each with a
health check and named volumes. Where a docker client is installed, a compose implementation
(the `docker compose` plugin, else the standalone `docker-compose`) must validate the file; its
`config` command needs no engine."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from specmill.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
ENV = {"POSTGRES_PASSWORD": "pw", "SPECMILL_API_TOKENS": "token"}


def services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_compose_has_the_four_services_with_health_checks_and_named_volumes() -> None:
    document = yaml.safe_load(COMPOSE.read_text())
    found = document["services"]
    assert set(found) == {"postgres", "api", "worker", "basic-memory"}
    for name, service in found.items():
        assert service["healthcheck"]["test"], f"{name} has no health check"
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in document["volumes"], f"{name} mounts {volume}, not a named volume"
    assert found["api"]["command"][:2] == ["specmill", "serve"] and found["worker"]["command"] == ["specmill", "worker"]
    assert found["basic-memory"]["command"][-5:] == ["streamable-http", "--host", "0.0.0.0", "--port", "8000"]
    for name in ("api", "worker"):
        assert found[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert found[name]["build"]["target"] == "specmill"
    assert found["worker"]["stop_signal"] == "SIGTERM"
    assert (ROOT / "Dockerfile").read_text().count("AS specmill") == 1


def test_compose_environment_names_settings_specmill_reads() -> None:
    """A misspelt variable in compose.yaml would be silently ignored by specmill."""
    known = {f"SPECMILL_{name.upper()}" for name in Settings.model_fields} | {
        "DBOS_SYSTEM_DATABASE_URL",
        "ANTHROPIC_API_KEY",
        "DBOS_CONDUCTOR_KEY",
    }
    for name in ("api", "worker"):
        env = services()[name]["environment"]
        assert set(env) <= known, set(env) - known
        assert (
            env["DBOS_SYSTEM_DATABASE_URL"].startswith("postgresql://")
            and "@postgres:5432/" in env["DBOS_SYSTEM_DATABASE_URL"]
        )
    assert (
        services()["api"]["environment"]["SPECMILL_EXECUTOR_ID"]
        != services()["worker"]["environment"]["SPECMILL_EXECUTOR_ID"]
    )


def compose_command() -> list[str]:
    if shutil.which("docker") is None:
        pytest.skip("no docker client on this machine: compose.yaml is checked by parsing only")
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True)
    if plugin.returncode == 0:
        return ["docker", "compose"]
    standalone = shutil.which("docker-compose")
    assert standalone, "a docker client without a compose implementation: install the compose plugin or docker-compose"
    return [standalone]


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose_command(), "-f", str(COMPOSE), "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in ENV} | env,
        timeout=120,
    )


def test_docker_compose_config_accepts_the_file_and_resolves_the_services() -> None:
    done = compose_config(ENV)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert set(resolved["services"]) == {"postgres", "api", "worker", "basic-memory"}
    assert "specmill:pw@postgres:5432" in resolved["services"]["worker"]["environment"]["DBOS_SYSTEM_DATABASE_URL"]
    assert resolved["services"]["api"]["environment"]["SPECMILL_API_TOKENS"] == "token"


def test_docker_compose_config_refuses_to_run_without_a_database_password() -> None:
    """An unset password must stop compose, not give PostgreSQL and DBOS an empty one."""
    done = compose_config({"SPECMILL_API_TOKENS": "token"})
    assert done.returncode != 0
    assert "POSTGRES_PASSWORD" in done.stderr
