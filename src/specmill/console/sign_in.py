"""Signing in to the console with one of the API's tokens, and out again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from specmill.api.auth import token_matches
from specmill.api.errors import ApiError
from specmill.console import session
from specmill.console.render import page

router = APIRouter(include_in_schema=False)
Next = Annotated[str, Query(alias="next", max_length=2000)]


class SignIn(BaseModel):
    token: str = Field(min_length=1, max_length=4096)


def safe_next(target: str) -> str:
    """Only a path of this server: never `//elsewhere` or `https://elsewhere`."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


@router.get("/console/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, next_page: Next = "/") -> HTMLResponse:
    return page(request, "sign_in.html", next_page=safe_next(next_page))


@router.post("/console/sign-in", dependencies=[Depends(session.check_same_origin)])
async def sign_in(request: Request, body: SignIn, response: Response) -> dict[str, str]:
    tokens = request.app.state.settings.api_token_list()
    if not tokens:
        return {"result": "no sign-in needed"}
    if request.headers.get(session.CSRF_HEADER, "") != session.csrf_token(request):
        raise ApiError(403, "csrf_failed", "the sign-in page is stale: reload it and try again")
    if not token_matches(body.token, tokens):
        raise ApiError(401, "unauthorized", "that token is not one of SPECMILL_API_TOKENS: check it and try again")
    response.set_cookie(
        session.COOKIE,
        session.issue(body.token),
        max_age=session.MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {"result": "signed in"}


@router.post("/console/sign-out", dependencies=[Depends(session.require_actor)])
async def sign_out(response: Response) -> dict[str, str]:
    response.delete_cookie(session.COOKIE, path="/")
    return {"result": "signed out"}


async def sign_in_needed(request: Request, _exc: Exception) -> Response:
    """A page asked for without a session sends the browser to sign in, and back afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("accept", "").startswith("text/event-stream"):
        return Response(status_code=204)  # an EventSource stops reconnecting
    return RedirectResponse(f"/console/sign-in?next={_quote(target)}", status_code=303)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
