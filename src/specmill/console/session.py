"""Who may use the console: a session cookie after signing in with an API token, and CSRF tokens.

Stateless, so any `serve` process of a deployment accepts a session another one issued: the
cookie is `<issued>.<nonce>.<mac>`, the mac keyed by the digest of the token that signed in.
Removing a token from SPECMILL_API_TOKENS ends its sessions. The CSRF token is a second mac over
the cookie, sent back in an `X-CSRF-Token` header by the console's script. Without tokens (loopback
only, as `specmill serve` enforces) there is no session and the CSRF token is keyed by a secret of
this process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from fastapi import Request

from specmill.api.errors import ApiError

COOKIE = "specmill_session"
MAX_AGE_S = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"


class SignInNeeded(Exception):
    """The page needs a session; the console answers with the sign-in page."""


def _key(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def issue(token: str, now: float | None = None) -> str:
    """A session cookie value for someone who presented `token`."""
    body = f"{int(now if now is not None else time.time())}.{secrets.token_urlsafe(16)}"
    return f"{body}.{_mac(_key(token), body)}"


def session_key(cookie: str | None, tokens: list[str], now: float | None = None) -> bytes | None:
    """The key of the token that issued `cookie`, if it is one of `tokens` and the session is fresh."""
    if not cookie or cookie.count(".") != 2:
        return None
    body, _, mac = cookie.rpartition(".")
    issued = body.split(".", 1)[0]
    if not issued.isdigit() or (now if now is not None else time.time()) - int(issued) > MAX_AGE_S:
        return None
    found = None
    for token in tokens:  # every token is compared, so the timing does not say which one matched
        if hmac.compare_digest(_mac(_key(token), body), mac):
            found = _key(token)
    return found


def process_secret(request: Request) -> bytes:
    state = request.app.state
    if getattr(state, "console_secret", None) is None:
        state.console_secret = secrets.token_bytes(32)
    return state.console_secret


def csrf_token(request: Request) -> str:
    """The token this visitor's pages carry and its actions must send back."""
    tokens = request.app.state.settings.api_token_list()
    if not tokens:
        return _mac(process_secret(request), "csrf:open")
    cookie = request.cookies.get(COOKIE, "")
    key = session_key(cookie, tokens)
    if key is None:  # signing in needs a token too, tied to nothing but this process
        return _mac(process_secret(request), "csrf:sign-in")
    return _mac(key, "csrf:" + cookie)


def require_viewer(request: Request) -> None:
    """A page's guard: signed in, or no tokens configured."""
    tokens = request.app.state.settings.api_token_list()
    if tokens and session_key(request.cookies.get(COOKIE), tokens) is None:
        raise SignInNeeded()


def require_actor(request: Request) -> None:
    """An action's guard: signed in (or open), same origin, and the CSRF token of this session."""
    tokens = request.app.state.settings.api_token_list()
    if tokens and session_key(request.cookies.get(COOKIE), tokens) is None:
        raise ApiError(401, "unauthorized", "your console session ended: sign in again")
    check_same_origin(request)
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), csrf_token(request).encode()):
        raise ApiError(403, "csrf_failed", "the page's CSRF token is missing or stale: reload the page and try again")


def check_same_origin(request: Request) -> None:
    """A browser names the page that sent a POST; only this server's own pages may."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        raise ApiError(403, "cross_origin", "console actions are accepted from the console's own pages only")
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
        raise ApiError(403, "cross_origin", f"origin '{origin[:100]}' is not this server: use the console's own pages")
