"""Bearer tokens from SPECMILL_API_TOKENS, compared in constant time.

With no token configured every request passes; `specmill serve` refuses to listen beyond
loopback in that case, so an open API is never reachable from another machine.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from specmill.api.deps import SettingsDep
from specmill.api.errors import ApiError
from specmill.api.quotas import LOCAL_CALLER

bearer = HTTPBearer(auto_error=False, description="One of the tokens in SPECMILL_API_TOKENS.")


def require_token(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    tokens = settings.api_token_list()
    if not tokens:
        request.state.caller = LOCAL_CALLER
        return
    if credentials is None or not token_matches(credentials.credentials, tokens):
        raise ApiError(
            401,
            "unauthorized",
            "a valid bearer token is required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.caller = caller_id(credentials.credentials)


def caller_id(token: str) -> str:
    """Who a token is, in the run index and quotas: a digest, never the token."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def caller_of(request: Request) -> str:
    return getattr(request.state, "caller", LOCAL_CALLER)


def token_matches(presented: str, tokens: list[str]) -> bool:
    """Digests first, so neither a token's content nor its length shows in the timing; every
    configured token is compared, so neither does which one matched."""
    digest = hashlib.sha256(presented.encode()).digest()
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(digest, hashlib.sha256(token.encode()).digest())
    return matched
