"""Hand-built playbooks and account states for the pure planner tests."""

from __future__ import annotations

from decimal import Decimal as D

from runner.enums import MarginMode, OrderType, Side
from runner.playbook.model import (
    Guards,
    LiqDistance,
    MarginRuleSpec,
    OrderSpec,
    Playbook,
    SymbolSpec,
)
from runner.reconcile.state import AccountState, OpenOrder, PositionState, SymbolRules

ETH = "PERP_ETH_USDC"
BTC = "PERP_BTC_USDC"

RULES = {
    ETH: SymbolRules(
        symbol=ETH,
        quote_tick=D("0.01"),
        base_tick=D("0.001"),
        base_min=D("0.001"),
        base_max=D("1000"),
        min_notional=D("10"),
        base_imr=D("0.01"),
        base_mmr=D("0.006"),
        imr_factor=D("0.0000001724"),
    ),
    BTC: SymbolRules(
        symbol=BTC,
        quote_tick=D("0.1"),
        base_tick=D("0.00001"),
        base_min=D("0.00001"),
        base_max=D("20"),
        min_notional=D("10"),
        base_imr=D("0.01"),
        base_mmr=D("0.006"),
        imr_factor=D("0.000000091"),
    ),
}
MARKS = {ETH: D("3000"), BTC: D("95000")}


def entry(key: str = "dip-1", price: str = "2700", qty: str = "0.05", **kw: object) -> OrderSpec:
    return OrderSpec(
        key=key,
        side=kw.pop("side", Side.BUY),  # type: ignore[arg-type]
        type=kw.pop("type", OrderType.LIMIT),  # type: ignore[arg-type]
        price=D(price) if price else None,
        quantity=D(qty),
        **kw,  # type: ignore[arg-type]
    )


def eth_isolated(*orders: OrderSpec, leverage: int = 5, rule: bool = True) -> SymbolSpec:
    return SymbolSpec(
        symbol=ETH,
        margin_mode=MarginMode.ISOLATED,
        leverage=leverage,
        orders=orders or (entry(),),
        margin=MarginRuleSpec(liq_distance=LiqDistance(D(15), D(20), D(40))) if rule else None,
    )


def playbook(
    *symbols: SymbolSpec, name: str = "test", guards: Guards | None = None, halt: bool = False
) -> Playbook:
    return Playbook(name=name, symbols=symbols, guards=guards or Guards(), halt=halt)


def state(
    *,
    orders: tuple[OpenOrder, ...] = (),
    positions: tuple[PositionState, ...] = (),
    leverages: dict[tuple[str, MarginMode], int] | None = None,
    holding: str = "10000",
    default_modes: dict[str, MarginMode] | None = None,
    **kw: object,
) -> AccountState:
    return AccountState(
        account_id="0xacc",
        rules=RULES,
        marks=dict(MARKS),
        leverages=leverages if leverages is not None else {},
        default_modes=default_modes or {},
        open_orders=orders,
        positions={(p.symbol, p.margin_mode): p for p in positions},
        usdc_holding=D(holding),
        free_collateral=D(holding),
        total_collateral=D(holding),
        **kw,  # type: ignore[arg-type]
    )
