"""Spec store over the real Basic Memory MCP server.

specmill's steps are synchronous, the MCP client is async, and a session takes ~5 s to
start; so one session per process lives on a private event-loop thread.

Verified against basic-memory 0.24.1: `read_note(output_format="json",
include_frontmatter=True)` returns the whole file and `checksum` = its sha256, which
`expected_checksum` takes; a missing note is `error: "NOTE_NOT_FOUND"`, not a tool error.
`edit_note(operation="find_replace", find_text=<whole old text>, expected_checksum=...)`
replaces the whole file byte for byte (`write_note(overwrite=True)` would merge
frontmatter keys instead); a stale checksum answers `NOTE_REVISION_CONFLICT`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import json
import os
import shlex
import shutil
import tempfile
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, ClassVar, TextIO, TypeVar

from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from pydantic import BaseModel, ConfigDict

from specmill.config import Settings
from specmill.errors import BasicMemoryUnavailable, NoteConflict, SpecmillError, SpecNotFound
from specmill.models import Note

UPDATE_CHECK_SWITCHES: dict[str, str] = {
    "BASIC_MEMORY_AUTO_UPDATE": "false",
    "FASTMCP_CHECK_FOR_UPDATES": "off",
}
COMMAND_SETTING = "SPECMILL_BASIC_MEMORY_COMMAND"
URL_SETTING = "SPECMILL_BASIC_MEMORY_URL"
# EDIT_OUTCOME_UNKNOWN too: re-reading is exactly the right recovery when a write may have landed.
_CONFLICT_ERRORS = {"NOTE_REVISION_CONFLICT", "EDIT_OUTCOME_UNKNOWN"}
T = TypeVar("T")

# Every tool and argument this adapter sends; tests/test_basic_memory_contract.py pins them.
TOOL_ARGUMENTS: dict[str, frozenset[str]] = {
    "read_note": frozenset({"identifier", "project", "output_format", "include_frontmatter"}),
    "edit_note": frozenset(
        {"identifier", "project", "operation", "find_text", "content", "expected_replacements", "expected_checksum",
         "output_format"}
    ),
    "write_note": frozenset({"title", "directory", "content", "project", "overwrite", "output_format"}),
    "search_notes": frozenset({"project", "output_format", "search_type", "compact", "page", "page_size", "note_types", "metadata_filters"}),
    "list_directory": frozenset({"project", "dir_name", "depth", "output_format", "page", "page_size"}),
}


def basic_memory_env(base_env: Mapping[str, str]) -> dict[str, str]:
    """The server's environment: everything we have, minus self-updates mid-run."""
    return {**base_env, **UPDATE_CHECK_SWITCHES}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class _NotePayload(BaseModel):
    """read_note's JSON answer; every field optional because NOTE_NOT_FOUND nulls them."""

    model_config = ConfigDict(extra="ignore")

    title: str | None = None
    permalink: str | None = None
    content: str | None = None
    checksum: str | None = None
    error: str | None = None


class _ToolAnswer(BaseModel):
    """One tool call reduced to what we branch on."""

    is_error: bool
    text: str
    data: dict[str, Any] | None = None


class _McpSession:
    """One MCP client session held open by a task on a private event-loop thread."""

    def __init__(self, target: StdioServerParameters | str, start_timeout_s: float, call_timeout_s: float):
        self._target = target
        self._start_timeout_s = start_timeout_s
        self._call_timeout_s = call_timeout_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="specmill-basic-memory", daemon=True)
        self._client: Client | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._errlog: TextIO | None = None
        self.failure_stderr = ""
        self.dead = False

    def start(self) -> None:
        """Spawn/connect and finish the MCP handshake, or raise what went wrong."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._open(), self._loop)
        try:
            # _open enforces the start timeout itself; the margin covers the transport's teardown.
            future.result(timeout=self._start_timeout_s + 15)
        except BaseException:
            self.failure_stderr = self.stderr_tail()
            self.close()
            raise

    async def _open(self) -> None:
        self._stop = asyncio.Event()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._task = asyncio.create_task(self._serve(ready))
        await ready

    async def _serve(self, ready: asyncio.Future[None]) -> None:
        # Entered and exited in this one task: anyio task groups inside the client require it.
        if isinstance(self._target, StdioServerParameters):
            self._errlog = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
            client = Client(stdio_client(self._target, errlog=self._errlog))
        else:
            client = Client(self._target)
        try:
            async with asyncio.timeout(self._start_timeout_s):
                await client.__aenter__()
        except BaseException as exc:  # noqa: BLE001 - every start failure goes to the caller
            self.dead = True
            if ready.done():
                return
            if isinstance(exc, asyncio.CancelledError):
                ready.cancel()
            else:
                ready.set_exception(exc)
            return
        self._client = client
        ready.set_result(None)
        with contextlib.suppress(BaseException):  # a dead transport is reported by the calls
            assert self._stop is not None
            await self._stop.wait()
        self.dead = True
        with contextlib.suppress(BaseException):  # a crashed server cannot be closed more cleanly
            await client.__aexit__(None, None, None)

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
        return _one_line(" | ".join(kept[-lines:]), 300)

    def run(self, make: Callable[[Client], Coroutine[Any, Any, T]]) -> T:
        """Run `make(client)` on the session's loop and wait for it from this thread."""
        if self._client is None or self.dead:
            raise ConnectionError("the Basic Memory session is closed")
        future = asyncio.run_coroutine_threadsafe(make(self._client), self._loop)
        return future.result(timeout=self._call_timeout_s + 10)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if self._thread.is_alive():
            if self._task is not None and self._stop is not None:
                self._loop.call_soon_threadsafe(self._stop.set)
                done = asyncio.run_coroutine_threadsafe(asyncio.wait({self._task}, timeout=15), self._loop)
                with contextlib.suppress(Exception):  # closing must not raise
                    done.result(timeout=20)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()
        if self._errlog is not None:
            self._errlog.close()
        self.dead = True


class BasicMemorySpecStore:
    """SpecStore over Basic Memory's MCP tools; one lazily started session, thread-safe."""

    _shared: ClassVar[dict[tuple[str | None, str, float], BasicMemorySpecStore]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self, *, command: str = "basic-memory mcp", url: str | None = None, env: Mapping[str, str] | None = None,
        start_timeout_s: float = 60.0, call_timeout_s: float = 120.0,
    ) -> None:
        """`env` defaults to this process's environment at start time; `url` wins over `command`."""
        self.command, self.url, self._env = command, url, (dict(env) if env is not None else None)
        self.start_timeout_s, self.call_timeout_s = start_timeout_s, call_timeout_s
        self._lock = threading.Lock()
        self._session: _McpSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> BasicMemorySpecStore:
        """The process-wide store for these settings: the 5 s MCP start is paid once."""
        key = (settings.basic_memory_url, settings.basic_memory_command, settings.basic_memory_start_timeout_s)
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(command=key[1], url=key[0], start_timeout_s=key[2])
            return cls._shared[key]

    def _where(self) -> str:
        if self.url:
            return f"Basic Memory at {self.url!r} (set {URL_SETTING})"
        return f"Basic Memory command {self.command!r} (set {COMMAND_SETTING})"

    def _stdio_parameters(self) -> StdioServerParameters:
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

    def _ensure_session(self) -> _McpSession:
        with self._lock:
            if self._session is not None and not self._session.dead:
                return self._session
            if self._session is not None:
                _live_sessions.discard(self._session)
                self._session.close()
                self._session = None
            target: StdioServerParameters | str = self.url or self._stdio_parameters()
            session = _McpSession(target, self.start_timeout_s, self.call_timeout_s)
            try:
                session.start()
            except Exception as exc:
                why = _describe(exc)
                if isinstance(exc, TimeoutError):
                    problem = f"did not finish starting within {self.start_timeout_s:g}s"
                else:
                    reason = "the server exited before the MCP handshake" if "Connection closed" in why else why
                    problem = f"failed to start ({_one_line(reason, 160)})"
                tail = session.failure_stderr
                raise BasicMemoryUnavailable(
                    f"{self._where()} {problem}" + (f"; stderr: {tail}" if tail else "")
                ) from exc
            _live_sessions.add(session)
            self._session = session
            return session

    def _call(self, name: str, arguments: dict[str, Any]) -> _ToolAnswer:
        assert set(arguments) <= TOOL_ARGUMENTS[name], f"undeclared {name} arguments; update TOOL_ARGUMENTS"
        timeout = self.call_timeout_s
        result = self._run(name, lambda client: client.call_tool(name, arguments, read_timeout_seconds=timeout))
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        structured = result.structured_content
        data = structured.get("result") if isinstance(structured, dict) else None
        if not isinstance(data, dict):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
        return _ToolAnswer(is_error=bool(result.is_error), text=text, data=data if isinstance(data, dict) else None)

    def _run(self, what: str, make: Callable[[Client], Coroutine[Any, Any, T]]) -> T:
        session = self._ensure_session()
        try:
            return session.run(make)
        except Exception as exc:
            session.dead = True  # the next call starts a fresh server instead of reusing a broken pipe
            raise BasicMemoryUnavailable(f"{self._where()}: {what} failed: {_one_line(_describe(exc), 200)}") from exc

    def close(self) -> None:
        """Stop the session (and the server process it started); a later call starts anew."""
        with self._lock:
            if self._session is not None:
                _live_sessions.discard(self._session)
                self._session.close()
                self._session = None
        with self._shared_lock:
            for key, store in list(self._shared.items()):
                if store is self:
                    del self._shared[key]

    def read_note(self, identifier: str, project: str) -> Note:
        answer = self._call(
            "read_note",
            {"identifier": identifier, "project": project, "output_format": "json", "include_frontmatter": True},
        )
        if answer.is_error:
            if "project not found" in answer.text.lower():
                raise SpecNotFound(
                    f"Basic Memory project {project!r} not found: check the project name "
                    "(--project or SPECMILL_PROJECT) against 'basic-memory project list'"
                )
            if "never been indexed" in answer.text.lower():
                raise SpecNotFound(
                    f"spec note {identifier!r} not found: Basic Memory project {project!r} has no indexed notes "
                    f"(run 'basic-memory project index {project}' if its folder holds notes)"
                )
            if "ambiguous" in answer.text.lower():
                raise SpecNotFound(
                    f"spec identifier {identifier!r} is ambiguous in Basic Memory project {project!r}: "
                    "use the note's permalink"
                )
            raise SpecmillError(f"Basic Memory read_note {identifier!r} failed: {_one_line(answer.text)}")
        payload = _NotePayload.model_validate(answer.data or {})
        if payload.error == "NOTE_NOT_FOUND" or payload.content is None or payload.permalink is None:
            raise SpecNotFound(
                f"spec note {identifier!r} not found in Basic Memory project {project!r}: "
                "check the permalink, title or memory:// URL and the project name"
            )
        return Note(
            project=project,
            permalink=payload.permalink,
            title=payload.title or payload.permalink,
            content=payload.content,
            checksum=payload.checksum,
        )

    def replace_note(self, note: Note, new_content: str) -> Note:
        """Whole-text compare-and-swap: find_replace of the entire old text, guarded by checksum."""
        if note.checksum is None:
            raise NoteConflict(f"note {note.permalink!r} was read without a checksum; read it again and retry")
        if new_content == note.content:
            return note
        if not note.content.strip():
            raise SpecmillError(f"note {note.permalink!r} in project {note.project!r} is empty; cannot replace it")
        answer = self._call(
            "edit_note",
            {
                "identifier": note.permalink,
                "project": note.project,
                "operation": "find_replace",
                "find_text": note.content,
                "content": new_content,
                "expected_replacements": 1,
                "expected_checksum": note.checksum,
                "output_format": "json",
            },
        )
        if answer.is_error:
            code = str((answer.data or {}).get("error") or "")
            lowered = answer.text.lower()
            if code in _CONFLICT_ERRORS or "changed concurrently" in lowered or "revision conflict" in lowered:
                raise NoteConflict(
                    f"note {note.permalink!r} in project {note.project!r} changed since it was read "
                    f"({code or 'conflict'}); read it again and retry"
                )
            raise SpecmillError(f"Basic Memory edit_note {note.permalink!r} failed: {_one_line(answer.text)}")
        data = answer.data or {}
        checksum = data.get("checksum")
        permalink = data.get("permalink") or note.permalink
        if checksum == _sha256(new_content):
            return note.model_copy(update={"content": new_content, "checksum": checksum, "permalink": permalink})
        # The server normalised the text (for example it re-added a dropped permalink).
        return self.read_note(permalink, note.project)

    def write_note(self, project: str, title: str, folder: str, content: str) -> Note:
        """Create (or overwrite) a note and return it as stored, frontmatter included."""
        arguments = {"title": title, "directory": folder, "content": content, "project": project}
        answer = self._call("write_note", {**arguments, "overwrite": True, "output_format": "json"})
        permalink = (answer.data or {}).get("permalink")
        if answer.is_error or not permalink:
            raise SpecmillError(f"Basic Memory write_note {title!r} failed: {_one_line(answer.text)}")
        return self.read_note(str(permalink), project)

    def list_tools(self) -> dict[str, dict[str, Any]]:
        """Tool name -> JSON input schema, as the running server advertises them."""
        listing = self._run("list_tools", lambda client: client.list_tools())
        return {tool.name: dict(tool.input_schema) for tool in listing.tools}


def _describe(exc: BaseException) -> str:
    """Dig the first real error out of anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


_live_sessions: set[_McpSession] = set()


@atexit.register
def _close_live_sessions() -> None:
    """Stop server processes cleanly at exit instead of leaving them to notice EOF."""
    for session in list(_live_sessions):
        session.close()
