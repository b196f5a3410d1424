"""What a request must show before any router sees it.

- Without tokens the API trusts the machine it runs on, so it answers only requests addressed to a
  loopback name (`localhost`, `127.0.0.1`, `[::1]`, with any port). A web page elsewhere that
  rebinds its own DNS name to 127.0.0.1 still sends its own name as `Host`, and is refused.
- A state-changing request that a browser marks with a foreign `Origin` is refused, with or without
  tokens: only the server's own origin and the configured CORS origins may send one.
- The JSON API's routers opt in to `JSON_BODY`: a request with a body must declare
  `application/json`. A browser cannot send that cross-origin without a CORS preflight, which
  this server does not grant to foreign origins. Routers that serve forms or pages guard themselves
  (a console, for example, with its own CSRF header) and simply do not opt in.

Every refusal has the API's error shape and names no internals.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from specmill.api.errors import ApiError, error_response
from specmill.config import Settings

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def host_name(host: str) -> str:
    """`Host` without its port: `[::1]:8000` -> `[::1]`, `localhost:8000` -> `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback_host(host: str | None) -> bool:
    return bool(host) and host_name(host or "").rstrip(".") in LOOPBACK_HOSTS


def origin_allowed(origin: str, host: str | None, allowed: list[str]) -> bool:
    """The request's own origin (same scheme-less host and port as `Host`) or a configured CORS origin."""
    if origin in allowed:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == (host or "").strip().lower()


class RequestGuard:
    """ASGI middleware: the Host rule (without tokens) and the Origin rule, before routing."""

    def __init__(self, app: ASGIApp, settings: Settings, signed_prefixes: tuple[str, ...] = ()) -> None:
        """`signed_prefixes`: paths whose requests prove themselves (a webhook's signature over its
        body), so they may arrive through a proxy under any Host name."""
        self.app = app
        self.open = not settings.api_token_list()
        self.allowed_origins = settings.cors_origin_list()
        self.signed_prefixes = signed_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host")
        signed = scope["path"].startswith(self.signed_prefixes) if self.signed_prefixes else False
        if self.open and not signed and not is_loopback_host(host):
            response = error_response(
                403,
                "untrusted_host",
                "this server has no API tokens, so it answers only requests to localhost, 127.0.0.1 or [::1]: "
                "connect through one of those, or set SPECMILL_API_TOKENS",
            )
            await response(scope, receive, send)
            return
        origin = headers.get("origin")
        if scope["method"] not in SAFE_METHODS and origin is not None:
            if not origin_allowed(origin, host, self.allowed_origins):
                response = error_response(
                    403,
                    "foreign_origin",
                    "requests that change state are refused from other web origins: "
                    "add the origin to SPECMILL_CORS_ORIGINS to allow it",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def require_json_body(request: Request) -> None:
    """A request with a body (or that names a content type) must send `application/json`."""
    if request.method in SAFE_METHODS:
        return
    declared = request.headers.get("content-type")
    length = request.headers.get("content-length")
    has_body = (length is not None and length.strip() not in ("", "0")) or "transfer-encoding" in request.headers
    if declared is None and not has_body:
        return
    media_type = (declared or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            "the body of this request must be JSON: send it with 'Content-Type: application/json'",
        )


JSON_BODY = Depends(require_json_body)
"""Add to a router's `dependencies` (after the token check) to accept JSON bodies only."""
