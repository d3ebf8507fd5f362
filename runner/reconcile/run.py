"""One reconcile, end to end: observe, plan, and (on apply) execute, re-plan and verify.

This is the loop `runner plan`, `runner apply`, `runner status`, `runner simulate` and the
scheduler share. It owns the order of things that keep money safe:

1. take the account's lock (apply only), so two reconciles never write at once;
2. settle intents an earlier run left without an outcome (a crash between a write and its
   journal entry): each placed id is looked up on the exchange, never guessed;
3. observe and plan from what the exchange says now;
4. refuse the whole plan on a guard breach (exit 3), before any write;
5. execute in waves, then re-observe and re-plan, a bounded number of rounds, and verify.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import EXIT_BLOCKED, EXIT_CHANGES_PENDING, EXIT_ERROR, EXIT_OK
from runner.halt import apply_halt_marker
from runner.journal import AccountLock, Journal
from runner.journal.git import git_info
from runner.orderly.client import OrderlyClient
from runner.orderly.errors import NotFound, OrderlyError
from runner.playbook.ids import client_order_id
from runner.playbook.model import Playbook
from runner.reconcile.actions import Plan
from runner.reconcile.execute import ActionOutcome, Executor, Outcome
from runner.reconcile.observe import RulesCache, observe
from runner.reconcile.plan import build_plan
from runner.reconcile.state import AccountState

DAY_MS = 24 * 3600 * 1000
DEFAULT_MAX_ROUNDS = 3

Confirm = Callable[[Plan], bool | Awaitable[bool]]
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Exchange:
    """An open connection to one account on one exchange (real or simulated)."""

    client: OrderlyClient
    account_id: str
    network: str
    simulated: bool
    description: str
    base_url: str


@dataclass(slots=True)
class RunResult:
    """What a reconcile did; the command line turns it into output and an exit code."""

    mode: str
    plan: Plan
    state: AccountState
    outcome: str
    run_id: int | None = None
    final_plan: Plan | None = None
    outcomes: list[ActionOutcome] = field(default_factory=list)
    rounds: int = 0
    messages: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {
            "in_sync": EXIT_OK,
            "applied": EXIT_OK,
            "changes_pending": EXIT_CHANGES_PENDING,
            "blocked": EXIT_BLOCKED,
        }.get(self.outcome, EXIT_ERROR)  # declined, refused, partial, failed: not applied

    def executed(self) -> dict[str, dict[str, int]]:
        """Writes carried out, by action type and then by outcome (done, failed, ...)."""
        counts: dict[str, dict[str, int]] = {}
        for o in self.outcomes:
            by_status = counts.setdefault(o.action.type.value, {})
            by_status[o.status.value] = by_status.get(o.status.value, 0) + 1
        return counts

    def summary(self) -> dict[str, Any]:
        counts = self.executed()
        return {
            "planned": self.plan.count_by_type(),
            "executed": counts,
            "rounds": self.rounds,
            "remaining": len(self.final_plan.actions) if self.final_plan else None,
            "guard_violations": list(self.plan.guard_violations),
        }


def declared_ids(playbook: Playbook) -> list[str]:
    return [
        client_order_id(playbook.name, spec.symbol, spec.margin_mode, order)
        for spec in playbook.symbols
        for order in spec.orders
    ]


class Reconciler:
    """Runs reconciles of playbooks against one exchange connection."""

    def __init__(
        self,
        exchange: Exchange,
        journal: Journal,
        *,
        state_dir: Path,
        progress: Progress | None = None,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
    ) -> None:
        self.exchange = exchange
        self.journal = journal
        self.state_dir = state_dir
        self.progress = progress or (lambda _message: None)
        self.max_rounds = max_rounds
        host = exchange.base_url.split("://", 1)[-1].replace("/", "_").replace(":", "_")
        self.rules_cache = RulesCache(state_dir / "cache" / f"rules-{host}.json")

    async def observe(self, playbook: Playbook) -> AccountState:
        since = int(time.time() * 1000) - DAY_MS
        return await observe(
            self.exchange.client,
            account_id=self.exchange.account_id,
            cache=self.rules_cache,
            declared_ids=declared_ids(playbook),
            symbols=playbook.symbol_names,
            fills=self.journal,
            margin_added_today=self.journal.margin_added_since(
                self.exchange.account_id, playbook.name, since
            ),
        )

    async def plan(self, playbook: Playbook) -> tuple[Plan, AccountState]:
        state = await self.observe(playbook)
        return build_plan(playbook, state), state

    def _start(self, playbook: Playbook, mode: str) -> int:
        commit, dirty = git_info(Path(playbook.source)) if playbook.source else (None, None)
        return self.journal.start_run(
            playbook=playbook.name,
            playbook_path=playbook.source,
            account_id=self.exchange.account_id,
            network=self.exchange.network,
            mode=mode,
            git_commit=commit,
            git_dirty=dirty,
        )

    async def run(
        self,
        playbook: Playbook,
        *,
        apply: bool,
        mode: str | None = None,
        confirm: Confirm | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        expected: Callable[[Plan], str | None] | None = None,
        lock_wait_s: float = 0.0,
    ) -> RunResult:
        """Plan, and on `apply` carry the plan out. `expected` may refuse a fresh plan (for a
        saved plan whose account or marks moved); it returns the reason or None. A halt marker
        (`runner halt`) in the state directory makes the playbook `halt: true` for this run."""
        playbook = apply_halt_marker(playbook, self.state_dir)
        mode = mode or ("apply" if apply else "plan")
        run_id = self._start(playbook, mode)
        lock = None
        try:
            if apply:
                lock = AccountLock(self.journal, self.exchange.account_id, wait_s=lock_wait_s)
                # Waiting must not block the event loop (the scheduler runs other playbooks on
                # it); a single attempt is one short SQLite transaction.
                took_over = await lock.acquire_async() if lock_wait_s > 0 else lock.acquire()
                if took_over:
                    self.progress(took_over)
                for abandoned in self.journal.close_abandoned_runs(
                    self.exchange.account_id, current_run_id=run_id
                ):
                    self.progress(f"run #{abandoned} never finished: marked as failed")
                await self._settle_unknown_intents(run_id)
            plan, state = await self.plan(playbook)
            if on_plan is not None:
                on_plan(plan)
            result = RunResult(mode=mode, plan=plan, state=state, outcome="", run_id=run_id)
            if plan.blocked_by_guard:
                result.outcome = "blocked"
            elif not plan.has_changes:
                result.outcome = "in_sync"
            elif not apply:
                result.outcome = "changes_pending"
            else:
                refusal = expected(plan) if expected is not None else None
                if refusal is not None:
                    result.outcome = "refused"
                    result.messages.append(refusal)
                elif confirm is not None and not await _maybe_await(confirm(plan)):
                    result.outcome = "declined"
                else:
                    assert lock is not None
                    await _holding(lock, self._apply(playbook, plan, state, run_id, result))
            self.journal.finish_run(
                run_id,
                outcome=result.outcome,
                summary=result.summary(),
                error="; ".join(result.messages) or None,
            )
            return result
        except BaseException as exc:
            self.journal.finish_run(
                run_id, outcome="failed", summary={}, error=str(exc) or type(exc).__name__
            )
            raise
        finally:
            if lock is not None:
                lock.release()

    async def _apply(
        self,
        playbook: Playbook,
        plan: Plan,
        state: AccountState,
        run_id: int,
        result: RunResult,
    ) -> None:
        executor = Executor(self.exchange.client, self.journal, run_id, progress=self.progress)
        failed_before: set[tuple[Any, ...]] = set()
        current, current_state = plan, state
        while True:
            result.rounds += 1
            self.progress(f"round {result.rounds}: {len(current.actions)} action(s)")
            outcomes = await executor.execute(current, current_state)
            result.outcomes.extend(outcomes)
            current, current_state = await self.plan(playbook)
            failed_now = {o.action.identity() for o in outcomes if o.status != Outcome.DONE}
            if (
                not current.has_changes
                or current.blocked_by_guard
                or result.rounds >= self.max_rounds
                # the same writes failed twice in a row: re-trying will not help
                or (failed_now and failed_now <= failed_before)
            ):
                break
            failed_before = failed_now
        result.final_plan = current
        if current.blocked_by_guard:
            result.outcome = "blocked"
        elif not current.has_changes:
            result.outcome = "applied"
        else:
            done = any(o.status == Outcome.DONE for o in result.outcomes)
            result.outcome = "partial" if done else "failed"
            failures = [o for o in result.outcomes if o.status != Outcome.DONE]
            result.messages.extend(
                f"{o.action.type.value} {o.action.symbol}: {o.detail}" for o in failures[-5:]
            )

    async def _settle_unknown_intents(self, run_id: int) -> None:
        """Intents an earlier run left open: look each placed id up on the exchange.

        Only placements can be looked up by id; every other kind is settled by re-reading the
        account, which the plan does anyway (the exchange is the truth)."""
        for intent in self.journal.unresolved_intents(
            self.exchange.account_id, exclude_run_id=run_id
        ):
            coid = intent.client_order_id
            if intent.action_type == "place_order" and coid:
                try:
                    order = await self.exchange.client.get_order_by_client_id(coid)
                except NotFound:
                    self.journal.resolve_intent(
                        intent.intent_id, "failed", {"found": False}, resolved_by_run=run_id
                    )
                    continue
                except OrderlyError:
                    continue  # still unknown: try again next run
                self.journal.resolve_intent(
                    intent.intent_id,
                    "done",
                    {"found": True, "order_id": order.order_id, "status": order.status.value},
                    resolved_by_run=run_id,
                )
            elif (
                intent.action_type == "adjust_margin" and intent.payload.get("adjustment") == "ADD"
            ):
                # A margin ADD cannot be looked up: count it as done, so that the daily budget
                # (max_margin_added_per_day) errs on the safe side.
                self.journal.resolve_intent(
                    intent.intent_id,
                    "done",
                    {"assumed": True, "why": "an ADD cannot be looked up; counted as spent"},
                    resolved_by_run=run_id,
                )
            else:
                self.journal.resolve_intent(
                    intent.intent_id,
                    "skipped",
                    {"settled_by": "re-observation of the account"},
                    resolved_by_run=run_id,
                )
            self.progress(f"settled intent #{intent.intent_id} left open by an earlier run")


async def _holding(lock: AccountLock, work: Awaitable[None]) -> None:
    """Run `work` while a heartbeat keeps the lock from expiring (a long apply can wait
    minutes on Orderly's leverage budget). If the lock is lost, the work is stopped: another
    process may be writing now."""

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(lock.ttl_s / 3)
            lock.refresh()  # raises LockLost when another process took the lock over

    beat = asyncio.create_task(heartbeat())
    task = asyncio.ensure_future(work)
    try:
        done, _pending = await asyncio.wait({beat, task}, return_when=asyncio.FIRST_COMPLETED)
        if beat in done:
            task.cancel()
            beat.result()  # re-raises LockLost
        await task
    finally:
        beat.cancel()
        task.cancel()


async def _maybe_await(value: bool | Awaitable[bool]) -> bool:
    if inspect.isawaitable(value):
        return bool(await value)
    return bool(value)
