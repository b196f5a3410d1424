"""The console: web pages at `/` of `specmill serve` to watch, review and steer runs.

Pages render on the server from Jinja2 templates over the same service layer as the JSON API
(`api/service.py`, `queries.py`); one small vendored script (`static/console.js`) adds live
updates (Server-Sent Events) and the actions, which post JSON with a CSRF token. Nothing loads
from another origin, and a strict Content-Security-Policy says so to the browser.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from specmill.console import runs, sign_in, specs
from specmill.console.render import STATIC_DIR
from specmill.console.session import SignInNeeded


def install(app: FastAPI) -> None:
    """Add the console's pages, actions and static files to the API's app."""
    for module in (sign_in, runs, specs):
        app.include_router(module.router)
    app.add_exception_handler(SignInNeeded, sign_in.sign_in_needed)
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
