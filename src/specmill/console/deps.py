"""The console's dependencies: its service (one per app, beside the API's) and its guards."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from specmill.console.service import ConsoleService


def get_console(request: Request) -> ConsoleService:
    state = request.app.state
    if getattr(state, "console", None) is None or state.console.runs is not state.runs:
        state.console = ConsoleService(state.runs)
    return state.console


ConsoleDep = Annotated[ConsoleService, Depends(get_console)]
