"""`specmill serve`: the HTTP API under uvicorn, with DBOS running the queued runs in-process."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from typing import Annotated

import typer

from specmill.cli.errors import EXIT_BAD_INPUT
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
    uvicorn.run(
        "specmill.api.app:serve_app",
        factory=True,
        host=host,
        port=port,
        log_level="warning",
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
