"""The MCP server on `specmill serve`: streamable HTTP at `/mcp`, behind the API's bearer tokens.

It shares the API's `RunService` (so also its DBOS launch and queue worker). The SDK's own
protection against DNS rebinding stays on while the API is open on loopback; with tokens
configured a browser page cannot call it anyway, and `serve` may listen on any address.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from specmill.api.auth import token_matches
from specmill.api.errors import error_response
from specmill.api.service import RunService
from specmill.config import Settings
from specmill.mcp_server.server import build_server

PATH = "/mcp"


def mount(app: FastAPI, settings: Settings) -> MCPServer[RunService]:
    """Add `/mcp` to `app`; the app's lifespan must run the returned server's `session_manager`
    once `app.state.runs` is set."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[RunService]:
        yield app.state.runs

    server = build_server(lifespan)
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False) if settings.api_token_list() else None
    transport = server.streamable_http_app(streamable_http_path=PATH, transport_security=security)
    app.router.routes.append(Route(PATH, RequireToken(transport, settings), include_in_schema=False))
    return server


class RequireToken:
    """The API's bearer-token rule (`api.auth`) in front of a plain ASGI app, answering 401 in the API's shape."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tokens = self.settings.api_token_list()
        if scope["type"] == "http" and tokens:
            scheme, _, presented = Headers(scope=scope).get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token_matches(presented.strip(), tokens):
                response = error_response(
                    401,
                    "unauthorized",
                    "a valid bearer token is required: send 'Authorization: Bearer <token>'",
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
