"""Facts the exchange told us that are worth not asking again: which declared entries filled.

A declared entry that filled is done for good (unless its spec says `repeat`); remembering the
fill spares re-reading the order history on every run. This module must never record anything
the engine did not learn from the exchange.
"""

from __future__ import annotations

from runner.journal import db
from runner.journal.base import JournalBase


class FactsMixin(JournalBase):
    """Fills of our declared entries, as the exchange reported them."""

    def mark_order_filled(
        self, account_id: str, client_order_id: str, *, filled_at_ms: int
    ) -> None:
        """Remember that a declared entry filled, so it is never placed again."""
        fields = (("account_id", account_id), ("client_order_id", client_order_id))
        with self._write(*fields) as conn:
            conn.execute(
                "INSERT INTO filled_orders (account_id, client_order_id, filled_at_ms, "
                "recorded_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (account_id, client_order_id) "
                "DO UPDATE SET filled_at_ms = min(filled_at_ms, excluded.filled_at_ms)",
                (account_id, client_order_id, int(filled_at_ms), db.iso_utc(self.now_ms())),
            )

    def filled_order_ids(self, account_id: str) -> set[str]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT client_order_id FROM filled_orders WHERE account_id = ?", (account_id,)
            )
            return {row[0] for row in rows}
