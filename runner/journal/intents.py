"""Intents: each write to the exchange, recorded durably before it is sent, and its outcome.

An intent left without outcome (a crash after the write) or with outcome "unknown" (the answer
was lost) is unresolved until a later run looks it up on the exchange and resolves it. The
margin budget is summed from these intents, because the exchange does not report how much
margin a playbook added. This module must never decide what happened on the exchange: it
stores what the engine tells it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from runner.journal import db
from runner.journal.base import JournalBase, choice
from runner.journal.errors import JournalError
from runner.journal.records import INTENT_STATUSES, RESOLVED_STATUSES, IntentRecord

_INTENT_COLUMNS = """
    i.intent_id, i.run_id, r.account_id, r.playbook, i.recorded_at, i.action_type, i.symbol,
    i.margin_mode, i.client_order_id, i.payload, i.status, i.detail, i.outcome_at,
    i.resolution, i.resolved_at, i.resolved_by_run
"""


class IntentsMixin(JournalBase):
    """Intents and outcomes, their resolution, and the margin budget they add up to."""

    def record_intent(
        self,
        run_id: int,
        *,
        action_type: str,
        symbol: str,
        margin_mode: str,
        client_order_id: str | None,
        payload: Mapping[str, Any],
    ) -> int:
        """Record, durably, a write about to be sent. Call BEFORE sending it."""
        payload_text = db.to_json(payload)
        now = self.now_ms()
        fields = (
            ("action_type", action_type),
            ("symbol", symbol),
            ("client_order_id", client_order_id),
            ("payload", payload_text),
        )
        with self._write(*fields) as conn:
            # INSERT ... SELECT: refuses, in the same statement, an unknown or finished run.
            cursor = conn.execute(
                "INSERT INTO intents (run_id, recorded_at, recorded_at_ms, action_type, symbol, "
                "margin_mode, client_order_id, payload) "
                "SELECT run_id, ?, ?, ?, ?, ?, ?, ? FROM runs "
                "WHERE run_id = ? AND finished_at IS NULL",
                (
                    db.iso_utc(now),
                    now,
                    str(action_type),
                    str(symbol),
                    str(margin_mode),
                    client_order_id,
                    payload_text,
                    run_id,
                ),
            )
            if cursor.rowcount == 0:
                raise JournalError(
                    f"cannot record an intent for run {run_id}: no such run in progress"
                )
            return int(cursor.lastrowid or 0)

    def record_outcome(
        self, intent_id: int, *, status: str, detail: Mapping[str, Any] | None = None
    ) -> None:
        """Record what the exchange answered. An 'unknown' outcome may be replaced later."""
        status = choice("status", status, INTENT_STATUSES)
        detail_text = None if detail is None else db.to_json(detail)
        with self._write(("detail", detail_text)) as conn:
            cursor = conn.execute(
                "UPDATE intents SET status = ?, detail = ?, outcome_at = ? "
                "WHERE intent_id = ? AND (status IS NULL OR status = 'unknown')",
                (status, detail_text, db.iso_utc(self.now_ms()), intent_id),
            )
            if cursor.rowcount == 0:
                self._explain_missing_update(conn, intent_id, "record an outcome for")

    def unresolved_intents(
        self, account_id: str, *, exclude_run_id: int | None = None
    ) -> list[IntentRecord]:
        """Intents of this account whose result is not known: no outcome, or 'unknown'.

        Those of earlier runs are writes that may or may not have reached the exchange; look
        each up (by client_order_id, or by re-reading the account) and `resolve_intent` it.
        Pass the current run as `exclude_run_id` to leave its in-flight intents out.
        """
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_INTENT_COLUMNS} FROM intents i JOIN runs r USING (run_id) "  # noqa: S608
                "WHERE r.account_id = ? AND (i.status IS NULL OR i.status = 'unknown') "
                "AND i.run_id IS NOT ? ORDER BY i.intent_id",
                (account_id, exclude_run_id),
            ).fetchall()
        return [_intent_record(row) for row in rows]

    def resolve_intent(
        self,
        intent_id: int,
        status: str,
        detail: Mapping[str, Any] | None = None,
        *,
        resolved_by_run: int | None = None,
    ) -> None:
        """Settle an unresolved intent as done, failed or skipped after looking it up.

        What was found goes into `resolution`; the original outcome detail (if any) is kept.
        """
        status = choice("status", status, RESOLVED_STATUSES)
        resolution_text = db.to_json(detail if detail is not None else {})
        with self._write(("resolution", resolution_text)) as conn:
            cursor = conn.execute(
                "UPDATE intents SET status = ?, resolution = ?, resolved_at = ?, "
                "resolved_by_run = ? "
                "WHERE intent_id = ? AND (status IS NULL OR status = 'unknown')",
                (
                    status,
                    resolution_text,
                    db.iso_utc(self.now_ms()),
                    resolved_by_run,
                    intent_id,
                ),
            )
            if cursor.rowcount == 0:
                self._explain_missing_update(conn, intent_id, "resolve")

    def intents(self, run_id: int) -> list[IntentRecord]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_INTENT_COLUMNS} FROM intents i JOIN runs r USING (run_id) "  # noqa: S608
                "WHERE i.run_id = ? ORDER BY i.intent_id",
                (run_id,),
            ).fetchall()
        return [_intent_record(row) for row in rows]

    @staticmethod
    def _explain_missing_update(conn: sqlite3.Connection, intent_id: int, verb: str) -> None:
        row = conn.execute(
            "SELECT status FROM intents WHERE intent_id = ?", (intent_id,)
        ).fetchone()
        if row is None:
            raise JournalError(f"cannot {verb} intent {intent_id}: it does not exist")
        raise JournalError(f"cannot {verb} intent {intent_id}: it is already {row[0]}")

    # --- margin budget ---------------------------------------------------------------------

    def margin_added_since(self, account_id: str, playbook: str, since_ms: int) -> Decimal:
        """Margin this playbook ADDed to the account's isolated positions since `since_ms`.

        Counts adjust_margin intents of type ADD recorded in the window that are done, and,
        to err on the safe side of a risk budget, those whose result is not known yet (no
        outcome, or 'unknown'): they may have reached the exchange. Failed and skipped ones
        do not count. The payload is the plan action's JSON: `adjustment` (ADD or REDUCE)
        and `amount`.
        """
        with self._read() as conn:
            rows = conn.execute(
                "SELECT i.intent_id, json_extract(i.payload, '$.amount') "
                "FROM intents i JOIN runs r USING (run_id) "
                "WHERE r.account_id = ? AND r.playbook = ? AND i.action_type = 'adjust_margin' "
                "AND json_extract(i.payload, '$.adjustment') = 'ADD' AND i.recorded_at_ms >= ? "
                "AND (i.status IS NULL OR i.status IN ('done', 'unknown'))",
                (account_id, playbook, int(since_ms)),
            ).fetchall()
        total = Decimal(0)
        for intent_id, amount in rows:
            try:
                total += Decimal(str(amount))
            except InvalidOperation as exc:
                raise JournalError(
                    f"intent {intent_id} is an ADD of margin without a readable amount: {amount!r}"
                ) from exc
        return total


def _intent_record(row: tuple[Any, ...]) -> IntentRecord:
    return IntentRecord(
        intent_id=row[0],
        run_id=row[1],
        account_id=row[2],
        playbook=row[3],
        recorded_at=row[4],
        action_type=row[5],
        symbol=row[6],
        margin_mode=row[7],
        client_order_id=row[8],
        payload=db.from_json(row[9]),
        status=row[10],
        detail=db.from_json(row[11]),
        outcome_at=row[12],
        resolution=db.from_json(row[13]),
        resolved_at=row[14],
        resolved_by_run=row[15],
    )
