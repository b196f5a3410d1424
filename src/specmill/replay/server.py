"""The offline replay model's server: a Messages-API-compatible HTTP server answering from a script,
so the real `anthropic` SDK runs offline.

Pure stdlib so it runs in the demo's or a test's thread, or as its own process
(`python -m specmill.replay.server --script FILE.json ...`). Every request is
logged (append-only JSONL when `log_path` is set) first as `received`, then as `completed`
only after the whole response was written, or `aborted` when the client went away; tests
count completed entries per `request_sha256` to prove no call was answered twice.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import math
import os
import select
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from specmill.replay.prompt_cache import PromptCache
from specmill.replay.request_log import MESSAGES_PATH, read_request_log, request_sha256
from specmill.replay.scripts import InvalidRequest, Route, Script, count_input_tokens
from specmill.replay.wire import error_body, sse_events

COUNT_TOKENS_PATH = "/v1/messages/count_tokens"


class ClientGone(Exception):
    """The client closed its connection (or the server is stopping) before the answer was written."""


class MessagesServer:
    """Serve a `Script` over HTTP on loopback; see the module docstring for the log contract."""

    def __init__(
        self,
        script: Script | Mapping[str, Any] | str | os.PathLike[str],
        log_path: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        chunk_chars: int = 16,
    ) -> None:
        self.script = Script.load(script)
        self.log_path = Path(log_path) if log_path is not None else None
        self.host, self.port = host, port
        self.chunk_chars = chunk_chars
        self.cache = PromptCache(self.script.min_cacheable_tokens, clock)
        self._entries: list[dict[str, Any]] = []
        self._fault_counts: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._in_flight: set[int] = set()
        self.stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log_file: Any = None
        previous = read_request_log(self.log_path) if self.log_path else []
        self._seq = itertools.count(max((e.get("seq", 0) for e in previous), default=0) + 1)

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), _Handler, self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="messages-server", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop accepting, abort in-flight delays, and drop kept-alive connections."""
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            with self._settled:  # let answers being written log their final entry
                self._settled.wait_for(lambda: not self._in_flight, 5.0)
            self._httpd.close_connections()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def __enter__(self) -> MessagesServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests(self) -> list[dict[str, Any]]:
        """Log entries written by this instance (the file may hold earlier runs too)."""
        with self._lock:
            return [dict(e) for e in self._entries]

    def wait_settled(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until every received request has its final entry, then return `requests()`.

        The client can see an answer a moment before the server logs it as completed, so a
        test that inspects the log right after a call must wait here.
        """
        with self._settled:
            if not self._settled.wait_for(lambda: not self._in_flight, timeout):
                raise TimeoutError(f"requests still in flight after {timeout}s: seq {sorted(self._in_flight)}")
            return [dict(e) for e in self._entries]

    # -- used by the handler -------------------------------------------------

    def new_seq(self) -> int:
        with self._lock:
            return next(self._seq)

    def log(self, **entry: Any) -> None:
        entry = {"time": time.time(), **entry}
        with self._lock:
            self._entries.append(entry)
            if self._log_file is not None:
                self._log_file.write(json.dumps(entry) + "\n")
                self._log_file.flush()
            if entry["event"] == "received":
                self._in_flight.add(entry["seq"])
            else:
                self._in_flight.discard(entry["seq"])
                self._settled.notify_all()

    def take_fault(self, route: Route) -> bool:
        """True if this request is one of the first `times` for its (conversation, turn)."""
        fault = route.turn.fail
        if fault is None:
            return False
        key = (route.conversation.name, route.turn_index)
        with self._lock:
            self._fault_counts[key] += 1
            return self._fault_counts[key] <= fault.times


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], app: MessagesServer) -> None:
        self.app = app
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is normal here (timeouts, killed clients); report anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.open_connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


def _peer_closed(sock: socket.socket) -> bool:
    """A readable socket whose peek returns nothing has been closed by the client."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the JSONL log is the record."""

    def do_GET(self) -> None:
        self._send_json(404, error_body("not_found_error", f"no GET route {self.path}"))

    def do_POST(self) -> None:
        app = self.server.app
        path = self.path.split("?", 1)[0]
        raw = self._read_body()
        entry = {
            "seq": app.new_seq(),
            "path": path,
            "conversation": None,
            "turn": None,
            "request_sha256": hashlib.sha256(raw).hexdigest(),
            "stream": False,
        }
        route = None
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise InvalidRequest("the body must be a JSON object")
            entry.update(request_sha256=request_sha256(body), stream=bool(body.get("stream")))
            if path == MESSAGES_PATH:
                route = app.script.route(body)
                entry.update(conversation=route.conversation.name, turn=route.turn_index)
        except (ValueError, InvalidRequest) as exc:
            app.log(**entry, event="received", status=None, completed=False)
            self._reject(entry, 400, "invalid_request_error", str(exc))
            return
        app.log(**entry, event="received", status=None, completed=False)
        if route is not None:
            self._messages(app, body, entry, route)
        elif path == COUNT_TOKENS_PATH:
            self._finish(entry, 200, lambda: self._send_json(200, {"input_tokens": count_input_tokens(body)}))
        else:
            self._reject(entry, 404, "not_found_error", f"no route {path}")

    def _messages(self, app: MessagesServer, body: dict[str, Any], entry: dict[str, Any], route: Route) -> None:
        fault = route.turn.fail if app.take_fault(route) else None
        stream_fault = fault if fault and fault.mid_stream and body.get("stream") else None
        try:
            self._hold(route.turn.delay_s)
            usage = app.cache.account(body) if fault is None or stream_fault else {}
        except ClientGone:
            app.log(**entry, event="aborted", status=fault.status if fault else 200, completed=False)
            self.close_connection = True
            return
        except InvalidRequest as exc:
            self._reject(entry, 400, "invalid_request_error", str(exc))
            return
        if fault and not stream_fault:
            headers = {}
            if fault.status == 429:
                headers = {
                    "retry-after": str(math.ceil(fault.retry_after_s)),
                    "retry-after-ms": str(int(fault.retry_after_s * 1000)),
                }
            text = fault.message or f"scripted {fault.error_type} ({route.conversation.name!r} turn {route.turn_index})"
            self._reject(entry, fault.status, fault.error_type, text, headers)
            return
        message = route.message(str(body.get("model", "")), usage)
        if body.get("stream"):
            # A mid-stream error is logged with the error's status although the HTTP status was 200.
            events = sse_events(message, app.chunk_chars, stream_fault)
            self._finish(entry, stream_fault.status if stream_fault else 200, lambda: self._send_events(events))
        else:
            self._finish(entry, 200, lambda: self._send_json(200, message))

    def _reject(
        self, entry: dict[str, Any], status: int, error_type: str, text: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self._finish(entry, status, lambda: self._send_json(status, error_body(error_type, text), headers))

    def _hold(self, delay_s: float) -> None:
        """Sleep up to `delay_s`, giving up as soon as the client disconnects or the server stops."""
        deadline = time.monotonic() + delay_s
        while True:
            if self.server.app.stopping.is_set() or _peer_closed(self.connection):
                raise ClientGone
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.server.app.stopping.wait(min(remaining, 0.02))

    def _finish(self, entry: dict[str, Any], status: int, send: Callable[[], None]) -> None:
        """Write the answer; log completed only once every byte has been handed to the socket."""
        app = self.server.app
        try:
            if _peer_closed(self.connection):
                raise ClientGone
            send()
            self.wfile.flush()
        except (ClientGone, OSError):
            app.log(**entry, event="aborted", status=status, completed=False)
            self.close_connection = True
            return
        app.log(**entry, event="completed", status=status, completed=True)

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _start(self, status: int, headers: Mapping[str, str]) -> None:
        self.send_response(status, "Overloaded" if status == 529 else None)
        self.send_header("request-id", f"req_scripted_{threading.get_ident():x}_{time.monotonic_ns():x}")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self._start(status, {"content-type": "application/json", "content-length": str(len(data)), **(headers or {})})
        self.wfile.write(data)

    def _send_events(self, events: Iterator[tuple[str, dict[str, Any]]]) -> None:
        """Server-Sent Events in chunked transfer encoding, one flush per event like the API."""
        self._start(
            200,
            {
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                "transfer-encoding": "chunked",
            },
        )
        for name, data in events:
            frame = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


def main(argv: list[str] | None = None) -> int:
    """Run until SIGTERM/SIGINT; --port-file receives the bound port once listening."""
    parser = argparse.ArgumentParser(prog="python -m specmill.replay.server", description=__doc__)
    parser.add_argument("--script", required=True, help="JSON script file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", default=None, help="append-only JSONL request log")
    parser.add_argument("--port-file", default=None, help="file to receive the bound port")
    args = parser.parse_args(argv)
    server = MessagesServer(args.script, log_path=args.log, host=args.host, port=args.port)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    url = server.start()
    if args.port_file:  # written whole then renamed, so a polling parent never reads half a port
        Path(args.port_file + ".tmp").write_text(str(server.port), encoding="utf-8")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(url, flush=True)
    while not done.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
