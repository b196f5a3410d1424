"""CORS is off unless configured."""

from __future__ import annotations

from fastapi.testclient import TestClient

from specmill.api.app import create_app
from specmill.config import Settings

PREFLIGHT = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}


def test_without_configured_origins_no_cors_headers_are_sent(tmp_path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    response = TestClient(app).options("/runs", headers=PREFLIGHT)  # no lifespan: middleware only
    assert "access-control-allow-origin" not in response.headers


def test_a_configured_origin_is_allowed_and_others_are_not(tmp_path) -> None:
    app = create_app(Settings(data_dir=tmp_path, cors_origins="https://ui.example"))
    client = TestClient(app)
    allowed = client.options("/runs", headers={**PREFLIGHT, "Origin": "https://ui.example"})
    assert allowed.headers.get("access-control-allow-origin") == "https://ui.example"
    refused = client.options("/runs", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in refused.headers
