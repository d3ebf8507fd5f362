"""httpx transport to an in-process simulator, with lost responses that look real.

A reply the fault injector marked as lost (the write committed, then the connection dropped)
becomes httpx.RemoteProtocolError, exactly what httpx raises when a server closes the TCP
connection without answering. The marker header never reaches the caller.
"""

from __future__ import annotations

import httpx
from starlette.types import ASGIApp

from runner.sim.web import DROP_HEADER


class InProcessTransport(httpx.AsyncBaseTransport):
    """httpx.ASGITransport plus the simulator's dropped-connection fault."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if DROP_HEADER in response.headers:
            await response.aclose()
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
