"""The built-in Orderly-compatible exchange simulator (the embedded default backend).

It speaks Orderly's REST wire protocol (shared/orderly-api.md): ed25519 signatures checked over
the raw request bytes by its own verifier, Orderly's envelope, field names, error codes and
HTTP statuses, rate limits, and the trading rules of leverage, margin modes and isolated margin.
It imports nothing else from `runner`. Entry points: runner.sim.app.create_app,
runner.sim.transport.InProcessTransport, runner.sim.embedded.open_embedded,
runner.sim.server.make_server (`runner sim serve`).

Choices made where orderly-api.md says UNCONFIRMED (or leaves the detail open):
- Auth: missing/malformed headers, bad signature and a timestamp outside ±300 s -> -1001/401;
  unknown account, key not registered to the account, expired key or missing scope ->
  -1002/401. Keys created by the admin route carry scope read,trading,asset; order writes and
  position_margin need `trading`. Public routes ignore orderly-* headers entirely.
- Errors always carry `timestamp`. Unknown body fields (POST/PUT) -> -1004; unknown query
  parameters on GET/DELETE are ignored (the connector sends `source_type`). Unknown symbol ->
  -1005. Unknown path -> 404 with code -1000, wrong method -> 405 with code -1005.
- Rate limits (§3.4) use a sliding window on the simulator clock, per orderly-key (per IP
  where Orderly says so); 429 replies carry code -1003 and a Retry-After header (seconds).
  Enforcement follows create_app(rate_limits=...) unless POST /sim/faults sets
  "rate_limit": true/false (null returns to the app default); "rate_limit_rate" forces random
  429s. Orders inside a batch do not also count against the single-order budget.
- Leverage defaults to 10 (capped at the symbol maximum 1/base_imr) for every (symbol, mode);
  GET /v1/client/leverages lists every symbol in both modes. Leverage outside 1..100 or above
  the symbol maximum -> -1005; a change the positions cannot carry (notional above
  max_notional, or cross IM above collateral) -> -1101. A single-symbol ISOLATED change is
  refused with -1012 while isolated orders are pending on that symbol, and with -1101 if an
  open isolated position's margin is below notional x IMR at the new leverage. Batch replies
  are {margin_mode, leverage}. The legacy POST /v1/client/leverage behaves like /leverages
  (CROSS unless margin_mode is given); without a symbol it also sets client/info max_leverage.
- Margin-mode switch with a position or pending order in the current default mode -> -1012.
- position_margin without an open isolated position -> -1006; above max_add / max_reduce ->
  -1101. GET /v1/position/{symbol} without a position answers a zeroed row; /v1/positions lists
  open positions plus flat (symbol, mode) pairs that have pending orders.
- Fills happen against the mark: a BUY at or above the mark (SELL at or below) executes at
  once as taker at mark ± 5 bps slippage (never beyond its limit); resting orders fill at
  their own price as makers when the mark crosses them. Orders fill whole (no partial
  fills). MARKET fails (CANCELLED) only when its `slippage` is below 5 bps; IOC/FOK that do
  not cross are CANCELLED; a POST_ONLY that would cross is accepted then CANCELLED (as on
  Orderly, §4.2); ASK/BID are limits at the mark. Fees: taker 5 bps, maker 2 bps.
- min_notional is checked as price x qty >= min_notional (mark for MARKET). Price range and
  scope are checked against the mark (-1105 for both). Resting orders are not auto-cancelled
  when the mark moves: a resting order that the mark crosses fills first, so it can never sit
  outside the price range.
- Bookkeeping: opening fees are folded into cost_position; realised PnL of a reducing fill is
  settled into the USDC holding at once (Orderly keeps it unsettled until settle_pnl).
  Isolated margin is notional/leverage taken from holding at fill, released pro rata on
  reduce; isolated_order_frozen = opening qty x price x (1/leverage + 0.0006), released on
  fill or cancel. Funding is not simulated (sum_unitary_funding stays 0). pending_short is 0.
- Served for third-party clients (ccxt, the official connector): funding_rate(s) answer rate 0
  with the last funding one period before next_funding_time; funding_fee/history is always an
  empty page; GET /v1/orderbook/{symbol} is one level a side at mark ± 5 bps (the price an
  immediate fill gets) for base_max. position_history, kline and market_trades are not served.
- Liquidation (checked whenever marks change): an isolated position whose margin + unsettled
  PnL <= MM is closed at the mark, its isolated orders cancelled, std_liquidation_fee x
  notional taken from its remaining equity, the rest returned to holding. Cross: when the
  cross collateral < cross MM, cross orders are cancelled and cross positions closed at the
  mark; holding becomes max(0, holding + cross PnL - fees). Isolated positions are untouched
  by a cross liquidation. est_liq_price is 0 when there is none.
- client_order_id: up to 36 of [A-Za-z0-9_-], not starting with '-', unique among open orders
  (-1007/409); order rows carry it as a string ("" when unset). GET /v1/client/order/{id}
  returns the most recent order with that id.
- Market: marks walk in 1 s steps (seeded hash per (seed, symbol, step)), frozen by
  POST /sim/market; POST /sim/prices sets a mark (the walk continues from it unless frozen).
- Faults apply to /v1 routes only: each request draws error / 429 / drop in a fixed order
  from one seeded generator. A lost response is committed first, then the connection drops.
"""
