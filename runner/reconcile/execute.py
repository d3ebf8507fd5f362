"""Execute: carry a plan out in waves, journal every intent, and never place an order twice.

Waves run in the order of `actions.WAVES`; inside a wave, writes go out concurrently within
the client's rate budgets. Every write is journaled as an intent *before* it is sent and its
outcome after, so a crash between the two leaves a record the next run can resolve. A failed
or unknown write is never retried here: the caller re-observes and re-plans, and the plan
(built from what the exchange says now, with placed ids looked up by client_order_id) decides
again. A failure in one slot stops the later waves of that slot only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from runner.enums import MarginMode
from runner.orderly.client import OrderlyClient
from runner.orderly.errors import OrderlyError, OutcomeUnknown
from runner.orderly.orders import OrderRequest
from runner.reconcile.actions import WAVES, Action, ActionType, Plan
from runner.reconcile.state import AccountState, Slot

BATCH_LIMIT = 10  # orderly-api.md §4.2: at most 10 orders per batch create or batch cancel


class Outcome(StrEnum):
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    action: Action
    status: Outcome
    detail: str = ""


class IntentLog(Protocol):
    """What execution needs from the journal."""

    def record_intent(
        self,
        run_id: int,
        *,
        action_type: str,
        symbol: str,
        margin_mode: str,
        client_order_id: str | None,
        payload: dict[str, Any],
    ) -> int: ...

    def record_outcome(
        self, intent_id: int, *, status: str, detail: dict[str, Any] | None
    ) -> None: ...


Progress = Callable[[str], None]


@dataclass(slots=True)
class _Round:
    failed_slots: set[Slot] = field(default_factory=set)
    outcomes: list[ActionOutcome] = field(default_factory=list)


class Executor:
    """Runs the actions of one plan against one account."""

    def __init__(
        self,
        client: OrderlyClient,
        journal: IntentLog,
        run_id: int,
        *,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.journal = journal
        self.run_id = run_id
        self.progress = progress or (lambda _message: None)

    async def execute(self, plan: Plan, state: AccountState) -> list[ActionOutcome]:
        work = _Round()
        for wave in WAVES:
            actions = [a for a in plan.actions if a.type == wave]
            if not actions:
                continue
            runnable = [a for a in actions if a.slot_key not in work.failed_slots]
            for skipped in actions:
                if skipped.slot_key in work.failed_slots:
                    work.outcomes.append(
                        ActionOutcome(
                            skipped,
                            Outcome.SKIPPED,
                            "an earlier step of this symbol failed; re-planning",
                        )
                    )
            if not runnable:
                continue
            self.progress(f"{wave.value.replace('_', ' ')}: {len(runnable)} action(s)")
            if wave == ActionType.CANCEL_ORDER:
                await self._cancel(runnable, work)
            elif wave == ActionType.SET_MARGIN_MODE:
                await self._each(runnable, work, self._set_margin_mode)
            elif wave == ActionType.SET_LEVERAGE:
                await self._leverage(runnable, state, work)
            elif wave == ActionType.ADJUST_MARGIN:
                await self._each(runnable, work, self._adjust_margin)
            else:
                await self._place(runnable, work)
        return work.outcomes

    # -- journal -----------------------------------------------------------------------------

    def _intent(self, action: Action) -> int:
        return self.journal.record_intent(
            self.run_id,
            action_type=action.type.value,
            symbol=action.symbol,
            margin_mode=action.margin_mode.value,
            client_order_id=action.client_order_id,
            payload=action.to_json(),
        )

    def _finish(
        self, work: _Round, intent_id: int, action: Action, status: Outcome, detail: str = ""
    ) -> None:
        self.journal.record_outcome(
            intent_id, status=status.value, detail={"message": detail} if detail else None
        )
        work.outcomes.append(ActionOutcome(action, status, detail))
        if status != Outcome.DONE:
            work.failed_slots.add(action.slot_key)
            self.progress(f"  {status.value}: {action.type.value} {action.symbol}: {detail}")

    def _fail(self, work: _Round, intent_id: int, action: Action, exc: OrderlyError) -> None:
        status = Outcome.UNKNOWN if isinstance(exc, OutcomeUnknown) else Outcome.FAILED
        self._finish(work, intent_id, action, status, str(exc))

    # -- waves -------------------------------------------------------------------------------

    async def _each(
        self,
        actions: Sequence[Action],
        work: _Round,
        write: Callable[[Action], Any],
    ) -> None:
        async def one(action: Action) -> None:
            intent = self._intent(action)
            try:
                await write(action)
            except OrderlyError as exc:
                self._fail(work, intent, action, exc)
            else:
                self._finish(work, intent, action, Outcome.DONE)

        await asyncio.gather(*(one(a) for a in actions))

    async def _set_margin_mode(self, action: Action) -> None:
        await self.client.set_margin_mode(action.symbol, action.margin_mode)

    async def _adjust_margin(self, action: Action) -> None:
        assert action.adjustment is not None and action.amount is not None
        await self.client.adjust_position_margin(action.symbol, action.amount, action.adjustment)

    async def _cancel(self, actions: Sequence[Action], work: _Round) -> None:
        """Our orders always carry a client_order_id: cancel by it, ten per request."""
        chunks = [actions[i : i + BATCH_LIMIT] for i in range(0, len(actions), BATCH_LIMIT)]

        async def chunk(batch: Sequence[Action]) -> None:
            intents = [self._intent(a) for a in batch]
            try:
                if len(batch) == 1:
                    await self.client.cancel_order_by_client_id(
                        batch[0].client_order_id or "", batch[0].symbol
                    )
                else:
                    await self.client.cancel_orders_by_client_id(
                        [a.client_order_id or "" for a in batch]
                    )
            except OrderlyError as exc:
                for intent, action in zip(intents, batch, strict=True):
                    self._fail(work, intent, action, exc)
                return
            for intent, action in zip(intents, batch, strict=True):
                self._finish(work, intent, action, Outcome.DONE)

        await asyncio.gather(*(chunk(c) for c in chunks))

    async def _leverage(self, actions: Sequence[Action], state: AccountState, work: _Round) -> None:
        singles: list[Action] = []
        groups: dict[tuple[MarginMode, int], list[Action]] = {}
        for action in actions:
            assert action.leverage_after is not None
            groups.setdefault((action.margin_mode, action.leverage_after), []).append(action)
        for (mode, leverage), group in groups.items():
            if len(group) > 1 and batch_leverage_is_exact(state, mode, leverage, group):
                intents = [self._intent(a) for a in group]
                self.progress(f"  batch leverage {leverage}x for {len(group)} {mode.value} symbols")
                try:
                    await self.client.set_leverage_all(leverage, mode)
                except OrderlyError as exc:
                    for intent, action in zip(intents, group, strict=True):
                        self._fail(work, intent, action, exc)
                    continue
                for intent, action in zip(intents, group, strict=True):
                    self._finish(work, intent, action, Outcome.DONE)
            else:
                singles.extend(group)

        async def single(action: Action) -> None:
            assert action.leverage_after is not None
            await self.client.set_leverage(action.leverage_after, action.symbol, action.margin_mode)

        await self._each(singles, work, single)

    async def _place(self, actions: Sequence[Action], work: _Round) -> None:
        """Place entries: batches of ten where Orderly allows (not reduce-only), else one by one.

        A single create resolves an unknown outcome itself (client_order_id lookup); a batch
        whose outcome is unknown is left to the re-plan, which looks every id up before
        placing anything again."""
        batchable = [a for a in actions if not a.reduce_only]
        singles = [a for a in actions if a.reduce_only]
        if len(batchable) == 1:
            singles += batchable
            batchable = []
        chunks = [batchable[i : i + BATCH_LIMIT] for i in range(0, len(batchable), BATCH_LIMIT)]

        async def chunk(batch: Sequence[Action]) -> None:
            intents = [self._intent(a) for a in batch]
            try:
                rows = await self.client.create_orders([order_request(a) for a in batch])
            except OrderlyError as exc:
                for intent, action in zip(intents, batch, strict=True):
                    self._fail(work, intent, action, exc)
                return
            for intent, action, row in zip(intents, batch, rows, strict=True):
                if row.ack is not None:
                    self._finish(work, intent, action, Outcome.DONE)
                else:
                    self._finish(work, intent, action, Outcome.FAILED, row.error or "rejected")

        async def single(action: Action) -> None:
            await self.client.create_order(order_request(action))

        await asyncio.gather(*(chunk(c) for c in chunks), self._each(singles, work, single))


def order_request(action: Action) -> OrderRequest:
    assert action.order_type is not None and action.side is not None
    return OrderRequest(
        symbol=action.symbol,
        order_type=action.order_type,
        side=action.side,
        order_quantity=action.quantity,
        order_price=action.price,
        client_order_id=action.client_order_id,
        margin_mode=action.margin_mode,
        reduce_only=action.reduce_only,
        visible_quantity=action.visible_quantity,
    )


def batch_leverage_is_exact(
    state: AccountState, mode: MarginMode, leverage: int, group: Sequence[Action]
) -> bool:
    """True when Orderly's all-symbols leverage update gives exactly the result we want.

    The batch form sets every symbol of the mode to min(leverage, symbol max) (orderly-api.md
    §4.1). It is only used when that changes nothing outside the playbook: every other symbol
    already sits at that value, and each symbol of the group lands exactly on its target."""
    wanted = {a.symbol for a in group}
    for symbol, rules in state.rules.items():
        result = min(leverage, rules.max_leverage)
        if symbol in wanted:
            if result != leverage:
                return False
        elif state.leverages.get((symbol, mode)) != result:
            return False
    if mode == MarginMode.ISOLATED:
        # The isolated batch silently skips symbols with an isolated position or order.
        busy = {o.symbol for o in state.open_orders if o.margin_mode == MarginMode.ISOLATED}
        busy |= {s for (s, m), p in state.positions.items() if m == mode and p.qty != 0}
        if wanted & busy:
            return False
    return True
