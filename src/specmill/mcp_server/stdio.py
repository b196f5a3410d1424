"""The lifespan of `specmill mcp`: a DBOS executor of its own, launched before the first request.

Launching recovers the pending runs of the claimed executor id, so runs that a killed `specmill mcp`
left behind continue here. Unless told not to, the process works the `implementations` queue, so a
lone stdio server completes the runs it starts. When the client goes away, steps in flight get
SPECMILL_WORKER_GRACE_S to finish and be checkpointed; unfinished runs stay pending under this executor id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer

from specmill import runtime
from specmill.api.service import RunService
from specmill.config import Settings
from specmill.container import build_container
from specmill.mcp_server.server import Lifespan


def stdio_lifespan(settings: Settings, executor_id: str, work_queue: bool) -> Lifespan:
    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[RunService]:
        container = build_container(settings)
        queues = None if work_queue else []
        try:
            await asyncio.to_thread(runtime.launch, settings, container, executor_id, queues)
            try:
                await asyncio.to_thread(runtime.register_run_queue, settings)
                yield RunService(container)
            finally:
                if work_queue:
                    await asyncio.to_thread(runtime.stop_working, settings.worker_grace_s)
                await asyncio.to_thread(runtime.shutdown)
        finally:
            container.close()

    return lifespan
