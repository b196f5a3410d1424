"""One MCP client session to Basic Memory per process, held open on an anyio blocking portal.

specmill's steps are synchronous, the MCP client is async, and a session takes ~5 s to start
(basic-memory 0.24.1's `initialize` over stdio: 4.5-6 s; a tool call: 0.05-0.5 s). So one
session per process stays open on a portal's event-loop thread, and steps call through it.

Basic Memory runs as a command spoken to over stdio, or at a streamable-HTTP URL. The stdio
client hands the server only a minimal environment unless given `env=`, so the server gets
ours (HOME, BASIC_MEMORY_CONFIG_DIR and BASIC_MEMORY_HOME isolate it), with its self-updates
switched off. A session that fails a call is dead: the next call starts a fresh server
instead of writing into a broken pipe. Sessions are closed at exit, so a server stops cleanly
instead of noticing EOF.
"""

from __future__ import annotations

import atexit
import math
import os
import shlex
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from contextlib import ExitStack, suppress
from typing import TYPE_CHECKING, TextIO, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from specmill.errors import BasicMemoryUnavailable

if TYPE_CHECKING:  # the MCP SDK takes long to import: imported when the first session starts
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

T = TypeVar("T")
UPDATE_CHECK_SWITCHES: dict[str, str] = {
    "BASIC_MEMORY_AUTO_UPDATE": "false",
    "FASTMCP_CHECK_FOR_UPDATES": "off",
}
COMMAND_SETTING = "SPECMILL_BASIC_MEMORY_COMMAND"
URL_SETTING = "SPECMILL_BASIC_MEMORY_URL"
CLOSE_TIMEOUT_S = 15.0


def basic_memory_env(base_env: Mapping[str, str]) -> dict[str, str]:
    """The server's environment: everything we have, minus self-updates mid-run."""
    return {**base_env, **UPDATE_CHECK_SWITCHES}


def one_line(text: str, limit: int = 400) -> str:
    """Server answers and tracebacks span lines; specmill's errors are one line for people."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(exc: BaseException) -> str:
    """Dig the first real error out of anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class McpSession:
    """One MCP client session, entered and left by one task on its own blocking portal.

    The client's anyio task groups must be entered and exited in the same task, so `_hold`
    does both and waits in between; calls run as further tasks on the same portal.
    """

    def __init__(self, target: StdioServerParameters | str, start_timeout_s: float, call_timeout_s: float) -> None:
        self._target = target
        self._start_timeout_s = start_timeout_s
        self._call_timeout_s = call_timeout_s
        self._resources = ExitStack()
        self._portal: BlockingPortal | None = None
        self._held: Future[None] | None = None
        self._client: Client | None = None
        self._stop: anyio.Event | None = None
        self._errlog: TextIO | None = None
        self.failure_stderr = ""
        self.dead = False

    def start(self) -> None:
        """Spawn/connect and finish the MCP handshake, or raise what went wrong."""
        if not isinstance(self._target, str):
            log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115 - in the stack
            self._errlog = self._resources.enter_context(log)
        self._portal = self._resources.enter_context(start_blocking_portal(name="specmill-basic-memory"))
        ready: Future[Client] = Future()
        self._held = self._portal.start_task_soon(self._hold, ready)
        try:
            # _hold enforces the start timeout itself; the margin covers the transport's teardown.
            self._client = ready.result(timeout=self._start_timeout_s + 15)
        except BaseException:
            self.failure_stderr = self.stderr_tail()
            self.close()
            raise

    async def _hold(self, ready: Future[Client]) -> None:
        from mcp import Client
        from mcp.client.stdio import stdio_client

        self._stop = anyio.Event()
        if not isinstance(self._target, str):
            assert self._errlog is not None
            client = Client(stdio_client(self._target, errlog=self._errlog))
        else:
            client = Client(self._target)
        try:
            with anyio.CancelScope(deadline=anyio.current_time() + self._start_timeout_s) as starting:
                async with client:
                    starting.deadline = math.inf
                    ready.set_result(client)
                    await self._stop.wait()
            if starting.cancelled_caught and not ready.done():
                ready.set_exception(TimeoutError(f"no MCP handshake within {self._start_timeout_s:g}s"))
        except Exception as exc:  # a start failure goes to the caller; a later one shows in the calls
            if not ready.done():
                ready.set_exception(exc)
        except BaseException as exc:  # cancelled (the portal is stopping): say so, and let it cancel
            if not ready.done():
                ready.set_exception(exc)
            raise
        finally:
            self.dead = True

    def stderr_tail(self, lines: int = 3) -> str:
        """The last meaningful lines the server wrote to stderr (banner boxes dropped)."""
        try:
            assert self._errlog is not None
            self._errlog.seek(0)
            text = self._errlog.read()
        except (AssertionError, OSError, ValueError):
            return ""
        kept = [ln.strip() for ln in text.splitlines() if ln.strip() and any(c.isalnum() for c in ln)]
        kept = [ln for ln in kept if not ln.startswith(("│", "╭", "╰"))]
        return one_line(" | ".join(kept[-lines:]), 300)

    def run(self, make: Callable[[Client], Awaitable[T]]) -> T:
        """Run `make(client)` on the session's portal and wait for it from this thread."""
        client, portal = self._client, self._portal
        if client is None or portal is None or self.dead:
            raise ConnectionError("the Basic Memory session is closed")
        future = portal.start_task_soon(make, client)
        try:
            return future.result(timeout=self._call_timeout_s + 10)
        except TimeoutError:
            future.cancel()
            raise

    def close(self) -> None:
        """Leave the session (a stdio server sees EOF and exits), then stop the portal's thread."""
        self.dead = True
        portal, stop, held = self._portal, self._stop, self._held
        if portal is not None and stop is not None and held is not None and not held.done():
            with suppress(Exception):  # closing must not raise
                portal.call(stop.set)
        if held is not None:
            try:
                held.result(timeout=CLOSE_TIMEOUT_S)
            except BaseException:  # noqa: BLE001 - a crashed server cannot be closed more cleanly
                held.cancel()
        self._client = None
        with suppress(Exception):
            self._resources.close()


class McpTransport:
    """Where Basic Memory runs (a command to spawn, or a URL), and this process's one session to it.

    Thread-safe; the session starts on the first call, and a dead one is replaced on the next.
    """

    def __init__(
        self,
        *,
        command: str = "basic-memory mcp",
        url: str | None = None,
        env: Mapping[str, str] | None = None,
        start_timeout_s: float = 60.0,
        call_timeout_s: float = 120.0,
    ) -> None:
        """`env` defaults to this process's environment at start time; `url` wins over `command`."""
        self.command, self.url, self._env = command, url, (dict(env) if env is not None else None)
        self.start_timeout_s, self.call_timeout_s = start_timeout_s, call_timeout_s
        self._lock = threading.Lock()
        self._session: McpSession | None = None

    def where(self) -> str:
        """Which Basic Memory, and the setting that changes it: the fix every unavailable error names."""
        if self.url:
            return f"Basic Memory at {self.url!r} (set {URL_SETTING})"
        return f"Basic Memory command {self.command!r} (set {COMMAND_SETTING})"

    def run(self, what: str, make: Callable[[Client], Awaitable[T]]) -> T:
        """`make(client)` on the live session; any failure is `BasicMemoryUnavailable` naming `what`."""
        session = self._ensure_session()
        try:
            return session.run(make)
        except Exception as exc:
            session.dead = True  # the next call starts a fresh server instead of reusing a broken pipe
            raise BasicMemoryUnavailable(f"{self.where()}: {what} failed: {one_line(describe(exc), 200)}") from exc

    def close(self) -> None:
        """Stop the session (and the server process it started); a later call starts anew."""
        with self._lock:
            self._drop_session()

    def _stdio_parameters(self) -> StdioServerParameters:
        from mcp.client.stdio import StdioServerParameters

        argv = shlex.split(self.command)
        if not argv:
            raise BasicMemoryUnavailable(f"{COMMAND_SETTING} is empty: set it to a command such as 'basic-memory mcp'")
        env = basic_memory_env(self._env if self._env is not None else os.environ)
        if shutil.which(argv[0], path=env.get("PATH")) is None:
            raise BasicMemoryUnavailable(
                f"cannot start Basic Memory: command {argv[0]!r} not found; "
                f"install basic-memory or set {COMMAND_SETTING} to a command that runs 'basic-memory mcp'"
            )
        return StdioServerParameters(command=argv[0], args=argv[1:], env=env)

    def _ensure_session(self) -> McpSession:
        with self._lock:
            if self._session is not None and not self._session.dead:
                return self._session
            self._drop_session()
            target: StdioServerParameters | str = self.url or self._stdio_parameters()
            session = McpSession(target, self.start_timeout_s, self.call_timeout_s)
            try:
                session.start()
            except Exception as exc:
                raise BasicMemoryUnavailable(self._start_failure(exc, session.failure_stderr)) from exc
            _live_sessions.add(session)
            self._session = session
            return session

    def _start_failure(self, exc: Exception, stderr_tail: str) -> str:
        why = describe(exc)
        if isinstance(exc, TimeoutError):
            problem = f"did not finish starting within {self.start_timeout_s:g}s"
        else:
            reason = "the server exited before the MCP handshake" if "Connection closed" in why else why
            problem = f"failed to start ({one_line(reason, 160)})"
        return f"{self.where()} {problem}" + (f"; stderr: {stderr_tail}" if stderr_tail else "")

    def _drop_session(self) -> None:
        if self._session is not None:
            _live_sessions.discard(self._session)
            self._session.close()
            self._session = None


_live_sessions: set[McpSession] = set()


@atexit.register
def _close_live_sessions() -> None:
    """Stop server processes cleanly at exit instead of leaving them to notice EOF."""
    for session in list(_live_sessions):
        session.close()
