"""Drive `runner sim serve` with third-party Orderly clients that do not know it is a simulator.

Starts the simulator as a subprocess on 127.0.0.1 (free port, temporary state dir, admin token,
rate limits off), creates a funded account through the admin API, freezes the market and sets
the marks, then runs the official Python connector (orderly-evm-connector 0.2.9) and ccxt's
`woofipro` exchange against it, step by step. Each step prints PASS or FAIL with the error; the
last line is `N passed, M failed`. The whole run stops by itself within about two minutes.

The two client packages are not project dependencies: run this with a separate venv, e.g.
    python3 -m venv /tmp/tp
    /tmp/tp/bin/pip install orderly-evm-connector==0.2.9 ccxt
    /tmp/tp/bin/pip install -e .
    /tmp/tp/bin/python bench/third_party_clients.py
A client that cannot be imported is reported as one FAIL step and the other still runs.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _third_party_harness import (
    BTC,
    DEADLINE_S,
    ETH,
    HTTP_TIMEOUT_S,
    RESULTS,
    Deadline,
    check,
    ok,
    rows_of,
    set_up,
    sim_leverage,
    start_server,
    step,
)


def run_connector(url: str, account: dict[str, Any]) -> None:
    try:
        from orderly_evm_connector.rest import Rest
    except ImportError as exc:
        missing = f"{type(exc).__name__}: {exc}"
        step("connector: import orderly_evm_connector", lambda: check(False, missing))
        return
    client = Rest(
        orderly_key=account["orderly_key"],
        orderly_secret=account["secret"],
        orderly_account_id=account["account_id"],
        orderly_testnet=True,
        orderly_api_url=url,
        timeout=HTTP_TIMEOUT_S,
    )
    coid = "tp-conn-1"

    def account_information() -> None:
        data = ok(client.get_account_information())
        check(data["account_id"] == account["account_id"], f"wrong account: {data}")
        check(isinstance(data.get("max_leverage"), int), f"max_leverage: {data}")

    def positions_info() -> None:
        data = ok(client.get_all_positions_info())
        rows_of(data)
        check("free_collateral" in data, f"no free_collateral: {data}")

    def update_leverages() -> None:
        data = ok(client.update_leverages(10, ETH, "CROSS"))
        check(data["leverage"] == 10 and data["symbol"] == ETH, f"unexpected: {data}")
        got = ok(client.get_leverage_setting(ETH))
        check(got["leverage"] == 10, f"leverage not stored: {got}")

    def update_leverage_configuration() -> None:
        ok(client.update_leverage_configuration(5))
        rows = rows_of(ok(client.get_all_leverages()))
        cross = [r for r in rows if r["margin_mode"] == "CROSS"]
        check(all(r["leverage"] <= 5 for r in cross), f"legacy leverage not applied: {cross}")

    def create_limit() -> int:
        data = ok(
            client.create_order(
                ETH,
                "LIMIT",
                "BUY",
                client_order_id=coid,
                order_price=2400.5,
                order_quantity=0.05,
            )
        )
        check(data["client_order_id"] == coid, f"ack: {data}")
        return int(data["order_id"])

    order_id = step("connector: create_order LIMIT far below mark", create_limit)

    def get_orders() -> None:
        rows = rows_of(ok(client.get_orders(symbol=ETH, status="INCOMPLETE")))
        check([r["order_id"] for r in rows] == [order_id], f"open orders: {rows}")

    def by_client_id() -> None:
        data = ok(client.get_order_by_client_order_id(coid))
        check(data["order_id"] == order_id and data["status"] == "NEW", f"order: {data}")

    def cancel() -> None:
        data = ok(client.cancel_order(order_id, ETH))
        check(data["status"] == "CANCEL_SENT", f"cancel: {data}")
        check(ok(client.get_order(order_id))["status"] == "CANCELLED", "order still open")

    def isolated_round_trip() -> None:
        ok(client.update_margin_mode(ETH, "ISOLATED"))
        modes = {
            r["symbol"]: r["default_margin_mode"] for r in rows_of(ok(client.get_margin_modes()))
        }
        check(modes[ETH] == "ISOLATED", f"default mode: {modes}")
        ok(client.update_leverages(5, ETH, "ISOLATED"))
        ok(client.create_order(ETH, "MARKET", "BUY", order_quantity=0.1))
        rows = rows_of(ok(client.get_all_positions_info()))
        iso = [r for r in rows if r["symbol"] == ETH and r["margin_mode"] == "ISOLATED"]
        check(len(iso) == 1 and iso[0]["position_qty"] > 0, f"no isolated position: {rows}")

    def adjust_margin() -> None:
        def margin() -> float:
            rows = rows_of(ok(client.get_all_positions_info()))
            (row,) = [r for r in rows if r["symbol"] == ETH and r["margin_mode"] == "ISOLATED"]
            return float(row["margin"])

        before = margin()
        ok(client.adjust_position_margin(ETH, "10", "ADD"))
        check(abs(margin() - before - 10) < 1e-6, "ADD did not move 10 USDC")
        ok(client.adjust_position_margin(ETH, "5", "REDUCE"))
        check(abs(margin() - before - 5) < 1e-6, "REDUCE did not move 5 USDC back")

    def holdings() -> None:
        for flag in (None, True):
            data = ok(client.get_current_holdings(flag))
            usdc = [h for h in data["holding"] if h["token"] == "USDC"]
            check(len(usdc) == 1 and usdc[0]["isolated_margin"] > 0, f"holding: {data}")

    def one_position() -> None:
        data = ok(client.get_one_position_info(ETH))
        check(data["symbol"] == ETH, f"position: {data}")

    def batch_cancel() -> None:
        ids = []
        for index in range(2):
            ack = ok(
                client.create_order(
                    ETH, "LIMIT", "SELL", order_price=3500 + index, order_quantity=0.01
                )
            )
            ids.append(str(ack["order_id"]))
        ok(client.batch_cancel_orders(",".join(ids)))
        rows = rows_of(ok(client.get_orders(symbol=ETH, status="INCOMPLETE")))
        check(not rows, f"still open: {rows}")

    def cancel_by_coid() -> None:
        ok(client.create_order(ETH, "LIMIT", "BUY", "tp-conn-2", 2500, 0.01))
        ok(client.cancel_order_by_client_order_id("tp-conn-2", ETH))

    def edit_and_batch() -> None:
        ack = ok(client.create_order(ETH, "LIMIT", "BUY", "tp-conn-3", 2500, 0.01))
        edit = ok(
            client.edit_order(
                ack["order_id"], ETH, "LIMIT", "BUY", order_price=2501, order_quantity=0.02
            )
        )
        check(edit["status"] == "EDIT_SENT", f"edit: {edit}")
        row = ok(client.get_order(ack["order_id"]))
        check((row["price"], row["quantity"]) == (2501, 0.02), f"edited row: {row}")
        order = {"symbol": ETH, "order_type": "LIMIT", "side": "BUY", "order_price": 2400}
        batch = ok(client.batch_create_order([{**order, "order_quantity": 0.01}] * 2))
        check(all(r["error_message"] == "none" for r in rows_of(batch)), f"batch: {batch}")
        check(ok(client.cancel_orders(ETH))["status"] == "CANCEL_ALL_SENT", "cancel all")

    def trades_funding_book() -> None:
        trades = rows_of(ok(client.get_trades(ETH)))
        check(trades and trades[0]["symbol"] == ETH, f"trades: {trades}")
        history = ok(client.get_funding_fee_history(ETH))
        check(history["rows"] == [] and history["meta"]["total"] == 0, f"funding: {history}")
        book = ok(client.get_orderbook_snapshot(ETH, 5))
        check(book["bids"][0]["price"] < 3000 < book["asks"][0]["price"], f"book: {book}")

    step("connector: get_account_information", account_information)
    step("connector: get_all_positions_info", positions_info)
    step("connector: update_leverages + get_leverage_setting", update_leverages)
    step("connector: update_leverage_configuration (legacy)", update_leverage_configuration)
    if order_id is not None:
        step("connector: get_orders INCOMPLETE", get_orders)
        step("connector: get_order_by_client_order_id", by_client_id)
        step("connector: cancel_order", cancel)
    step("connector: ISOLATED default mode + MARKET order", isolated_round_trip)
    step("connector: adjust_position_margin ADD/REDUCE", adjust_margin)
    step("connector: get_current_holdings (all unset / True)", holdings)
    step("connector: get_one_position_info", one_position)
    step("connector: batch_cancel_orders (comma ids)", batch_cancel)
    step("connector: cancel_order_by_client_order_id", cancel_by_coid)
    step("connector: edit_order + batch_create_order + cancel_orders", edit_and_batch)
    step("connector: get_trades + get_funding_fee_history + orderbook", trades_funding_book)


# ----- ccxt woofipro -----------------------------------------------------------------------


def run_ccxt(url: str, account: dict[str, Any]) -> None:
    try:
        import ccxt
    except ImportError as exc:
        missing = f"{type(exc).__name__}: {exc}"
        step("ccxt: import ccxt", lambda: check(False, missing))
        return
    # sign() builds url = urls['api'][access] + '/v1/' + path, so the override is the bare host
    exchange = ccxt.woofipro(
        {
            "apiKey": account["orderly_key"].split(":", 1)[1],  # ccxt adds the ed25519: prefix
            "secret": account["secret"],
            "accountId": account["account_id"],
            "urls": {"api": {"public": url, "private": url}},
            "enableRateLimit": False,
            "timeout": HTTP_TIMEOUT_S * 1000,
        }
    )
    symbol = "BTC/USDC:USDC"

    def load_markets() -> None:
        markets = exchange.load_markets()
        check(symbol in markets, f"{symbol} missing from {sorted(markets)[:5]}")
        check(exchange.markets[symbol]["id"] == BTC, "market id")
        check("USDC" in exchange.currencies, f"currencies: {list(exchange.currencies)}")

    def balance() -> None:
        total = exchange.fetch_balance()["total"]
        # the connector's isolated position holds some of the 10,000 USDC by now
        check(total.get("USDC") is not None and 9000 < total["USDC"] < 10000, f"total: {total}")

    def positions() -> None:
        found = exchange.fetch_positions()
        eth = [p for p in found if p["symbol"] == "ETH/USDC:USDC"]
        check(len(eth) == 1, f"connector's ETH position not seen: {found}")
        check(eth[0]["contracts"] == 0.1 and eth[0]["side"] == "long", f"position: {eth[0]}")
        check(eth[0]["markPrice"] == 3000, f"mark: {eth[0]['markPrice']}")

    def set_leverage() -> None:
        # without params ccxt posts {"leverage": 20}: every symbol, capped at its maximum
        ok(exchange.set_leverage(20, symbol))
        check(sim_leverage(url, account["account_id"], BTC) == 20, "batch leverage not applied")
        ok(exchange.set_leverage(15, symbol, {"symbol": BTC}))
        check(sim_leverage(url, account["account_id"], BTC) == 15, "symbol leverage not applied")

    def limit_open_cancel() -> str:
        order = exchange.create_order(symbol, "limit", "buy", 0.001, 80000)
        order_id = str(order["id"])
        open_ids = [o["id"] for o in exchange.fetch_open_orders(symbol)]
        check(order_id in open_ids, f"{order_id} not in open orders {open_ids}")
        fetched = exchange.fetch_order(order_id, symbol)
        check(fetched["status"] == "open", f"fetch_order: {fetched['status']}")
        got = (fetched["price"], fetched["amount"], fetched["side"], fetched["type"])
        check(got == (80000, 0.001, "buy", "limit"), f"fetch_order: {got}")
        exchange.cancel_order(order_id, symbol)
        check(exchange.fetch_order(order_id, symbol)["status"] == "canceled", "not canceled")
        return order_id

    def batch_cancel() -> None:
        ids = [
            str(exchange.create_order(symbol, "limit", "buy", 0.001, 80000 + i)["id"])
            for i in (1, 2)
        ]
        exchange.cancel_orders(ids, symbol)
        left = [o["id"] for o in exchange.fetch_open_orders(symbol)]
        check(not set(ids) & set(left), f"still open: {left}")

    def fetch_leverage() -> None:
        # ccxt reports the account-level max_leverage, which set_leverage(20) set
        lev = exchange.fetch_leverage(symbol)
        check(lev.get("longLeverage") == 20, f"leverage: {lev}")

    def funding() -> None:
        rate = exchange.fetch_funding_rate(symbol)
        check(rate["fundingRate"] == 0 and rate["interval"] == "8h", f"funding rate: {rate}")
        check(len(exchange.fetch_funding_rates()) == len(exchange.markets), "funding rates")
        check(exchange.fetch_funding_history(symbol) == [], "funding history")

    def order_book() -> None:
        book = exchange.fetch_order_book(symbol)
        check(book["bids"][0][0] < 95000 < book["asks"][0][0], f"book: {book}")

    def client_order_ids() -> None:
        exchange.create_order(symbol, "limit", "buy", 0.001, 80000, {"clientOrderId": "tp-cc-1"})
        exchange.create_order(symbol, "limit", "buy", 0.001, 80000, {"clientOrderId": "tp-cc-2"})
        fetched = exchange.fetch_order(None, symbol, {"clientOrderId": "tp-cc-1"})
        check(fetched["clientOrderId"] == "tp-cc-1", f"fetch by coid: {fetched}")
        exchange.edit_order(fetched["id"], symbol, "limit", "buy", 0.002, 80001)
        edited = exchange.fetch_order(fetched["id"], symbol)
        check((edited["price"], edited["amount"]) == (80001, 0.002), f"edit: {edited}")
        exchange.cancel_order(None, symbol, {"clientOrderId": "tp-cc-1"})
        exchange.cancel_orders([], symbol, {"clientOrderIds": ["tp-cc-2"]})
        check(exchange.fetch_open_orders(symbol) == [], "orders left open")

    def market_round_trip() -> None:
        exchange.create_order(symbol, "market", "buy", 0.001)
        exchange.create_order(symbol, "market", "sell", 0.001, None, {"reduceOnly": True})
        check(len(exchange.fetch_my_trades(symbol)) == 2, "trades")
        closed = exchange.fetch_closed_orders(symbol)
        check(len([o for o in closed if o["status"] == "closed"]) == 2, f"closed: {closed}")
        check(all(p["symbol"] != symbol for p in exchange.fetch_positions()), "BTC not flat")

    if step("ccxt: load_markets (public/info, token, chain_info)", load_markets) is None and (
        not exchange.markets
    ):
        return
    step("ccxt: fetch_balance", balance)
    step("ccxt: fetch_positions", positions)
    step("ccxt: set_leverage (legacy POST /v1/client/leverage)", set_leverage)
    step("ccxt: create_order limit + fetch_open_orders + fetch_order + cancel", limit_open_cancel)
    step("ccxt: cancel_orders (batch, percent-encoded commas)", batch_cancel)
    step("ccxt: fetch_leverage (client/info)", fetch_leverage)
    step("ccxt: fetch_funding_rate(s) + fetch_funding_history", funding)
    step("ccxt: fetch_order_book", order_book)
    step("ccxt: client order ids: fetch/edit/cancel/cancel_orders", client_order_ids)
    step("ccxt: market buy + reduceOnly sell, trades, closed orders", market_round_trip)
    step(
        "ccxt: fetch_status + fetch_trading_fees",
        lambda: check(
            exchange.fetch_status()["status"] == "ok"
            and exchange.fetch_trading_fees()[symbol]["taker"] == 0.0005,
            "status or fees",
        ),
    )


def _alarm(signum: int, frame: object) -> None:
    raise Deadline


def main() -> int:
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(DEADLINE_S)
    process = None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            process, url = start_server(Path(tmp) / "state", Path(tmp) / "server.log")
            account = step("setup: admin account, frozen market, marks", lambda: set_up(url))
            if account is not None:
                run_connector(url, account)
                run_ccxt(url, account)
        except Deadline:
            print(f"FAIL deadline: run stopped after {DEADLINE_S} s", flush=True)
            RESULTS.append(("deadline", False))
        except Exception:
            traceback.print_exc()
            RESULTS.append(("harness", False))
        finally:
            signal.alarm(0)
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
    passed = sum(1 for _, good in RESULTS if good)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
