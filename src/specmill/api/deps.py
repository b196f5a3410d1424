"""Shared dependencies of the routers, as `Annotated` aliases; tests swap them with
`app.dependency_overrides`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from specmill.api.service import RunService
from specmill.config import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_runs(request: Request) -> RunService:
    return request.app.state.runs


SettingsDep = Annotated[Settings, Depends(get_settings)]
RunsDep = Annotated[RunService, Depends(get_runs)]
