"""Serving the simulator over HTTP with uvicorn, on loopback unless told otherwise.

Lost responses are real here: the connection is aborted before the status line is written,
so any HTTP client sees a server that hung up without answering. This module must never
serve on a non-loopback address without the caller asking for it explicitly.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from runner.sim.web import DROP_HEADER

_DROP_MARKER = b"\r\n" + DROP_HEADER.encode() + b":"


class _DroppingTransport:
    """Forwards to the real transport, but aborts instead of writing a marked reply."""

    def __init__(self, inner: asyncio.Transport) -> None:
        self._inner = inner

    def write(self, data: bytes | bytearray | memoryview) -> None:
        chunk = bytes(data)
        if chunk.startswith(b"HTTP/") and _DROP_MARKER in chunk.lower():
            self._inner.abort()
            return
        if self._inner.is_closing():
            return
        self._inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class DroppingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol whose transport can drop a marked response."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(_DroppingTransport(transport))  # type: ignore[arg-type]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(
    app: ASGIApp, host: str, port: int, *, allow_remote: bool = False, log_level: str = "warning"
) -> uvicorn.Server:
    """A uvicorn server for the app (not started)."""
    if not allow_remote and not is_loopback(host):
        raise ValueError(f"refusing to serve on non-loopback address {host}")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=DroppingH11Protocol,
        lifespan="off",
        log_level=log_level,
        access_log=False,
    )
    return uvicorn.Server(config)
