"""The HTTP API's composition root: settings and ports in, a FastAPI app out.

DBOS is launched in the app's lifespan (DBOS 3.x has no FastAPI integration to do it), which
also applies specmill's migrations, registers the run queue and applies the sweep's schedule,
after launch as DBOS 3.x requires. Handlers only enqueue and read; the queue's worker threads
in this same process execute the runs (and the scheduled sweeps).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from specmill import __version__, runtime
from specmill.api import errors
from specmill.api.guards import RequestGuard
from specmill.api.limits import BodySizeLimit
from specmill.api.routers import artifacts, docs, events, health, playbooks, runs, webhooks
from specmill.api.service import RunService
from specmill.config import Settings
from specmill.console.app import install as install_console
from specmill.container import Container, build_container
from specmill.mcp_server import http as mcp_http
from specmill.retention import WorktreeRetention


def create_app(
    settings: Settings | None = None, container: Container | None = None, graceful_stop: bool = False
) -> FastAPI:
    """`container` replaces the real adapters (tests pass fakes); it is then the caller's to close.
    With `graceful_stop`, shutting down lets the steps in flight finish (up to SPECMILL_WORKER_GRACE_S)
    and starts no new ones; the process must then exit, leaving unfinished runs to its next start."""
    settings = container.settings if container is not None else settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ports = container or build_container(settings)
        retention = WorktreeRetention(settings)
        await asyncio.to_thread(runtime.launch, settings, ports, None, None if settings.serve_works_queue else [])
        try:
            await asyncio.to_thread(runtime.register_run_queue, settings)
            await asyncio.to_thread(runtime.apply_sweep_schedule, settings)
            app.state.runs = RunService(ports)
            if settings.serve_works_queue:
                retention.start()
            async with app.state.mcp.session_manager.run():
                yield
        finally:
            await asyncio.to_thread(retention.stop)
            if graceful_stop:
                await asyncio.to_thread(runtime.stop_working, settings.worker_grace_s)
            await asyncio.to_thread(runtime.shutdown)
            if container is None:
                ports.close()

    app = FastAPI(
        title="specmill",
        version=__version__,
        summary="Start runs that implement Basic Memory specs, follow them, and steer them.",
        lifespan=lifespan,
        docs_url=None,  # served by the docs router, behind the token like the rest of the API
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestGuard, settings=settings, signed_prefixes=(webhooks.router.prefix + "/",))
    if settings.cors_origin_list():  # off unless configured: browsers elsewhere get no CORS headers
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list(),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"],
        )
    for module in (runs, artifacts, events, playbooks, health, webhooks, docs):
        app.include_router(module.router)
    app.state.mcp = mcp_http.mount(app, settings)
    install_console(app)
    return app


def serve_app() -> FastAPI:
    """The app `specmill serve` runs (a factory, so uvicorn builds it in the server process)."""
    return create_app(graceful_stop=True)
