"""OrderlyClient: one typed async method per Orderly REST endpoint the project uses.

The same code talks to the real exchange (testnet, mainnet) and to the simulator (in-process
through an httpx transport, or on 127.0.0.1). Sending, signing, budgets and retries live in
`transport.RequestCore`; this module says which path, which parameters in which order, and
how to read the answer. Orders (create, batch, resolution of unknown outcomes, cancels) are in
`runner.orderly.order_calls`, mixed in here.

It must never retry a write blindly, log or print anything, or let an httpx exception out.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from types import TracebackType
from typing import Any

import httpx

from runner import __version__
from runner.enums import MarginAdjustment, MarginMode
from runner.errors import ConfigError
from runner.orderly.order_calls import OrderCalls
from runner.orderly.ratelimit import RateLimiter
from runner.orderly.retry import RetryPolicy
from runner.orderly.signing import OrderlyAuth, Signer
from runner.orderly.transport import Call, RequestCore
from runner.orderly.types import (
    AccountInfo,
    AggregateHolding,
    ClientInfo,
    FutureInfo,
    Holding,
    LeverageSetting,
    MarginModeSetting,
    Position,
    PositionsSummary,
    SymbolInfo,
)
from runner.orderly.wire import Fields, decimal_text, path_segment

DEFAULT_USER_AGENT = f"runner/{__version__}"


def _get(template: str, path: str | None = None, *, private: bool = True, **kw: Any) -> Call:
    return Call("GET", template, path or template, private=private, **kw)


class OrderlyClient(OrderCalls):
    """Async client for one Orderly account (or none: public market data only)."""

    def __init__(
        self,
        base_url: str,
        *,
        account_id: str | None = None,
        signer: Signer | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        rate_limiter: RateLimiter | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing it is safe
        verify: bool = True,
        user_agent: str = DEFAULT_USER_AGENT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if (account_id is None) != (signer is None):
            raise ValueError("give both account_id and signer, or neither (public data only)")
        self.base_url = base_url.rstrip("/")
        try:
            parsed = httpx.URL(self.base_url)
        except httpx.InvalidURL:
            parsed = None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(f"{base_url!r} is not an http(s) base URL")
        self.account_id = account_id
        self.orderly_key = signer.orderly_key if signer is not None else None
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            verify=verify,
            follow_redirects=False,  # a redirect would send our signed bytes somewhere else
            headers={"user-agent": user_agent, "accept": "application/json"},
        )
        auth = None
        if account_id is not None and signer is not None:
            auth = OrderlyAuth(account_id, signer, clock=clock)
        self.rate_limiter = rate_limiter if rate_limiter is not None else RateLimiter(sleep=sleep)
        self.retry = retry
        self._sleep = sleep
        self._core = RequestCore(
            self._http,
            auth=auth,
            rate_limiter=self.rate_limiter,
            retry=retry,
            sleep=sleep,
            rng=rng,
        )

    def __repr__(self) -> str:
        return f"OrderlyClient({self.base_url!r}, account_id={self.account_id!r})"

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._core.request_count

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> OrderlyClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- public market data -------------------------------------------------------------

    async def get_symbols(self) -> list[SymbolInfo]:
        data = await self._data(_get("/v1/public/info", private=False))
        return [SymbolInfo.from_json(row) for row in data.rows()]

    async def get_symbol(self, symbol: str) -> SymbolInfo:
        path = f"/v1/public/info/{path_segment(symbol)}"
        return SymbolInfo.from_json(
            await self._data(_get("/v1/public/info/{symbol}", path, private=False))
        )

    async def get_futures(self) -> list[FutureInfo]:
        data = await self._data(_get("/v1/public/futures", private=False))
        return [FutureInfo.from_json(row) for row in data.rows()]

    async def get_future(self, symbol: str) -> FutureInfo:
        path = f"/v1/public/futures/{path_segment(symbol)}"
        return FutureInfo.from_json(
            await self._data(_get("/v1/public/futures/{symbol}", path, private=False))
        )

    # -- leverage and margin mode (§4.1) ------------------------------------------------

    async def get_leverage(
        self, symbol: str, margin_mode: MarginMode = MarginMode.CROSS
    ) -> LeverageSetting:
        query = (("symbol", symbol), ("margin_mode", margin_mode))
        return LeverageSetting.from_json(await self._data(_get("/v1/client/leverage", query=query)))

    async def get_leverages(self) -> list[LeverageSetting]:
        data = await self._data(_get("/v1/client/leverages"))
        return [LeverageSetting.from_json(row) for row in data.rows()]

    async def set_leverage(
        self, leverage: int, symbol: str, margin_mode: MarginMode
    ) -> LeverageSetting:
        """Set the leverage of one (symbol, margin mode). Budget: 5 per 60 s."""
        body = {"leverage": leverage, "symbol": symbol, "margin_mode": margin_mode}
        call = Call("POST", "/v1/client/leverages", "/v1/client/leverages", body=body)
        data = await self._core.call(call)
        if data is None:  # a success reply may omit data (§4.1): it is what we asked for
            return LeverageSetting(symbol, margin_mode, leverage)
        return LeverageSetting.from_json(Fields(data, (call.method, call.path)))

    async def set_leverage_all(self, leverage: int, margin_mode: MarginMode) -> None:
        """Batch form: every symbol of `margin_mode` gets min(leverage, its maximum) (§4.1)."""
        body = {"leverage": leverage, "margin_mode": margin_mode}
        await self._core.call(
            Call("POST", "/v1/client/leverages", "/v1/client/leverages", body=body)
        )

    async def get_margin_modes(self) -> list[MarginModeSetting]:
        data = await self._data(_get("/v1/client/margin_modes"))
        return [MarginModeSetting.from_json(row) for row in data.rows()]

    async def set_margin_mode(self, symbol: str, default_margin_mode: MarginMode) -> None:
        body = {"symbol": symbol, "default_margin_mode": default_margin_mode}
        await self._core.call(
            Call("POST", "/v1/client/margin_mode", "/v1/client/margin_mode", body=body)
        )

    # -- positions (§4.4) ---------------------------------------------------------------

    async def get_positions(self) -> PositionsSummary:
        return PositionsSummary.from_json(await self._data(_get("/v1/positions")))

    async def get_position(
        self, symbol: str, margin_mode: MarginMode = MarginMode.CROSS
    ) -> Position:
        call = _get(
            "/v1/position/{symbol}",
            f"/v1/position/{path_segment(symbol)}",
            query=(("margin_mode", margin_mode),),
        )
        return Position.from_json(await self._data(call))

    async def adjust_position_margin(
        self, symbol: str, amount: Decimal, adjustment: MarginAdjustment
    ) -> None:
        """Move USDC into (ADD) or out of (REDUCE) an isolated position. Never retried after
        an unknown outcome: adding twice would add twice; re-read the position instead."""
        # The spec types amount as a string ("100"); sending it as one keeps it exact.
        body = {"symbol": symbol, "amount": decimal_text(amount), "type": adjustment}
        await self._core.call(Call("POST", "/v1/position_margin", "/v1/position_margin", body=body))

    # -- balances and account (§4.5) ----------------------------------------------------

    async def get_holding(self, all: bool = False) -> list[Holding]:
        query = (("all", True),) if all else ()
        data = await self._data(_get("/v1/client/holding", query=query))
        return [Holding.from_json(row) for row in data.rows("holding")]

    async def get_aggregate_holding(self) -> list[AggregateHolding]:
        """Main account and sub-accounts. Budget: 1 per 60 s."""
        data = await self._data(_get("/v1/client/aggregate/holding"))
        return [AggregateHolding.from_json(row) for row in data.rows()]

    async def get_client_info(self) -> ClientInfo:
        """Account configuration. Budget: 10 per 60 s."""
        return ClientInfo.from_json(await self._data(_get("/v1/client/info")))

    async def get_account_info(self) -> AccountInfo:
        return AccountInfo.from_json(await self._data(_get("/v1/account_info")))
