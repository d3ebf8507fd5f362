"""Account configuration: accounts and keys, leverage per (symbol, mode), default margin
modes, and isolated position margin (orderly-api.md §4.1, §4.4, §5.5).

Every refusal is raised before the first change, so a batch leverage update is all or
nothing where Orderly says it is (CROSS). This module must never place or fill orders.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import base58
from nacl.signing import SigningKey

from runner.sim import errors as e
from runner.sim.errors import SimError
from runner.sim.margin import (
    available_for_isolated,
    cross_summary,
    imr,
    max_notional_for_leverage,
    max_reduce,
)
from runner.sim.model import CROSS, ISOLATED, MARGIN_MODES, Account, ApiKey, leverage_key
from runner.sim.numbers import parse_decimal, parse_int

if TYPE_CHECKING:
    from runner.sim.engine import Engine

KEY_PREFIX = "ed25519:"
DEFAULT_SCOPE = "read,trading,asset"
KEY_LIFETIME_MS = 365 * 24 * 3600 * 1000
MAX_LEVERAGE = 100


def normalise_orderly_key(value: str) -> str:
    """`ed25519:<base58>`, whether or not the prefix was given."""
    value = value.strip()
    return value if value.startswith(KEY_PREFIX) else KEY_PREFIX + value


def public_key_bytes(orderly_key: str) -> bytes:
    try:
        raw = base58.b58decode(normalise_orderly_key(orderly_key)[len(KEY_PREFIX) :])
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise SimError(e.INVALID_PARAM, "orderly_key must be ed25519:<base58 of 32 bytes>")
    return bytes(raw)


def new_key_pair() -> tuple[str, str]:
    """(secret as ed25519:<base58 seed>, orderly_key as ed25519:<base58 public key>)."""
    signing = SigningKey.generate()
    secret = KEY_PREFIX + base58.b58encode(bytes(signing)).decode()
    public = KEY_PREFIX + base58.b58encode(bytes(signing.verify_key)).decode()
    return secret, public


def create_account(engine: Engine, account_id: str | None, balance: Decimal, now: int) -> Account:
    if account_id is None:
        account_id = "0x" + secrets.token_hex(32)
    if account_id in engine.state.accounts:
        raise SimError(e.DUPLICATE_REQUEST, f"account {account_id} already exists")
    account = Account(
        account_id=account_id,
        user_id=engine.state.meta.next_user_id,
        holding=balance,
        max_leverage=10,
        created_time=now,
        updated_time=now,
    )
    engine.state.meta.next_user_id += 1
    engine.touch_meta()
    engine.state.accounts[account_id] = account
    engine.touch(account)
    return account


def register_key(engine: Engine, account_id: str, orderly_key: str, scope: str, now: int) -> ApiKey:
    key = normalise_orderly_key(orderly_key)
    existing = engine.state.keys.get(key)
    if existing is not None and existing.account_id != account_id:
        raise SimError(e.DUPLICATE_REQUEST, "orderly_key is registered to another account")
    record = ApiKey(
        orderly_key=key,
        account_id=account_id,
        public_key_hex=public_key_bytes(key).hex(),
        scope=scope,
        expiration=now + KEY_LIFETIME_MS,
    )
    engine.state.keys[key] = record
    engine.touch(record)
    return record


# ----- leverage --------------------------------------------------------------------------


def _parse_leverage(value: object) -> int:
    if value is None:
        raise SimError(e.INVALID_PARAM, "leverage is required")
    leverage = parse_int(value, "leverage")
    if not 1 <= leverage <= MAX_LEVERAGE:
        raise SimError(e.INVALID_PARAM, f"leverage must be between 1 and {MAX_LEVERAGE}")
    return leverage


def _parse_mode(value: object, field: str = "margin_mode") -> str:
    if value is None:
        return CROSS
    if not isinstance(value, str) or value.upper() not in MARGIN_MODES:
        raise SimError(e.INVALID_PARAM, f"{field} must be CROSS or ISOLATED")
    return value.upper()


def _has_isolated_orders(engine: Engine, account_id: str, symbol: str) -> bool:
    return any(
        o.symbol == symbol and o.margin_mode == ISOLATED
        for o in engine.account_open_orders(account_id)
    )


def _check_cross_margin(engine: Engine, account: Account, new: dict[str, int]) -> None:
    """Refuse (-1101) cross leverages that the account's positions could not carry."""
    positions = engine.account_positions(account.account_id)
    for position in positions:
        if position.margin_mode == CROSS and position.symbol in new and position.qty != 0:
            spec = engine.specs[position.symbol]
            notional = abs(position.qty) * engine.mark(position.symbol)
            if notional > max_notional_for_leverage(spec, new[position.symbol]):
                raise SimError(
                    e.RISK_TOO_HIGH,
                    f"{position.symbol} position notional exceeds the maximum at leverage "
                    f"{new[position.symbol]}",
                )
    orders = engine.account_open_orders(account.account_id)
    marks = engine.state.market.marks
    current = engine.cross_leverages(account)
    before = cross_summary(account.holding, positions, orders, marks, engine.specs, current)
    after = cross_summary(
        account.holding, positions, orders, marks, engine.specs, {**current, **new}
    )
    grows = after.initial_margin_with_orders > before.initial_margin_with_orders
    if grows and after.total_collateral < after.initial_margin_with_orders:
        raise SimError(e.RISK_TOO_HIGH, "insufficient margin for this leverage")


def set_leverage(
    engine: Engine, account: Account, body: dict[str, Any], now: int
) -> dict[str, Any]:
    """POST /v1/client/leverages (and the legacy singular route)."""
    leverage = _parse_leverage(body.get("leverage"))
    mode = _parse_mode(body.get("margin_mode"))
    symbol = body.get("symbol")
    if symbol is not None:
        spec = engine.spec(symbol)
        if leverage > spec.max_leverage:
            raise SimError(
                e.INVALID_PARAM, f"leverage for {spec.symbol} must be at most {spec.max_leverage}"
            )
        if mode == CROSS:
            _check_cross_margin(engine, account, {spec.symbol: leverage})
        else:
            if _has_isolated_orders(engine, account.account_id, spec.symbol):
                raise SimError(
                    e.RPC_REJECT,
                    "isolated leverage cannot change while isolated orders are pending",
                )
            position = engine.position(account.account_id, spec.symbol, ISOLATED)
            if position is not None and position.qty != 0:
                notional = abs(position.qty) * engine.mark(spec.symbol)
                if position.margin < notional * imr(spec, notional, leverage):
                    raise SimError(
                        e.RISK_TOO_HIGH, "isolated position margin is too small for this leverage"
                    )
        account.leverages[leverage_key(spec.symbol, mode)] = leverage
        account.updated_time = now
        engine.touch(account)
        return {"symbol": spec.symbol, "margin_mode": mode, "leverage": leverage}
    new = {s: min(leverage, spec.max_leverage) for s, spec in engine.specs.items()}
    if mode == CROSS:
        # atomic: every cross symbol moves or none does (§4.1)
        _check_cross_margin(engine, account, new)
        account.max_leverage = leverage
    else:
        new = {
            s: lev
            for s, lev in new.items()
            if not _has_isolated_orders(engine, account.account_id, s)
            and not _holds(engine, account.account_id, s, ISOLATED)
        }
    for s, lev in new.items():
        account.leverages[leverage_key(s, mode)] = lev
    account.updated_time = now
    engine.touch(account)
    return {"margin_mode": mode, "leverage": leverage}


def _holds(engine: Engine, account_id: str, symbol: str, mode: str) -> bool:
    position = engine.position(account_id, symbol, mode)
    return position is not None and position.qty != 0


def set_default_mode(engine: Engine, account: Account, body: dict[str, Any], now: int) -> None:
    """POST /v1/client/margin_mode: refused while the current mode has a position or order."""
    spec = engine.spec(body.get("symbol"))
    if body.get("default_margin_mode") is None:
        raise SimError(e.INVALID_PARAM, "default_margin_mode is required")
    wanted = _parse_mode(body.get("default_margin_mode"), "default_margin_mode")
    current = engine.default_mode(account, spec.symbol)
    if wanted == current:
        return
    busy = _holds(engine, account.account_id, spec.symbol, current) or any(
        o.symbol == spec.symbol and o.margin_mode == current
        for o in engine.account_open_orders(account.account_id)
    )
    if busy:
        raise SimError(
            e.RPC_REJECT,
            f"cannot switch {spec.symbol} from {current}: open position or pending orders",
        )
    account.default_modes[spec.symbol] = wanted
    account.updated_time = now
    engine.touch(account)


# ----- isolated position margin ------------------------------------------------------------


def position_margin_limits(
    engine: Engine, account: Account, symbol: str
) -> tuple[Decimal, Decimal]:
    """(max_add, max_reduce) of the isolated position on `symbol` (§4.4)."""
    position = engine.position(account.account_id, symbol, ISOLATED)
    if position is None or position.qty == 0:
        raise SimError(e.RESOURCE_NOT_FOUND, f"no isolated position on {symbol}")
    summary = cross_summary(
        account.holding,
        engine.account_positions(account.account_id),
        engine.account_open_orders(account.account_id),
        engine.state.market.marks,
        engine.specs,
        engine.cross_leverages(account),
    )
    spec = engine.specs[symbol]
    leverage = engine.leverage(account, symbol, ISOLATED)
    return (
        available_for_isolated(account.holding, summary),
        max_reduce(position, engine.mark(symbol), spec, leverage),
    )


def adjust_position_margin(
    engine: Engine, account: Account, body: dict[str, Any], now: int
) -> None:
    """POST /v1/position_margin: ADD up to max_add, REDUCE up to max_reduce."""
    spec = engine.spec(body.get("symbol"))
    if body.get("amount") is None:
        raise SimError(e.INVALID_PARAM, "amount is required")
    amount = parse_decimal(body["amount"], "amount", positive=True)
    kind = body.get("type")
    if not isinstance(kind, str) or kind.upper() not in ("ADD", "REDUCE"):
        raise SimError(e.INVALID_PARAM, "type must be ADD or REDUCE")
    max_add, max_reduce_ = position_margin_limits(engine, account, spec.symbol)
    position = engine.position(account.account_id, spec.symbol, ISOLATED)
    assert position is not None
    if kind.upper() == "ADD":
        if amount > max_add:
            raise SimError(e.RISK_TOO_HIGH, f"amount exceeds the maximum addable margin {max_add}")
        account.holding -= amount
        position.margin += amount
    else:
        if amount > max_reduce_:
            raise SimError(
                e.RISK_TOO_HIGH, f"amount exceeds the maximum reducible margin {max_reduce_}"
            )
        account.holding += amount
        position.margin -= amount
    position.updated_time = now
    position.seq = engine.next_seq()
    engine.touch(position)
    engine.touch(account)
