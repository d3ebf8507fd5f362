"""Unauthenticated /v1/public routes (orderly-api.md §4.1, §4.6): market rules, marks,
tokens, chains, system status, leverage options.

Served so that third-party clients (ccxt's load_markets calls token and chain_info first)
work unchanged. orderly-* headers on these routes are ignored, never checked.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from runner.sim import ratelimit as rl
from runner.sim import views
from runner.sim.engine import Engine
from runner.sim.web import public_endpoint

USDC_TOKEN_HASH = "0xd6aca1be9729c13d677335161321649cccae6a591554772516700f986f942eaa"
VAULT_ADDRESS = "0x816f722424B49Cf1275cc86DA9840Fbd5a6167e9"
CHAIN_ID = "42161"


def info(engine: Engine, request: Request, now: int) -> dict[str, Any]:
    return {"rows": [spec.public_info() for spec in engine.specs.values()]}


def info_symbol(engine: Engine, request: Request, now: int) -> dict[str, Any]:
    return engine.spec(request.path_params["symbol"]).public_info()


def futures(engine: Engine, request: Request, now: int) -> dict[str, Any]:
    return {"rows": [views.futures_row(engine, symbol, now) for symbol in engine.specs]}


def futures_symbol(engine: Engine, request: Request, now: int) -> dict[str, Any]:
    spec = engine.spec(request.path_params["symbol"])
    return views.futures_row(engine, spec.symbol, now)


def token(engine: Engine, request: Request, now: int) -> dict[str, Any]:
    return {
        "rows": [
            {
                "token": "USDC",
                "decimals": 6,
                "minimum_withdraw_amount": Decimal("0.000001"),
                "token_hash": USDC_TOKEN_HASH,
                "base_weight": Decimal(1),
                "discount_factor": None,
                "haircut": Decimal(1),
                "user_max_qty": Decimal(-1),
                "is_collateral": True,
                "on_chain_swap": False,
                "chain_details": [
                    {
                        "chain_id": CHAIN_ID,
                        "contract_address": "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
                        "cross_chain_withdrawal_fee": Decimal(1),
                        "decimals": 6,
                        "withdraw_fee": Decimal(1),
                        "display_name": "USDC",
                        "exclusive_deposit_supported": False,
                    }
                ],
            }
        ]
    }


def chain_info(engine: Engine, request: Request, now: int) -> dict[str, Any]:
    return {
        "rows": [
            {
                "name": "Arbitrum",
                "public_rpc_url": "http://127.0.0.1/simulated-chain",
                "chain_id": CHAIN_ID,
                "currency_symbol": "ETH",
                "currency_decimal": 18,
                "explorer_base_url": "http://127.0.0.1/simulated-explorer",
                "vault_address": VAULT_ADDRESS,
                "broker_ids": ["runner_sim"],
            }
        ]
    }


def system_info(engine: Engine, request: Request, now: int) -> dict[str, Any]:
    return {"status": 0, "msg": "System is functioning properly."}


def leverage(engine: Engine, request: Request, now: int) -> dict[str, Any]:
    # a string, as in the spec
    return {"max_futures_leverage": "100"}


def config(engine: Engine, request: Request, now: int) -> dict[str, Any]:
    return {"available_futures_leverage": "1,2,3,4,5,10,15,20,50,100"}


def _r(path: str, op: Any, rule: rl.Rule = rl.PUBLIC) -> Route:
    return Route(path, public_endpoint(op, rule), methods=["GET"])


ROUTES: list[Route] = [
    _r("/v1/public/info", info),
    _r("/v1/public/info/{symbol}", info_symbol),
    _r("/v1/public/futures", futures),
    _r("/v1/public/futures/{symbol}", futures_symbol),
    _r("/v1/public/token", token),
    _r("/v1/public/chain_info", chain_info),
    _r("/v1/public/system_info", system_info, rl.SYSTEM_INFO),
    _r("/v1/public/leverage", leverage),
    _r("/v1/public/config", config),
]
