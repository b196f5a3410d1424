"""compose.yaml: PostgreSQL, the API, a worker and Basic Memory over streamable HTTP, each with a
health check and named volumes. No compose implementation installs here (the docker client has
no compose plugin), so the structure is checked by parsing the file."""

from __future__ import annotations

from pathlib import Path

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
        "DBOS_SYSTEM_DATABASE_URL", "ANTHROPIC_API_KEY", "DBOS_CONDUCTOR_KEY"}
    for name in ("api", "worker"):
        env = services()[name]["environment"]
        assert set(env) <= known, set(env) - known
        assert env["DBOS_SYSTEM_DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DBOS_SYSTEM_DATABASE_URL"]
    assert services()["api"]["environment"]["SPECMILL_EXECUTOR_ID"] != services()["worker"]["environment"]["SPECMILL_EXECUTOR_ID"]
