"""The console's part of the app: its routers, its sign-in redirect and its static files."""

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
