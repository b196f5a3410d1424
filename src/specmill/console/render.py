"""Templates, their filters, and the headers every console response carries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from specmill.console.session import csrf_token

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value // 60:.0f} min {value % 60:.0f} s"


def dollars(value: float | None) -> str:
    return "—" if value is None else f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return "—"
    return seconds(((end or datetime.now(UTC)) - start).total_seconds())


environment = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(when=when, seconds=seconds, dollars=dollars)
environment.globals.update(duration=duration)
templates = Jinja2Templates(env=environment)


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A full page or a fragment, with the CSRF token in its context and the security headers."""
    context.setdefault("csrf", csrf_token(request))
    context.setdefault("signed_in", bool(request.app.state.settings.api_token_list()))
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=SECURITY_HEADERS)


def fragment(name: str, **context: Any) -> str:
    """A template rendered to a string, for live updates."""
    return environment.get_template(name).render(**context)
