"""`specmill serve`: the HTTP API under uvicorn, with DBOS running the queued runs in-process."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
from typing import Annotated

import typer

from specmill.cli.errors import EXIT_BAD_INPUT, EXIT_UNAVAILABLE
from specmill.config import Settings


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; beyond loopback only with SPECMILL_API_TOKENS set.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Serve the API: start runs, follow them (Server-Sent Events) and steer them."""
    import uvicorn

    from specmill.api.slow_clients import MAX_HEADER_BYTES, protocol_with_deadline

    settings = Settings()
    if not settings.api_token_list() and not is_loopback(host):
        typer.echo(
            f"error: refusing to serve on {host} without a token: set SPECMILL_API_TOKENS, or serve on 127.0.0.1",
            err=True,
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    sock = bind(host, port)  # first: a busy port fails now, not after DBOS and Basic Memory have started
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"specmill serve: listening on http://{shown}:{bound} (starting DBOS and Basic Memory)", err=True)
    uvicorn.run(
        "specmill.api.app:serve_app",
        factory=True,
        fd=sock.fileno(),
        log_level="info",
        access_log=True,
        timeout_graceful_shutdown=5,
        http=protocol_with_deadline(settings.header_timeout_s),
        timeout_keep_alive=max(1, round(settings.keep_alive_s)),
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )
    # Runs held between steps (or cut off mid-step) must not keep the process alive: they stay
    # PENDING and continue from their last completed step when this executor id starts again.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or one clear line and exit code 3 when it cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        why = (
            "the port is in use: stop what holds it, or pass --port" if exc.errno == errno.EADDRINUSE else exc.strerror
        )
        typer.echo(f"error: cannot listen on {host}:{port}: {why}", err=True)
        raise typer.Exit(EXIT_UNAVAILABLE) from None
    sock.set_inheritable(True)
    return sock


def is_loopback(host: str) -> bool:
    """Every address `host` resolves to is loopback (so `localhost` passes and `0.0.0.0` does not)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)
