"""From a playbook file to the typed model: read, validate, build — or report every problem.

`load_playbook(path)` is what every command calls. The model is built only from a document
that passed the schema and the rules, so the conversions below can trust the shapes. This
module must never talk to the exchange: a playbook is checked without credentials or network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from runner.enums import MarginMode, OrderType, Side
from runner.playbook.errors import FieldPath, PlaybookError, Problem
from runner.playbook.load import Document, parse_document, read_document
from runner.playbook.model import (
    Band,
    Guards,
    LiqDistance,
    Location,
    MarginRuleSpec,
    OrderSpec,
    Playbook,
    Schedule,
    SymbolSpec,
)
from runner.playbook.rules import as_decimal, interval_seconds, symbol_blocks
from runner.playbook.validate import validate_document

PLAYBOOK_SUFFIXES = (".yaml", ".yml")


def load_playbook(path: Path, env: Mapping[str, str] | None = None) -> Playbook:
    """Read, validate and build one playbook; raises PlaybookError listing all its problems."""
    return build_playbook(read_document(path, env, strict=False))


def parse_playbook(
    text: str, file: str = "<playbook>", env: Mapping[str, str] | None = None
) -> Playbook:
    """Like `load_playbook`, from text already in memory (`file` is used in messages)."""
    return build_playbook(parse_document(text, file, env, strict=False))


def build_playbook(document: Document) -> Playbook:
    problems = validate_document(document)
    if problems:
        raise PlaybookError(problems)
    return _Builder(document).playbook()


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; a directory gives its *.yaml and *.yml files, sorted, without recursing.

    Subfolders (such as simulator scenarios) are never read as playbooks. A directory without
    playbooks is returned as itself, so the caller reports it instead of silently passing.
    """
    result: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.suffix in PLAYBOOK_SUFFIXES and p.is_file()
            )
            result.extend(found or [path])
        else:
            result.append(path)
    return result


def load_playbooks(
    paths: Iterable[Path], env: Mapping[str, str] | None = None
) -> list[tuple[Path, Playbook | PlaybookError]]:
    """Load every playbook under `paths` (see `expand_paths`); each result or its error."""
    results: list[tuple[Path, Playbook | PlaybookError]] = []
    for path in expand_paths(paths):
        if path.is_dir():
            problem = Problem(str(path), 0, 0, "", "no *.yaml or *.yml playbooks in this directory")
            results.append((path, PlaybookError([problem])))
            continue
        try:
            results.append((path, load_playbook(path, env)))
        except PlaybookError as exc:
            results.append((path, exc))
    return results


def _decimal(value: Any) -> Decimal:
    number = as_decimal(value)
    assert number is not None, "validated documents hold numbers here"
    return number


def _optional_decimal(value: Any) -> Decimal | None:
    return None if value is None else _decimal(value)


class _Builder:
    def __init__(self, document: Document) -> None:
        self.doc = document

    def location(self, path: FieldPath, *, at_key: bool = False) -> Location:
        line, col = self.doc.position(path, at_key=at_key)
        return Location(self.doc.file, line, col)

    def playbook(self) -> Playbook:
        data = self.doc.data
        symbols: list[SymbolSpec] = []
        for symbol, value in data["symbols"].items():
            for suffix, block in symbol_blocks(value):
                symbols.append(self.symbol(symbol, ("symbols", symbol, *suffix), block))
        return Playbook(
            name=data["name"],
            symbols=tuple(symbols),
            version=int(data["version"]),
            network=data.get("network", "sim"),
            account=data.get("account", "main"),
            schedule=self.schedule(data.get("schedule")),
            guards=self.guards(data.get("guards") or {}),
            halt=bool(data.get("halt", False)),
            source=self.doc.file,
        )

    @staticmethod
    def schedule(value: Any) -> Schedule | None:
        if value is None:
            return None
        if isinstance(value, str):
            return Schedule(cron=" ".join(value.split()))
        return Schedule(every_seconds=interval_seconds(value["every"]))

    @staticmethod
    def guards(value: dict[str, Any]) -> Guards:
        return Guards(
            max_leverage=value.get("max_leverage"),
            max_order_notional=_optional_decimal(value.get("max_order_notional")),
            max_position_notional=_optional_decimal(value.get("max_position_notional")),
            max_open_orders=value.get("max_open_orders"),
            max_isolated_margin=_optional_decimal(value.get("max_isolated_margin")),
            max_margin_added_per_day=_optional_decimal(value.get("max_margin_added_per_day")),
            min_free_collateral=_optional_decimal(value.get("min_free_collateral")),
        )

    def symbol(self, symbol: str, path: FieldPath, block: dict[str, Any]) -> SymbolSpec:
        orders = tuple(
            self.order((*path, "orders", index), order)
            for index, order in enumerate(block.get("orders") or [])
        )
        margin = block.get("margin")
        # one block: point at the symbol's key; a block in a list: at the block itself
        location = self.location(path, at_key=not isinstance(path[-1], int))
        return SymbolSpec(
            symbol=symbol,
            margin_mode=MarginMode(block["margin_mode"]),
            leverage=int(block["leverage"]),
            orders=orders,
            margin=self.margin(margin) if margin is not None else None,
            location=location,
        )

    def order(self, path: FieldPath, order: dict[str, Any]) -> OrderSpec:
        return OrderSpec(
            key=order["key"],
            side=Side(order["side"]),
            type=OrderType(order["type"]),
            quantity=_decimal(order["quantity"]),
            price=_optional_decimal(order.get("price")),
            reduce_only=bool(order.get("reduce_only", False)),
            repeat=bool(order.get("repeat", False)),
            visible_quantity=_optional_decimal(order.get("visible_quantity")),
            location=self.location(path),
        )

    @staticmethod
    def margin(value: dict[str, Any]) -> MarginRuleSpec:
        liq = value.get("liq_distance")
        return MarginRuleSpec(
            liq_distance=LiqDistance(
                min_pct=_decimal(liq["min_pct"]),
                target_pct=_decimal(liq["target_pct"]),
                max_pct=_decimal(liq["max_pct"]),
            )
            if liq is not None
            else None,
            leverage_band=_band(value.get("leverage_band")),
            margin_bounds=_band(value.get("margin_bounds")),
            max_margin=_optional_decimal(value.get("max_margin")),
        )


def _band(value: Any) -> Band | None:
    if value is None:
        return None
    return Band(min=_optional_decimal(value.get("min")), max=_optional_decimal(value.get("max")))
